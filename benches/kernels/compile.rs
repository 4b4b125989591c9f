// Shared by `benches/build.rs` and `benches/cm4/build.rs` (through
// `include!`): how a C kernel becomes an eBPF program.

/// Runs `cmd`, failing the build with the command line when it fails.
fn run_tool(cmd: &mut std::process::Command) {
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (are clang, llvm and lld installed? `make bench-deps`)"));
    assert!(status.success(), "{cmd:?} failed with {status}");
}

/// Compiles `src` with `clang -target bpf -mcpu=v3 -O2` (v3: 32-bit
/// subregisters and JMP32, which clang uses for `u32` code) into `object`.
fn compile_ebpf(src: &std::path::Path, object: &std::path::Path) {
    run_tool(
        std::process::Command::new("clang").args(["-target", "bpf", "-mcpu=v3", "-O2", "-c"]).arg(src).arg("-o").arg(object),
    );
}

/// The raw `.text` of a clang BPF object: what rbpf runs, and what the
/// Cortex-M4 image embeds (the kernels use no globals, rodata or helpers,
/// so no relocation is needed, and it is byte for byte the text of the
/// container `alkyl pack` makes of the object; the host suite loads that
/// container and checks the two agree).
fn ebpf_program(object: &std::path::Path, out: &std::path::Path) {
    run_tool(std::process::Command::new("llvm-objcopy").args(["-O", "binary", "--only-section=.text"]).arg(object).arg(out));
}
