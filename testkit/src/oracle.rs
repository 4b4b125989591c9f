//! The apps' results computed natively, to check every form of them
//! (IR, eBPF assembler, containers) against one definition.

/// Fletcher-32 as the rBPF paper's benchmark defines it: little-endian
/// 16-bit words (an odd last byte is ignored), sums starting at 0, reduced
/// modulo 65535 after every block of 359 words; `(c1 << 16) | c0`. The
/// paper's input gives `0x5bac8c3d`.
pub fn fletcher32(data: &[u8]) -> u32 {
    let (mut c0, mut c1) = (0u32, 0u32);
    for block in data[..data.len() / 2 * 2].chunks(2 * 359) {
        for w in block.chunks(2) {
            c0 += u16::from_le_bytes([w[0], w[1]]) as u32;
            c1 += c0;
        }
        c0 %= 65535;
        c1 %= 65535;
    }
    (c1 << 16) | c0
}

/// Fletcher-32 of the rBPF paper's input.
pub const PAPER_FLETCHER32: u32 = 0x5bac_8c3d;

/// The rBPF paper's Fletcher-32 input, `../shared/data/fletcher32-input.bin`
/// beside this checkout, when present; when absent, says on stderr that
/// the `test` checking it did not run.
pub fn paper_input(test: &str) -> Option<std::path::PathBuf> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/fletcher32-input.bin");
    if !path.exists() {
        eprintln!("NOT RUN: {test}: {} is absent", path.display());
        return None;
    }
    Some(path)
}
