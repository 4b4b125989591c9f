//! Formatting into a fixed buffer, for CoAP payloads without an allocator.

use core::fmt;

/// Up to `N` bytes of formatted text; what does not fit is cut off (at a
/// character boundary, so the content stays valid UTF-8).
pub struct TextBuf<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> TextBuf<N> {
    pub const fn new() -> Self {
        TextBuf { bytes: [0; N], len: 0 }
    }

    /// Formats `args` into a new buffer.
    pub fn format(args: fmt::Arguments<'_>) -> Self {
        let mut buf = Self::new();
        // A full buffer truncates rather than failing; nothing else can fail.
        let _ = fmt::write(&mut buf, args);
        buf
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl<const N: usize> fmt::Write for TextBuf<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = N - self.len;
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        self.bytes[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        if take < s.len() {
            Err(fmt::Error)
        } else {
            Ok(())
        }
    }
}
