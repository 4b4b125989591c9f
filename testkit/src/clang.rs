//! clang's BPF backend with the project's flags (`apps/bpf.flags`), for
//! the tests and benchmarks that compile C scripts.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root (the parent of the testkit crate).
pub fn repo() -> PathBuf {
    let testkit = Path::new(env!("CARGO_MANIFEST_DIR"));
    testkit.parent().unwrap_or(testkit).to_path_buf()
}

/// Compiles the C file `source` into the eBPF object `out` with the flags
/// of `apps/bpf.flags` followed by `extra`; a `-mcpu=` in `extra` replaces
/// the file's. Runs in the repository root, so relative paths are from
/// there.
///
/// # Errors
/// The flags file unreadable, clang missing (`apt install clang`; `make
/// test` installs it), or clang failing.
pub fn compile_bpf(source: &Path, out: &Path, extra: &[&str]) -> Result<(), String> {
    let flags = std::fs::read_to_string(repo().join("apps/bpf.flags")).map_err(|e| format!("apps/bpf.flags: {e}"))?;
    let own_cpu = extra.iter().any(|f| f.starts_with("-mcpu="));
    let status = Command::new("clang")
        .current_dir(repo())
        .args(flags.split_whitespace().filter(|f| !(own_cpu && f.starts_with("-mcpu="))))
        .args(extra)
        .arg("-c")
        .arg(source)
        .arg("-o")
        .arg(out)
        .status()
        .map_err(|e| format!("clang is needed (apt install clang; `make test` does): {e}"))?;
    if !status.success() {
        return Err(format!("clang failed on {}", source.display()));
    }
    Ok(())
}
