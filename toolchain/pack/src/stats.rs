//! Sizes worth reporting for a container: its `.text`, the whole container,
//! and the container heatshrink-compressed as uploads are (window 2^8,
//! lookahead 2^4... see [`HEATSHRINK_WINDOW`], [`HEATSHRINK_LOOKAHEAD`]).

use alloc::vec;
use alloc::vec::Vec;

/// Heatshrink window size, log2 (uploads use window 8).
pub const HEATSHRINK_WINDOW: u8 = 8;
/// Heatshrink lookahead size, log2 (uploads use lookahead 4).
pub const HEATSHRINK_LOOKAHEAD: u8 = 4;

/// The sizes of one packed script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizes {
    /// Bytes of `.text` (the bytecode).
    pub text: usize,
    /// Bytes of the whole container.
    pub container: usize,
    /// Bytes of the container, heatshrink-compressed (window 8, lookahead 4).
    pub compressed: usize,
}

/// Heatshrink-compresses `bytes` with the upload parameters.
///
/// # Errors
/// Never in practice: the output buffer is sized for the worst case
/// (9 bits per input byte); an encoder error is passed on.
pub fn compress(bytes: &[u8]) -> Result<Vec<u8>, heatshrink::EncodeError> {
    let cfg = config();
    // Worst case: every byte a literal (1 flag bit + 8 bits), plus slack.
    let mut out = vec![0u8; bytes.len() + bytes.len() / 8 + 16];
    let n = heatshrink::encode(bytes, &mut out, &cfg)?.len();
    out.truncate(n);
    Ok(out)
}

/// Decompresses what [`compress`] produced, into at most `max` bytes.
///
/// # Errors
/// A malformed stream or output larger than `max`.
pub fn decompress(bytes: &[u8], max: usize) -> Result<Vec<u8>, heatshrink::DecodeError> {
    let mut out = vec![0u8; max];
    let n = heatshrink::decode(bytes, &mut out, &config())?.len();
    out.truncate(n);
    Ok(out)
}

fn config() -> heatshrink::Config {
    // Both values are in heatshrink's accepted range (1..=16).
    heatshrink::Config::new(HEATSHRINK_WINDOW, HEATSHRINK_LOOKAHEAD).unwrap_or_default()
}

/// Measures a container whose `.text` is `text_len` bytes.
///
/// # Errors
/// As [`compress`].
pub fn measure(container: &[u8], text_len: usize) -> Result<Sizes, heatshrink::EncodeError> {
    Ok(Sizes { text: text_len, container: container.len(), compressed: compress(container)?.len() })
}
