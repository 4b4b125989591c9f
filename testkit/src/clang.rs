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

/// The Femto-Container fixtures (`testkit/fixtures/femto-container`):
/// their CoAP example apps and headers, unchanged, with their licence.
pub fn femto_container_fixtures() -> PathBuf {
    repo().join("testkit/fixtures/femto-container")
}

/// Compiles the C file `source` the way Femto-Container's build does
/// (RIOT's `examples/gcoap_bpf/bpf/Makefile`): `clang -Os -emit-llvm`
/// with their headers (`-I fixtures/include`), piped into `llc
/// -march=bpf -mcpu=v2`. The object carries `.eh_frame` and debug
/// sections, as theirs do.
///
/// # Errors
/// clang or llc missing (`apt install clang llvm`; `make test` does), or
/// either failing.
pub fn compile_femto_container(source: &Path, out: &Path) -> Result<(), String> {
    let resource = Command::new("clang")
        .arg("-print-file-name=include")
        .output()
        .map_err(|e| format!("clang is needed (apt install clang; `make test` does): {e}"))?;
    let include = String::from_utf8_lossy(&resource.stdout).trim().to_string();
    let ir = Command::new("clang")
        .args(["-nostdinc", "-isystem", &include, "-I"])
        .arg(femto_container_fixtures().join("include"))
        .args(["-Wno-unused-value", "-Wno-pointer-sign", "-g3", "-Os", "-emit-llvm", "-c"])
        .arg(source)
        .args(["-o", "-"])
        .output()
        .map_err(|e| format!("clang: {e}"))?;
    if !ir.status.success() {
        return Err(format!("clang failed on {}: {}", source.display(), String::from_utf8_lossy(&ir.stderr)));
    }
    let mut llc = Command::new("llc")
        .args(["-march=bpf", "-mcpu=v2", "-filetype=obj", "-o"])
        .arg(out)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("llc is needed (apt install llvm; `make test` does): {e}"))?;
    use std::io::Write as _;
    llc.stdin.take().ok_or("llc stdin")?.write_all(&ir.stdout).map_err(|e| format!("llc: {e}"))?;
    if !llc.wait().map_err(|e| format!("llc: {e}"))?.success() {
        return Err(format!("llc failed on {}", source.display()));
    }
    Ok(())
}
