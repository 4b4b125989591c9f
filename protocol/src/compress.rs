//! Heatshrink compression of upload payloads, with its parameters defined
//! here once: window 2^[`WINDOW`], lookahead 2^[`LOOKAHEAD`] (the tools
//! compress with them, a device inflates with them).
//!
//! The output size is declared in the (signed) envelope and bounded by the
//! device's quota *before* anything is decompressed; a stream that produces
//! more or fewer bytes than declared is rejected. Heatshrink streams carry
//! no checksum, so "produces exactly the declared size" is the stream check;
//! the container's own checks and the verifier follow.

use alkyl_vm::describe::{Describe, Sink};
#[cfg(feature = "alloc")]
use alloc::{vec, vec::Vec};

/// Heatshrink window size, log2.
pub const WINDOW: u8 = 8;
/// Heatshrink lookahead size, log2.
pub const LOOKAHEAD: u8 = 4;

/// Why a compressed payload was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InflateError {
    /// The declared size exceeds the limit (a decompression bomb, or just
    /// too large): nothing was decompressed.
    TooLarge { declared: u32, max: usize },
    /// The stream produces more bytes than declared.
    Overflow { declared: u32 },
    /// The stream produces fewer bytes than declared.
    Short { declared: u32, produced: usize },
}

impl Describe for InflateError {
    fn describe(&self, out: &mut dyn Sink) {
        match self {
            InflateError::TooLarge { declared, max } => {
                ("declared size ", declared, " exceeds the limit of ", max, " bytes").describe(out)
            }
            InflateError::Overflow { declared } => {
                ("compressed stream produces more than the declared ", declared, " bytes").describe(out)
            }
            InflateError::Short { declared, produced } => {
                ("compressed stream produces ", produced, " bytes, ", declared, " declared").describe(out)
            }
        }
    }
}

alkyl_vm::error_by_texts! {
    /// Why `compress` failed: the encoder ran out of output room, which the
    /// worst-case sizing rules out.
    pub struct CompressError => "heatshrink encoder out of room";
}

alkyl_vm::error_by_describe!(InflateError);

/// The heatshrink configuration of uploads.
pub fn config() -> heatshrink::Config {
    // Both values are in heatshrink's accepted range (4..=16 window, lookahead < window).
    heatshrink::Config::new(WINDOW, LOOKAHEAD).unwrap_or_default()
}

/// Decompresses `stream` into `out`; it must produce exactly `declared`
/// bytes, and `out` must hold one byte more (heatshrink reports "output
/// full" when the buffer is exactly consumed, and a stream that fills the
/// spare byte is too long). Returns the bytes written (`declared`).
///
/// # Errors
/// [`InflateError`]: `TooLarge` (before decoding) when `out` cannot hold
/// `declared + 1` bytes.
pub fn inflate_into(stream: &[u8], declared: u32, out: &mut [u8]) -> Result<usize, InflateError> {
    let want = declared as usize;
    let max = out.len().saturating_sub(1);
    if want > max {
        return Err(InflateError::TooLarge { declared, max });
    }
    let out = &mut out[..want + 1];
    let produced = match heatshrink::decode(stream, out, &config()) {
        Ok(o) => o.len(),
        Err(heatshrink::DecodeError::OutputFull) => return Err(InflateError::Overflow { declared }),
    };
    if produced > want {
        return Err(InflateError::Overflow { declared });
    }
    if produced < want {
        return Err(InflateError::Short { declared, produced });
    }
    Ok(want)
}

/// Decompresses `stream`, which must produce exactly `declared` bytes, at
/// most `max`.
///
/// # Errors
/// [`InflateError`]; the size is checked before any allocation.
#[cfg(feature = "alloc")]
pub fn inflate(stream: &[u8], declared: u32, max: usize) -> Result<Vec<u8>, InflateError> {
    if declared as usize > max {
        return Err(InflateError::TooLarge { declared, max });
    }
    let mut out = vec![0u8; declared as usize + 1];
    let n = inflate_into(stream, declared, &mut out)?;
    out.truncate(n);
    Ok(out)
}

/// Heatshrink-compresses `bytes` with the upload parameters.
///
/// # Errors
/// Never in practice: the output buffer is sized for the worst case
/// (9 bits per input byte).
#[cfg(feature = "alloc")]
pub fn compress(bytes: &[u8]) -> Result<Vec<u8>, CompressError> {
    // Worst case: every byte a literal (1 flag bit + 8 bits), plus slack.
    let mut out = vec![0u8; bytes.len() + bytes.len() / 8 + 16];
    let n = heatshrink::encode(bytes, &mut out, &config()).map_err(|_| CompressError)?.len();
    out.truncate(n);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn round_trip() {
        let data: Vec<u8> = (0..2000u32).map(|i| (i * 7 % 13) as u8).collect();
        let z = compress(&data).unwrap();
        assert!(z.len() < data.len());
        assert_eq!(inflate(&z, data.len() as u32, 4096).unwrap(), data);
        // Also for lengths around heatshrink's edge cases.
        for n in [0usize, 1, 2, 15, 16, 17, 255, 256, 257] {
            let d: Vec<u8> = (0..n).map(|i| (i % 3) as u8).collect();
            assert_eq!(inflate(&compress(&d).unwrap(), n as u32, 4096).unwrap(), d, "n={n}");
        }
    }

    #[test]
    fn bombs_are_refused_before_decompressing() {
        let zeros = compress(&vec![0u8; 100_000]).unwrap();
        assert_eq!(inflate(&zeros, 100_000, 16384), Err(InflateError::TooLarge { declared: 100_000, max: 16384 }));
        // Lying about the size does not help: decompression stops at the declared size.
        assert_eq!(inflate(&zeros, 1000, 16384), Err(InflateError::Overflow { declared: 1000 }));
        assert_eq!(
            inflate(&zeros, u32::MAX, 16384).unwrap_err(),
            InflateError::TooLarge { declared: u32::MAX, max: 16384 }
        );
    }

    #[test]
    fn wrong_sizes_are_refused() {
        let data = b"hello hello hello hello".to_vec();
        let z = compress(&data).unwrap();
        let n = data.len() as u32;
        assert_eq!(inflate(&z, n + 1, 4096), Err(InflateError::Short { declared: n + 1, produced: data.len() }));
        assert_eq!(inflate(&z, n - 1, 4096), Err(InflateError::Overflow { declared: n - 1 }));
        // Truncated streams produce less.
        assert!(matches!(inflate(&z[..z.len() / 2], n, 4096), Err(InflateError::Short { .. })));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut rng = alkyl_testkit::rng::XorShift32(0x1234_5678);
        for len in 0..300usize {
            let bytes = rng.bytes(len);
            for declared in [0u32, 1, len as u32, 4 * len as u32, 5000] {
                let _ = inflate(&bytes, declared, 4096);
            }
        }
    }

    #[test]
    fn inflate_into_a_caller_buffer() {
        let data = b"abcabcabcabcabcabcabc".to_vec();
        let z = compress(&data).unwrap();
        let mut out = [0u8; 64];
        assert_eq!(inflate_into(&z, data.len() as u32, &mut out), Ok(data.len()));
        assert_eq!(&out[..data.len()], &data[..]);
        // No room for the spare byte: refused before decoding.
        let mut exact = [0u8; 21];
        assert_eq!(inflate_into(&z, 21, &mut exact), Err(InflateError::TooLarge { declared: 21, max: 20 }));
    }

    #[test]
    fn noise_round_trips() {
        let noise: Vec<u8> = (0..1000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        assert_eq!(inflate(&compress(&noise).unwrap(), 1000, 2000).unwrap(), noise);
    }
}
