//! Block-wise uploads (RFC 7959 Block1): reassembly with bounded buffers.
//!
//! A transfer belongs to its sender: it is keyed by the resource (a URI
//! path) and the peer (an id the host derives from the sender's endpoint
//! and, when sent, its Request-Tag, RFC 9175): another peer's blocks never
//! touch it. At most `max_uploads` at once, at most `per_peer` of one peer
//! (a peer's new transfer replaces its oldest); when every slot is held, a
//! transfer idle for a quarter of the timeout is evicted to make room;
//! at most `max_len` bytes each. Blocks must arrive in order: block 0
//! (re)starts a transfer, every later block must start where the data
//! received so far ends (sizes may shrink mid-transfer, as RFC 7959
//! allows). A retransmitted last block is acknowledged again without being
//! appended. Anything else abandons the transfer (the client starts over
//! from block 0). A transfer with no block for `timeout_ms` expires.
//!
//! # Invariants
//! Memory is bounded by `max_uploads × max_len`; nothing here panics.

use alloc::string::String;
use alloc::vec::Vec;

use alkyl_protocol::envelope::{field, MAGIC};
use alkyl_protocol::KeyId;
use alkyl_vm::describe::{Describe, Sink};

use crate::auth::Authority;
use crate::coap::Block;

/// Whether a block-wise upload whose block 0 is `first` may hold a slot:
/// the block holds the envelope header and it names a key the device
/// trusts (or no key, in development mode). The signature is checked once
/// the envelope is complete; this keeps peers without a trusted key from
/// holding the slots signed uploads need.
///
/// # Errors
/// [`UploadError::Header`], [`UploadError::UntrustedKey`].
pub fn check_first_block(authority: &Authority, first: &[u8]) -> Result<(), UploadError> {
    let header = first.get(..field::HEADER_LEN).ok_or(UploadError::Header)?;
    if header[field::MAGIC] != MAGIC {
        return Err(UploadError::Header);
    }
    let mut id = [0u8; 8];
    id.copy_from_slice(&header[field::KEY_ID]);
    let id = KeyId(id);
    if (id == KeyId::UNSIGNED && authority.allows_unsigned()) || authority.key_ids().any(|k| k == id) {
        Ok(())
    } else {
        Err(UploadError::UntrustedKey(id))
    }
}

/// What a block did.
#[derive(Debug, PartialEq, Eq)]
pub enum Progress {
    /// More blocks are expected (answer 2.31 Continue).
    Continue,
    /// The transfer is complete: the reassembled body.
    Complete(Vec<u8>),
}

/// Why a block was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UploadError {
    /// A block after the first without a transfer in progress (never
    /// started, expired, or abandoned).
    NoTransfer { num: u32 },
    /// A block that does not continue the transfer (out of order or a
    /// gap); the transfer is abandoned.
    OutOfOrder { expected_offset: usize, offset: usize },
    /// A block that is not full although more follow, is larger than its
    /// size, or uses the reserved size exponent 7.
    BadBlock,
    /// The body would exceed the limit (Size1 tells the client).
    TooLarge { max: usize },
    /// Too many transfers in progress.
    Busy,
    /// Block 0 of a block-wise upload is shorter than the envelope header
    /// (32 bytes), or not an envelope header.
    Header,
    /// Block 0's envelope header names a key the device does not trust: no
    /// slot is granted to it.
    UntrustedKey(KeyId),
}

impl Describe for UploadError {
    fn describe(&self, out: &mut dyn Sink) {
        match self {
            UploadError::NoTransfer { num } => {
                ("block ", num, ": no transfer in progress (start at block 0)").describe(out)
            }
            UploadError::OutOfOrder { expected_offset, offset } => {
                ("block at byte ", offset, ", expected byte ", expected_offset, ": transfer abandoned").describe(out)
            }
            UploadError::BadBlock => out.text("bad block: size or more flag inconsistent"),
            UploadError::TooLarge { max } => ("upload exceeds ", max, " bytes").describe(out),
            UploadError::Busy => out.text("too many uploads in progress"),
            UploadError::Header => out.text("block 0 must hold the 32-byte envelope header (use larger blocks)"),
            UploadError::UntrustedKey(e) => ("upload signed by unknown key ", e, ": no slot granted").describe(out),
        }
    }
}

alkyl_vm::error_by_describe!(UploadError);

#[derive(Debug)]
struct Transfer {
    resource: String,
    peer: u64,
    body: Vec<u8>,
    /// Offset and length of the last block appended.
    last: (usize, usize),
    last_ms: u64,
}

/// Transfers in progress.
#[derive(Debug)]
pub struct Uploads {
    transfers: Vec<Transfer>,
    max_uploads: usize,
    per_peer: usize,
    max_len: usize,
    timeout_ms: u64,
}

impl Uploads {
    /// No transfers; these limits (no limit per peer).
    pub fn new(max_uploads: usize, max_len: usize, timeout_ms: u64) -> Uploads {
        Uploads { transfers: Vec::new(), max_uploads, per_peer: usize::MAX, max_len, timeout_ms }
    }

    /// At most `per_peer` transfers of one peer (at least one).
    pub fn per_peer(mut self, per_peer: usize) -> Uploads {
        self.per_peer = per_peer.max(1);
        self
    }

    /// Transfers in progress.
    pub fn len(&self) -> usize {
        self.transfers.len()
    }

    /// Whether no transfer is in progress.
    pub fn is_empty(&self) -> bool {
        self.transfers.is_empty()
    }

    /// Drops transfers idle since before `now - timeout`.
    pub fn expire(&mut self, now_ms: u64) {
        let timeout = self.timeout_ms;
        self.transfers.retain(|t| now_ms.saturating_sub(t.last_ms) < timeout);
    }

    /// When the next transfer expires.
    pub fn next_expiry(&self) -> Option<u64> {
        self.transfers.iter().map(|t| t.last_ms.saturating_add(self.timeout_ms)).min()
    }

    /// Handles one block of `resource` from `peer`; `size1` is the client's
    /// total-size indication, if sent.
    ///
    /// # Errors
    /// [`UploadError`].
    #[allow(clippy::too_many_arguments)]
    pub fn block(
        &mut self,
        resource: &str,
        peer: u64,
        block: Block,
        payload: &[u8],
        size1: Option<u32>,
        now_ms: u64,
    ) -> Result<Progress, UploadError> {
        self.expire(now_ms);
        let size = block.size();
        if block.szx > 6 || payload.len() > size || (block.more && payload.len() != size) {
            self.abandon(resource, peer);
            return Err(UploadError::BadBlock);
        }
        if size1.is_some_and(|s| s as usize > self.max_len) {
            self.abandon(resource, peer);
            return Err(UploadError::TooLarge { max: self.max_len });
        }
        let offset = block.offset().ok_or(UploadError::TooLarge { max: self.max_len })?;
        if block.num == 0 {
            self.abandon(resource, peer);
            if payload.len() > self.max_len {
                return Err(UploadError::TooLarge { max: self.max_len });
            }
            if !block.more {
                return Ok(Progress::Complete(payload.into()));
            }
            self.make_room(peer, now_ms)?;
            self.transfers.push(Transfer {
                resource: resource.into(),
                peer,
                body: payload.into(),
                last: (0, payload.len()),
                last_ms: now_ms,
            });
            return Ok(Progress::Continue);
        }
        let Some(i) = self.transfers.iter().position(|t| t.resource == resource && t.peer == peer) else {
            return Err(UploadError::NoTransfer { num: block.num });
        };
        let t = &mut self.transfers[i];
        if (offset, payload.len()) == t.last && block.more {
            // A retransmission of the block just appended.
            t.last_ms = now_ms;
            return Ok(Progress::Continue);
        }
        if offset != t.body.len() {
            let expected_offset = t.body.len();
            self.transfers.swap_remove(i);
            return Err(UploadError::OutOfOrder { expected_offset, offset });
        }
        if offset.checked_add(payload.len()).map_or(true, |end| end > self.max_len) {
            self.transfers.swap_remove(i);
            return Err(UploadError::TooLarge { max: self.max_len });
        }
        t.body.extend_from_slice(payload);
        t.last = (offset, payload.len());
        t.last_ms = now_ms;
        if block.more {
            Ok(Progress::Continue)
        } else {
            Ok(Progress::Complete(self.transfers.swap_remove(i).body))
        }
    }

    fn abandon(&mut self, resource: &str, peer: u64) {
        self.transfers.retain(|t| !(t.resource == resource && t.peer == peer));
    }

    /// Frees a slot for a new transfer of `peer`: its own oldest when it
    /// holds its share, else a stale one (idle for a quarter of the
    /// timeout) when all are held.
    fn make_room(&mut self, peer: u64, now_ms: u64) -> Result<(), UploadError> {
        let oldest = |ts: &[Transfer], mine: bool| {
            ts.iter()
                .enumerate()
                .filter(|(_, t)| !mine || t.peer == peer)
                .min_by_key(|(_, t)| t.last_ms)
                .map(|(i, t)| (i, t.last_ms))
        };
        if self.transfers.iter().filter(|t| t.peer == peer).count() >= self.per_peer {
            if let Some((i, _)) = oldest(&self.transfers, true) {
                self.transfers.swap_remove(i);
            }
        }
        if self.transfers.len() >= self.max_uploads {
            match oldest(&self.transfers, false) {
                Some((i, last)) if now_ms.saturating_sub(last) >= self.timeout_ms / 4 => {
                    self.transfers.swap_remove(i);
                }
                _ => return Err(UploadError::Busy),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(num: u32, more: bool) -> Block {
        Block { num, more, szx: 0 } // 16-byte blocks
    }

    fn body(n: usize) -> Vec<u8> {
        (0..n).map(|i| i as u8).collect()
    }

    /// Sends `data` in 16-byte blocks; returns the final progress.
    fn send(u: &mut Uploads, res: &str, data: &[u8], now: u64) -> Result<Progress, UploadError> {
        let chunks: Vec<&[u8]> = data.chunks(16).collect();
        let mut last = Err(UploadError::BadBlock);
        for (i, c) in chunks.iter().enumerate() {
            last = u.block(res, 0, b(i as u32, i + 1 < chunks.len()), c, None, now);
        }
        last
    }

    #[test]
    fn in_order_transfer() {
        let mut u = Uploads::new(2, 1000, 100);
        let data = body(40);
        assert_eq!(u.block("r", 0, b(0, true), &data[..16], Some(40), 0), Ok(Progress::Continue));
        assert_eq!(u.len(), 1);
        assert_eq!(u.block("r", 0, b(1, true), &data[16..32], None, 1), Ok(Progress::Continue));
        assert_eq!(u.block("r", 0, b(2, false), &data[32..], None, 2), Ok(Progress::Complete(data.clone())));
        assert!(u.is_empty());
        // A single-block body completes at once, without a transfer.
        assert_eq!(u.block("r", 0, b(0, false), b"xy", None, 3), Ok(Progress::Complete(b"xy".to_vec())));
        assert!(u.is_empty());
    }

    #[test]
    fn duplicates_are_acknowledged_not_appended() {
        let mut u = Uploads::new(2, 1000, 100);
        let data = body(48);
        u.block("r", 0, b(0, true), &data[..16], None, 0).unwrap();
        u.block("r", 0, b(1, true), &data[16..32], None, 0).unwrap();
        assert_eq!(u.block("r", 0, b(1, true), &data[16..32], None, 0), Ok(Progress::Continue));
        assert_eq!(u.block("r", 0, b(2, false), &data[32..], None, 0), Ok(Progress::Complete(data)));
    }

    #[test]
    fn block_size_may_shrink() {
        let mut u = Uploads::new(2, 1000, 100);
        let data = body(80);
        u.block("r", 0, Block { num: 0, more: true, szx: 1 }, &data[..32], None, 0).unwrap();
        // Continue with 16-byte blocks from byte 32: block number 2.
        u.block("r", 0, Block { num: 2, more: true, szx: 0 }, &data[32..48], None, 0).unwrap();
        u.block("r", 0, Block { num: 3, more: true, szx: 0 }, &data[48..64], None, 0).unwrap();
        assert_eq!(
            u.block("r", 0, Block { num: 4, more: false, szx: 0 }, &data[64..], None, 0),
            Ok(Progress::Complete(data))
        );
    }

    #[test]
    fn out_of_order_abandons() {
        let mut u = Uploads::new(2, 1000, 100);
        let data = body(64);
        u.block("r", 0, b(0, true), &data[..16], None, 0).unwrap();
        assert_eq!(
            u.block("r", 0, b(2, true), &data[32..48], None, 0),
            Err(UploadError::OutOfOrder { expected_offset: 16, offset: 32 })
        );
        assert!(u.is_empty());
        assert_eq!(u.block("r", 0, b(1, true), &data[16..32], None, 0), Err(UploadError::NoTransfer { num: 1 }));
        // A restart from block 0 works.
        assert_eq!(send(&mut u, "r", &data, 0), Ok(Progress::Complete(data)));
    }

    #[test]
    fn no_transfer_without_block_zero() {
        let mut u = Uploads::new(2, 1000, 100);
        assert_eq!(u.block("r", 0, b(3, false), b"x", None, 0), Err(UploadError::NoTransfer { num: 3 }));
    }

    #[test]
    fn bad_blocks() {
        let mut u = Uploads::new(2, 1000, 100);
        // A short block with more following.
        assert_eq!(u.block("r", 0, b(0, true), b"short", None, 0), Err(UploadError::BadBlock));
        // Larger than its size.
        assert_eq!(u.block("r", 0, b(0, false), &body(17), None, 0), Err(UploadError::BadBlock));
        // BERT.
        assert_eq!(u.block("r", 0, Block { num: 0, more: false, szx: 7 }, b"", None, 0), Err(UploadError::BadBlock));
        // A bad block abandons a transfer in progress.
        u.block("r", 0, b(0, true), &body(16), None, 0).unwrap();
        assert_eq!(u.block("r", 0, b(1, true), b"x", None, 0), Err(UploadError::BadBlock));
        assert!(u.is_empty());
    }

    #[test]
    fn oversize() {
        let mut u = Uploads::new(2, 40, 100);
        assert_eq!(u.block("r", 0, b(0, true), &body(16), Some(41), 0), Err(UploadError::TooLarge { max: 40 }));
        assert!(u.is_empty());
        assert_eq!(send(&mut u, "r", &body(48), 0), Err(UploadError::TooLarge { max: 40 }));
        assert!(u.is_empty());
        assert_eq!(send(&mut u, "r", &body(40), 0), Ok(Progress::Complete(body(40))));
        // A huge block number does not overflow.
        assert!(u.block("r", 0, Block { num: u32::MAX, more: true, szx: 6 }, &body(1024), None, 0).is_err());
    }

    #[test]
    fn bounded_transfers_and_expiry() {
        let mut u = Uploads::new(2, 1000, 100);
        u.block("a", 0, b(0, true), &body(16), None, 0).unwrap();
        u.block("b", 0, b(0, true), &body(16), None, 10).unwrap();
        assert_eq!(u.block("c", 0, b(0, true), &body(16), None, 20), Err(UploadError::Busy));
        assert_eq!(u.next_expiry(), Some(100));
        // "a" expires at 100; then "c" fits.
        assert_eq!(u.block("c", 0, b(0, true), &body(16), None, 100), Ok(Progress::Continue));
        assert_eq!(u.block("a", 0, b(1, true), &body(16), None, 100), Err(UploadError::NoTransfer { num: 1 }));
        u.expire(1000);
        assert!(u.is_empty());
        assert_eq!(u.next_expiry(), None);
    }

    #[test]
    fn transfers_belong_to_their_peer() {
        let mut u = Uploads::new(2, 1000, 100).per_peer(1);
        let data = body(48);
        u.block("r", 1, b(0, true), &data[..16], None, 0).unwrap();
        // Another peer's block 1 finds no transfer of its own and changes nothing.
        assert_eq!(u.block("r", 2, b(1, true), &body(16), None, 0), Err(UploadError::NoTransfer { num: 1 }));
        // Its block 0 starts its own transfer of the same resource.
        u.block("r", 2, b(0, true), &body(16), None, 0).unwrap();
        assert_eq!(u.len(), 2);
        // A third peer finds no slot until one is stale (a quarter of the timeout).
        assert_eq!(u.block("s", 3, b(0, true), &body(16), None, 10), Err(UploadError::Busy));
        u.block("r", 1, b(1, true), &data[16..32], None, 20).unwrap();
        assert_eq!(u.block("s", 3, b(0, true), &body(16), None, 25), Ok(Progress::Continue));
        // Peer 2's (idle since 0) went; peer 1's goes on.
        assert_eq!(u.block("r", 1, b(2, false), &data[32..], None, 30), Ok(Progress::Complete(data)));
        // A peer's second transfer replaces its first.
        u.block("t", 3, b(0, true), &body(16), None, 30).unwrap();
        assert_eq!(u.len(), 1);
    }

    #[test]
    fn restart_replaces_a_transfer() {
        let mut u = Uploads::new(1, 1000, 100);
        u.block("r", 0, b(0, true), &body(16), None, 0).unwrap();
        u.block("r", 0, b(1, true), &body(16), None, 0).unwrap();
        let data: Vec<u8> = body(20).iter().map(|x| x ^ 0xff).collect();
        assert_eq!(send(&mut u, "r", &data, 0), Ok(Progress::Complete(data)));
    }
}
