//! Key files, as `alkyl keygen` writes them: `NAME.pub` holds the 32-byte
//! Ed25519 public key and `NAME.key` the 32-byte secret seed, each as 64
//! hex digits and a newline.

use std::path::Path;

use anyhow::{bail, Context, Result};

/// Reads a 32-byte key written as hex.
///
/// # Errors
/// Unreadable file or not 64 hex digits.
pub fn read_key(path: &Path) -> Result<[u8; 32]> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse_key(text.trim()).with_context(|| format!("{}: expected 64 hex digits", path.display()))
}

/// Parses 64 hex digits.
///
/// # Errors
/// Anything else.
pub fn parse_key(text: &str) -> Result<[u8; 32]> {
    let bytes = hex::decode(text)?;
    match <[u8; 32]>::try_from(bytes) {
        Ok(k) => Ok(k),
        Err(b) => bail!("{} bytes instead of 32", b.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        let hex64 = "00".repeat(31) + "ff";
        assert_eq!(parse_key(&hex64).unwrap()[31], 0xff);
        assert!(parse_key("abc").is_err());
        assert!(parse_key(&"00".repeat(33)).is_err());
        assert!(parse_key(&"zz".repeat(32)).is_err());
    }
}
