//! Hex text as used on the command line and by the conformance suite:
//! pairs of hex digits, optionally separated by whitespace, an optional
//! `0x` prefix.

use anyhow::{bail, Result};

/// Parses hex text into bytes.
///
/// # Errors
/// When a character is not a hex digit or the digit count is odd.
pub fn parse(text: &str) -> Result<Vec<u8>> {
    let text = text.trim();
    let text = text.strip_prefix("0x").unwrap_or(text);
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.len() % 2 != 0 {
        bail!("hex has an odd number of digits ({})", digits.len());
    }
    digits
        .chunks(2)
        .map(|pair| {
            let s = std::str::from_utf8(pair).unwrap_or("??");
            u8::from_str_radix(s, 16).map_err(|_| anyhow::anyhow!("invalid hex byte {s:?}"))
        })
        .collect()
}

/// Formats bytes as contiguous lowercase hex.
pub fn format(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_spaced_and_contiguous() {
        assert_eq!(super::parse("00  01 ff").unwrap(), vec![0, 1, 0xff]);
        assert_eq!(super::parse("0xdeadBEEF\n").unwrap(), vec![0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(super::parse("").unwrap(), Vec::<u8>::new());
        assert!(super::parse("abc").is_err());
        assert!(super::parse("zz").is_err());
    }
}
