//! The apps' results computed natively, to check every form of them
//! (IR, eBPF assembler, containers) against one definition.

include!("fletcher32.rs");

/// Fletcher-32 of the rBPF paper's input.
pub const PAPER_FLETCHER32: u32 = 0x5bac_8c3d;

/// The rBPF paper's Fletcher-32 input, `../shared/data/fletcher32-input.bin`
/// beside this checkout, when present; when absent, says on stderr that
/// the `test` checking it did not run.
pub fn paper_input(test: &str) -> Option<std::path::PathBuf> {
    shared_file("data/fletcher32-input.bin", test)
}

/// `../shared/PATH` beside this checkout (the shared material: papers,
/// data, conformance suites), when present; when absent (a user's clone
/// has none), says on stderr that the `test` needing it did not run.
pub fn shared_file(path: &str, test: &str) -> Option<std::path::PathBuf> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared").join(path);
    if !path.exists() {
        eprintln!("NOT RUN: {test}: {} is absent", path.display());
        return None;
    }
    Some(path)
}
