//! Reading the bare-metal images (`benches/cm4`, `benches/size`): running
//! the build tools, section sizes (`llvm-size`), flash and static RAM.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Runs `cmd`; its stdout and stderr, or why it failed.
pub fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("{cmd:?} failed ({}):\n{text}", out.status));
    }
    Ok(text)
}

/// Section sizes of an ELF (`llvm-size -A`).
pub fn sections(elf: &Path) -> Result<BTreeMap<String, u64>, String> {
    let text = run(Command::new("llvm-size").arg("-A").arg(elf))?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (name, size) = (f.next()?, f.next()?.parse().ok()?);
            name.starts_with('.').then(|| (name.to_string(), size))
        })
        .collect())
}

/// Flash an image takes: `.vector_table + .text + .rodata + .data`.
pub fn flash(s: &BTreeMap<String, u64>) -> u64 {
    [".vector_table", ".text", ".rodata", ".data"].iter().map(|k| s.get(*k).copied().unwrap_or(0)).sum()
}

/// Static RAM an image takes: `.data + .bss`.
pub fn static_ram(s: &BTreeMap<String, u64>) -> u64 {
    [".data", ".bss"].iter().map(|k| s.get(*k).copied().unwrap_or(0)).sum()
}
