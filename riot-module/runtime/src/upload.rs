//! Block-wise uploads (RFC 7959 Block1): reassembly with bounded buffers.
//!
//! One transfer per resource (a URI path); at most `max_uploads` at once;
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
use core::fmt;

use crate::coap::Block;

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
}

impl fmt::Display for UploadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            UploadError::NoTransfer { num } => write!(f, "block {num}: no transfer in progress (start at block 0)"),
            UploadError::OutOfOrder { expected_offset, offset } => {
                write!(f, "block at byte {offset}, expected byte {expected_offset}: transfer abandoned")
            }
            UploadError::BadBlock => f.write_str("bad block: size or more flag inconsistent"),
            UploadError::TooLarge { max } => write!(f, "upload exceeds {max} bytes"),
            UploadError::Busy => f.write_str("too many uploads in progress"),
        }
    }
}

impl core::error::Error for UploadError {}

#[derive(Debug)]
struct Transfer {
    resource: String,
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
    max_len: usize,
    timeout_ms: u64,
}

impl Uploads {
    /// No transfers; these limits.
    pub fn new(max_uploads: usize, max_len: usize, timeout_ms: u64) -> Uploads {
        Uploads { transfers: Vec::new(), max_uploads, max_len, timeout_ms }
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

    /// Handles one block of `resource`; `size1` is the client's total-size
    /// indication, if sent.
    ///
    /// # Errors
    /// [`UploadError`].
    pub fn block(
        &mut self,
        resource: &str,
        block: Block,
        payload: &[u8],
        size1: Option<u32>,
        now_ms: u64,
    ) -> Result<Progress, UploadError> {
        self.expire(now_ms);
        let size = block.size();
        if block.szx > 6 || payload.len() > size || (block.more && payload.len() != size) {
            self.abandon(resource);
            return Err(UploadError::BadBlock);
        }
        if size1.is_some_and(|s| s as usize > self.max_len) {
            self.abandon(resource);
            return Err(UploadError::TooLarge { max: self.max_len });
        }
        let offset = block.offset().ok_or(UploadError::TooLarge { max: self.max_len })?;
        if block.num == 0 {
            self.abandon(resource);
            if payload.len() > self.max_len {
                return Err(UploadError::TooLarge { max: self.max_len });
            }
            if !block.more {
                return Ok(Progress::Complete(payload.into()));
            }
            if self.transfers.len() >= self.max_uploads {
                return Err(UploadError::Busy);
            }
            self.transfers.push(Transfer {
                resource: resource.into(),
                body: payload.into(),
                last: (0, payload.len()),
                last_ms: now_ms,
            });
            return Ok(Progress::Continue);
        }
        let Some(i) = self.transfers.iter().position(|t| t.resource == resource) else {
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

    fn abandon(&mut self, resource: &str) {
        self.transfers.retain(|t| t.resource != resource);
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
            last = u.block(res, b(i as u32, i + 1 < chunks.len()), c, None, now);
        }
        last
    }

    #[test]
    fn in_order_transfer() {
        let mut u = Uploads::new(2, 1000, 100);
        let data = body(40);
        assert_eq!(u.block("r", b(0, true), &data[..16], Some(40), 0), Ok(Progress::Continue));
        assert_eq!(u.len(), 1);
        assert_eq!(u.block("r", b(1, true), &data[16..32], None, 1), Ok(Progress::Continue));
        assert_eq!(u.block("r", b(2, false), &data[32..], None, 2), Ok(Progress::Complete(data.clone())));
        assert!(u.is_empty());
        // A single-block body completes at once, without a transfer.
        assert_eq!(u.block("r", b(0, false), b"xy", None, 3), Ok(Progress::Complete(b"xy".to_vec())));
        assert!(u.is_empty());
    }

    #[test]
    fn duplicates_are_acknowledged_not_appended() {
        let mut u = Uploads::new(2, 1000, 100);
        let data = body(48);
        u.block("r", b(0, true), &data[..16], None, 0).unwrap();
        u.block("r", b(1, true), &data[16..32], None, 0).unwrap();
        assert_eq!(u.block("r", b(1, true), &data[16..32], None, 0), Ok(Progress::Continue));
        assert_eq!(u.block("r", b(2, false), &data[32..], None, 0), Ok(Progress::Complete(data)));
    }

    #[test]
    fn block_size_may_shrink() {
        let mut u = Uploads::new(2, 1000, 100);
        let data = body(80);
        u.block("r", Block { num: 0, more: true, szx: 1 }, &data[..32], None, 0).unwrap();
        // Continue with 16-byte blocks from byte 32: block number 2.
        u.block("r", Block { num: 2, more: true, szx: 0 }, &data[32..48], None, 0).unwrap();
        u.block("r", Block { num: 3, more: true, szx: 0 }, &data[48..64], None, 0).unwrap();
        assert_eq!(
            u.block("r", Block { num: 4, more: false, szx: 0 }, &data[64..], None, 0),
            Ok(Progress::Complete(data))
        );
    }

    #[test]
    fn out_of_order_abandons() {
        let mut u = Uploads::new(2, 1000, 100);
        let data = body(64);
        u.block("r", b(0, true), &data[..16], None, 0).unwrap();
        assert_eq!(
            u.block("r", b(2, true), &data[32..48], None, 0),
            Err(UploadError::OutOfOrder { expected_offset: 16, offset: 32 })
        );
        assert!(u.is_empty());
        assert_eq!(u.block("r", b(1, true), &data[16..32], None, 0), Err(UploadError::NoTransfer { num: 1 }));
        // A restart from block 0 works.
        assert_eq!(send(&mut u, "r", &data, 0), Ok(Progress::Complete(data)));
    }

    #[test]
    fn no_transfer_without_block_zero() {
        let mut u = Uploads::new(2, 1000, 100);
        assert_eq!(u.block("r", b(3, false), b"x", None, 0), Err(UploadError::NoTransfer { num: 3 }));
    }

    #[test]
    fn bad_blocks() {
        let mut u = Uploads::new(2, 1000, 100);
        // A short block with more following.
        assert_eq!(u.block("r", b(0, true), b"short", None, 0), Err(UploadError::BadBlock));
        // Larger than its size.
        assert_eq!(u.block("r", b(0, false), &body(17), None, 0), Err(UploadError::BadBlock));
        // BERT.
        assert_eq!(u.block("r", Block { num: 0, more: false, szx: 7 }, b"", None, 0), Err(UploadError::BadBlock));
        // A bad block abandons a transfer in progress.
        u.block("r", b(0, true), &body(16), None, 0).unwrap();
        assert_eq!(u.block("r", b(1, true), b"x", None, 0), Err(UploadError::BadBlock));
        assert!(u.is_empty());
    }

    #[test]
    fn oversize() {
        let mut u = Uploads::new(2, 40, 100);
        assert_eq!(u.block("r", b(0, true), &body(16), Some(41), 0), Err(UploadError::TooLarge { max: 40 }));
        assert!(u.is_empty());
        assert_eq!(send(&mut u, "r", &body(48), 0), Err(UploadError::TooLarge { max: 40 }));
        assert!(u.is_empty());
        assert_eq!(send(&mut u, "r", &body(40), 0), Ok(Progress::Complete(body(40))));
        // A huge block number does not overflow.
        assert!(u.block("r", Block { num: u32::MAX, more: true, szx: 6 }, &body(1024), None, 0).is_err());
    }

    #[test]
    fn bounded_transfers_and_expiry() {
        let mut u = Uploads::new(2, 1000, 100);
        u.block("a", b(0, true), &body(16), None, 0).unwrap();
        u.block("b", b(0, true), &body(16), None, 10).unwrap();
        assert_eq!(u.block("c", b(0, true), &body(16), None, 20), Err(UploadError::Busy));
        assert_eq!(u.next_expiry(), Some(100));
        // "a" expires at 100; then "c" fits.
        assert_eq!(u.block("c", b(0, true), &body(16), None, 100), Ok(Progress::Continue));
        assert_eq!(u.block("a", b(1, true), &body(16), None, 100), Err(UploadError::NoTransfer { num: 1 }));
        u.expire(1000);
        assert!(u.is_empty());
        assert_eq!(u.next_expiry(), None);
    }

    #[test]
    fn restart_replaces_a_transfer() {
        let mut u = Uploads::new(1, 1000, 100);
        u.block("r", b(0, true), &body(16), None, 0).unwrap();
        u.block("r", b(1, true), &body(16), None, 0).unwrap();
        let data: Vec<u8> = body(20).iter().map(|x| x ^ 0xff).collect();
        assert_eq!(send(&mut u, "r", &data, 0), Ok(Progress::Complete(data)));
    }
}
