//! PrefixVarint: the variable-length unsigned integers of the Alkyl IR
//! binary format (immediates, sizes, counts).
//!
//! The byte count is in the trailing bits of the first byte, as the AlkyVM
//! paper chose, so a decoder knows the length from one byte:
//!
//! | first byte (binary) | bytes | value bits |
//! |---|---|---|
//! | `xxxxxxx1` | 1 | 7 |
//! | `xxxxxx10` | 2 | 14 |
//! | `xxxxx100` | 3 | 21 |
//! | … | … | … |
//! | `10000000` | 8 | 56 |
//! | `00000000` | 9 | 64 (the 8 bytes after the first) |
//!
//! For `n` in 1..=8, the `n` bytes read as a little-endian integer `x` hold
//! `value = x >> n`; the tag is `1 << (n - 1)`. For `n = 9` the first byte
//! is 0 and the value is the little-endian `u64` of the next 8 bytes.
//!
//! **Canonical rule:** a value is encoded in the fewest bytes that hold it.
//! Decoders reject longer encodings ([`VarintError::NonCanonical`]), so every
//! value has exactly one encoding and a module has exactly one byte form.
//!
//! Examples: `0` → `01`, `1` → `03`, `127` → `ff`, `128` → `02 02`,
//! `300` → `b2 04`, `16384` → `04 00 02`, `u64::MAX` → `00 ff ff ff ff ff ff ff ff`.

use alloc::vec::Vec;

/// Longest encoding, in bytes.
pub const MAX_LEN: usize = 9;

/// Why a varint could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarintError {
    /// The input ends inside the varint.
    Truncated,
    /// The value has a shorter encoding.
    NonCanonical,
}

/// Number of bytes the canonical encoding of `value` takes.
pub const fn encoded_len(value: u64) -> usize {
    let bits = 64 - value.leading_zeros() as usize;
    if bits > 56 {
        9
    } else if bits == 0 {
        1
    } else {
        bits.div_ceil(7)
    }
}

/// Appends the canonical encoding of `value` to `out`.
pub fn encode(value: u64, out: &mut Vec<u8>) {
    let n = encoded_len(value);
    if n == 9 {
        out.push(0);
        out.extend_from_slice(&value.to_le_bytes());
    } else {
        let x = (value << n) | (1 << (n - 1));
        out.extend_from_slice(&x.to_le_bytes()[..n]);
    }
}

/// Decodes the varint at the start of `bytes`; returns the value and its
/// length in bytes.
///
/// # Errors
/// [`VarintError`] when `bytes` ends early or the encoding is not canonical.
pub fn decode(bytes: &[u8]) -> Result<(u64, usize), VarintError> {
    let first = *bytes.first().ok_or(VarintError::Truncated)?;
    let n = if first == 0 { 9 } else { first.trailing_zeros() as usize + 1 };
    let raw = bytes.get(..n).ok_or(VarintError::Truncated)?;
    let value = if n == 9 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&raw[1..]);
        u64::from_le_bytes(b)
    } else {
        let mut b = [0u8; 8];
        b[..n].copy_from_slice(raw);
        u64::from_le_bytes(b) >> n
    };
    if encoded_len(value) != n {
        return Err(VarintError::NonCanonical);
    }
    Ok((value, n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn enc(v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        encode(v, &mut out);
        out
    }

    #[test]
    fn documented_examples() {
        assert_eq!(enc(0), [0x01]);
        assert_eq!(enc(1), [0x03]);
        assert_eq!(enc(127), [0xff]);
        assert_eq!(enc(128), [0x02, 0x02]);
        assert_eq!(enc(300), [0xb2, 0x04]);
        assert_eq!(enc(16384), [0x04, 0x00, 0x02]);
        assert_eq!(enc(u64::MAX), vec![0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(enc((1 << 56) - 1), vec![0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    }

    #[test]
    fn round_trips_at_every_boundary() {
        for bits in 0..64u32 {
            for v in [1u64 << bits, (1u64 << bits) - 1, (1u64 << bits) + 1] {
                let e = enc(v);
                assert_eq!(e.len(), encoded_len(v));
                assert_eq!(decode(&e), Ok((v, e.len())));
            }
        }
    }

    #[test]
    fn rejects_long_and_truncated_forms() {
        // 5 in two bytes: (5 << 2) | 2 = 0x16.
        assert_eq!(decode(&[0x16, 0x00]), Err(VarintError::NonCanonical));
        assert_eq!(decode(&[0, 1, 0, 0, 0, 0, 0, 0, 0]), Err(VarintError::NonCanonical));
        assert_eq!(decode(&[]), Err(VarintError::Truncated));
        assert_eq!(decode(&[0x02]), Err(VarintError::Truncated));
        assert_eq!(decode(&[0x00, 1, 2]), Err(VarintError::Truncated));
    }
}
