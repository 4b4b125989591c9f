// The one Rust Fletcher-32: `oracle` includes it, and so does the
// Cortex-M4 image (`benches/cm4/src/main.rs`, `no_std`, which cannot depend
// on this crate), where it is the native Rust contender; hence `core` only,
// and `inline(never)` so that the image's measurement window holds a call.

/// Fletcher-32 as the rBPF paper's benchmark defines it: little-endian
/// 16-bit words (an odd last byte is ignored), sums starting at 0, reduced
/// modulo 65535 after every block of 359 words; `(c1 << 16) | c0`. The
/// paper's input gives `0x5bac8c3d`.
#[inline(never)]
pub fn fletcher32(data: &[u8]) -> u32 {
    let (mut c0, mut c1) = (0u32, 0u32);
    for block in data[..data.len() / 2 * 2].chunks(2 * 359) {
        for w in block.chunks_exact(2) {
            c0 += u16::from_le_bytes([w[0], w[1]]) as u32;
            c1 += c0;
        }
        c0 %= 65535;
        c1 %= 65535;
    }
    (c1 << 16) | c0
}
