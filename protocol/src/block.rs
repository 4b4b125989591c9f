//! The Block1/Block2 option value (RFC 7959 §2.2): block number, more
//! flag, size exponent.

/// A decoded Block1 or Block2 option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block {
    /// Block number.
    pub num: u32,
    /// More blocks follow.
    pub more: bool,
    /// Size exponent: the block holds `16 << szx` bytes (0..=6; 7 is BERT,
    /// which this runtime refuses).
    pub szx: u8,
}

/// Largest block number the 3-byte encoding allows.
pub const MAX_NUM: u32 = (1 << 20) - 1;

impl Block {
    /// Decodes an option value (0 to 3 bytes, big-endian).
    pub fn decode(value: &[u8]) -> Option<Block> {
        if value.len() > 3 {
            return None;
        }
        let v = value.iter().fold(0u32, |a, &b| (a << 8) | b as u32);
        Some(Block { num: v >> 4, more: v & 0x8 != 0, szx: (v & 0x7) as u8 })
    }

    /// Encodes the value in its shortest form; returns the buffer and the
    /// length used.
    pub fn encode(&self) -> ([u8; 3], usize) {
        let v = (self.num.min(MAX_NUM) << 4) | ((self.more as u32) << 3) | (self.szx & 7) as u32;
        let b = v.to_be_bytes();
        match v {
            0 => ([0; 3], 0),
            1..=0xff => ([b[3], 0, 0], 1),
            0x100..=0xffff => ([b[2], b[3], 0], 2),
            _ => ([b[1], b[2], b[3]], 3),
        }
    }

    /// Bytes per block.
    pub fn size(&self) -> usize {
        16usize << self.szx.min(6)
    }

    /// Byte offset of this block (`None` on overflow).
    pub fn offset(&self) -> Option<usize> {
        (self.num as usize).checked_mul(self.size())
    }

    /// The size exponent of blocks of exactly `bytes` (16, 32, ... 1024).
    pub fn szx_of_size(bytes: usize) -> Option<u8> {
        (0..=6u8).find(|&s| 16usize << s == bytes)
    }

    /// The largest size exponent whose blocks hold at most `bytes`.
    pub fn szx_for(bytes: usize) -> u8 {
        (0..=6u8).rev().find(|&s| 16usize << s <= bytes).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        for num in [0, 1, 15, 16, 4095, 4096, MAX_NUM] {
            for more in [false, true] {
                for szx in 0..7 {
                    let b = Block { num, more, szx };
                    let (buf, n) = b.encode();
                    assert_eq!(Block::decode(&buf[..n]), Some(b));
                }
            }
        }
        assert_eq!(Block { num: 0, more: false, szx: 0 }.encode().1, 0);
        assert_eq!(Block::decode(&[1, 2, 3, 4]), None);
        assert_eq!(Block::decode(&[]), Some(Block { num: 0, more: false, szx: 0 }));
    }

    #[test]
    fn sizes() {
        assert_eq!(Block { num: 3, more: true, szx: 2 }.size(), 64);
        assert_eq!(Block { num: 3, more: true, szx: 2 }.offset(), Some(192));
        assert_eq!(Block::szx_for(512), 5);
        assert_eq!(Block::szx_for(1000), 5);
        assert_eq!(Block::szx_for(5000), 6);
        assert_eq!(Block::szx_for(3), 0);
        assert_eq!(Block::szx_of_size(16), Some(0));
        assert_eq!(Block::szx_of_size(256), Some(4));
        assert_eq!(Block::szx_of_size(1024), Some(6));
        for bad in [0, 8, 100, 2048] {
            assert_eq!(Block::szx_of_size(bad), None, "{bad}");
        }
    }
}
