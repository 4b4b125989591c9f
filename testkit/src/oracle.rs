//! The apps' results computed natively, to check every form of them
//! (IR, eBPF assembler, containers) against one definition.

include!("fletcher32.rs");

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
