//! Sizes worth reporting for a container: its `.text`, the whole container,
//! and the container heatshrink-compressed as uploads are
//! (`alkyl_protocol::compress`, where the parameters are defined).

use alkyl_protocol::compress::{compress, CompressError};

/// The sizes of one packed script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizes {
    /// Bytes of `.text` (the bytecode).
    pub text: usize,
    /// Bytes of the whole container.
    pub container: usize,
    /// Bytes of the container, heatshrink-compressed as uploads are.
    pub compressed: usize,
}

/// Measures a container whose `.text` is `text_len` bytes.
///
/// # Errors
/// As [`compress`].
pub fn measure(container: &[u8], text_len: usize) -> Result<Sizes, CompressError> {
    Ok(Sizes { text: text_len, container: container.len(), compressed: compress(container)?.len() })
}
