//! The Alkyl benchmark suite: small C kernels compiled natively, to eBPF and
//! to Wasm (see `build.rs`), run side by side on native code, both Alkyl
//! engines and peer VMs (`rbpf`, `wasmi`, `wasm3`; feature `peers`).
//!
//! `cargo run --release -p alkyl-benches --features peers --bin alkyl-bench`
//! (or `make bench`) prints the table and writes `target/bench/results.json`.
//! The library is split by phase: [`kernels`] (what runs), [`contenders`]
//! (who runs it), [`harness`] (how it is timed), [`sizes`] (script sizes),
//! [`coap`] (the helper-heavy kernel, which has its own contenders),
//! [`kv`] (the KV helpers every contender supplies to the helper kernels),
//! [`ir_baseline`] (clang's side of the IR and language numbers),
//! [`elf`] (section sizes of the bare-metal images).

pub mod coap;
pub mod contenders;
pub mod elf;
pub mod harness;
pub mod ir_baseline;
pub mod kernels;
pub mod kv;
pub mod sizes;

/// The exit of a benchmark binary whose work returned `result`: success,
/// or the error printed as `error: ...` and a failure code.
pub fn exit_code(result: Result<(), String>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Writes `doc` as pretty JSON (and a newline) to `out`, creating its
/// directory, and says so on stdout.
///
/// # Errors
/// What failed, with the path.
pub fn write_json(out: &std::path::Path, doc: &serde_json::Value) -> Result<(), String> {
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(doc).map_err(|e| e.to_string())?;
    std::fs::write(out, text + "\n").map_err(|e| format!("writing {}: {e}", out.display()))?;
    println!("wrote {}", out.display());
    Ok(())
}
