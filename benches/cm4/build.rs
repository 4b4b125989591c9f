//! Builds what the image embeds: Fletcher32 in C (arm-none-eabi-gcc -Os),
//! its eBPF form (clang), the rBPF paper's input, the linker script, and the
//! suite: every kernel `alkyl-bench-cm4` prepared in `ALKYL_CM4_KERNELS` (a
//! directory with `list`, lines `NAME SOURCE`, and per kernel its packed
//! container `NAME.rbf` and input `NAME.in`), compiled natively with
//! arm-none-eabi-gcc -Os. Without `ALKYL_CM4_KERNELS` the suite is empty.

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const KERNELS_FROM_MANIFEST: &str = "../kernels";
include!("../kernels/compile.rs");

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let src = Path::new("../kernels/fletcher32.c");
    println!("cargo:rerun-if-changed=../kernels");
    println!("cargo:rerun-if-changed=link.x");
    println!("cargo:rerun-if-env-changed=ALKYL_PAPER_INPUT");

    arm_gcc().file(src).compile("fletcher32_c");

    let object = out.join("fletcher32.bpf.o");
    compile_ebpf(src, &object);
    ebpf_program(&object, &out.join("fletcher32.bpf"));
    let slots = std::fs::metadata(out.join("fletcher32.bpf")).map(|m| m.len() / 8).unwrap_or(0);

    // The rBPF paper's input when present, else the project's own sample
    // (every clone has it), each with the checksum it must give.
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let paper = manifest.join("../../../shared/data/fletcher32-input.bin");
    let (input_path, expected) = match env::var_os("ALKYL_PAPER_INPUT") {
        Some(p) => (PathBuf::from(p), 0x5bac_8c3du32),
        None if paper.is_file() => (paper, 0x5bac_8c3d),
        None => (manifest.join("../../apps/data/sample-361.bin"), 0xd4ce_696f),
    };
    println!("cargo:rerun-if-changed={}", input_path.display());
    let input = std::fs::read(&input_path).unwrap_or_else(|e| {
        panic!("reading the Fletcher32 input {}: {e} (set ALKYL_PAPER_INPUT)", input_path.display())
    });
    // The stack Fletcher32 declares: its container's, as packed by the
    // driver into the suite (the same .text); 512 without a suite (the
    // size images, which measure no RAM).
    let ebpf_stack = env::var_os("ALKYL_CM4_KERNELS").map_or(alkyl_vm::STACK_SIZE, |dir| {
        declared_stack(&PathBuf::from(dir).join("fletcher32.rbf"))
    });
    let mut consts = String::new();
    writeln!(consts, "pub const EBPF_SLOTS: usize = {slots};").unwrap();
    writeln!(consts, "pub const EBPF_STACK: usize = {ebpf_stack};").unwrap();
    writeln!(consts, "pub const EXPECTED: u32 = {expected:#x};").unwrap();
    writeln!(consts, "pub const INPUT: [u8; {}] = {:?};", input.len(), input).unwrap();
    std::fs::write(out.join("consts.rs"), consts).unwrap();

    suite(&out);

    println!("cargo:rustc-link-search={}", env::var("CARGO_MANIFEST_DIR").unwrap());
    println!("cargo:rustc-link-arg=-Tlink.x");
}

/// The stack the container at `path` declares (512 when it declares none).
fn declared_stack(path: &Path) -> usize {
    println!("cargo:rerun-if-changed={}", path.display());
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let container = alkyl_vm::container::Container::new_checked(&bytes[..])
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    container.stack_size().map_or(alkyl_vm::STACK_SIZE, |s| s as usize)
}

/// The gcc for the Cortex-M4 with the image's flags, at -Os.
fn arm_gcc() -> cc::Build {
    let mut b = cc::Build::new();
    b.compiler("arm-none-eabi-gcc")
        .define("ALKYL_NATIVE", None)
        .opt_level_str("s")
        .flag("-mcpu=cortex-m4")
        .flag("-mthumb")
        .flag("-mfloat-abi=hard")
        .flag("-mfpu=fpv4-sp-d16")
        .include(kernel_header_dir());
    b
}

/// `OUT_DIR/suite.rs`: `SUITE`, one `SuiteKernel` per prepared kernel, and
/// `SUITE_MAX_INPUT`; the kernels' C compiled into `libsuite_c`.
fn suite(out: &Path) {
    println!("cargo:rerun-if-env-changed=ALKYL_CM4_KERNELS");
    let mut rs = String::new();
    let mut max_input = 4;
    let mut gcc = arm_gcc();
    let mut any = false;
    if let Some(dir) = env::var_os("ALKYL_CM4_KERNELS").map(PathBuf::from) {
        let list = dir.join("list");
        println!("cargo:rerun-if-changed={}", list.display());
        let text = std::fs::read_to_string(&list).unwrap_or_else(|e| panic!("reading {}: {e}", list.display()));
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let (name, source) = line.split_once(' ').unwrap_or_else(|| panic!("{}: bad line {line}", list.display()));
            println!("cargo:rerun-if-changed={source}");
            // Each kernel defines `alkyl_native_NAME`; fletcher32 is also
            // compiled above, so the suite's copy is renamed.
            let obj_name = format!("suite_{name}");
            let mut one = arm_gcc();
            one.file(source).define(&format!("alkyl_native_{name}"), Some(format!("alkyl_suite_{name}").as_str()));
            one.compile(&obj_name);
            let input = std::fs::metadata(dir.join(format!("{name}.in"))).map(|m| m.len()).unwrap_or(0);
            max_input = max_input.max(input.div_ceil(4) * 4);
            let container = dir.join(format!("{name}.rbf"));
            // Each run maps a stack of exactly the declared size.
            let stack = declared_stack(&container);
            writeln!(
                rs,
                "{{ extern \"C\" {{ fn alkyl_suite_{name}(buf: *mut u8, len: u32) -> u32; }}
                SuiteKernel {{ name: {name:?}, native: alkyl_suite_{name},
                  container: &Aligned(*include_bytes!({:?})).0,
                  input: include_bytes!({:?}), stack: {stack},
                  run_fast: |e: &FastProgram<'_, '_>, s: &Script<&'static [u8]>, n: &str, i: &mut [u8]|
                      run_vm::<{stack}>(e, s, n, i),
                  run_ref: |e: &Script<&'static [u8]>, s: &Script<&'static [u8]>, n: &str, i: &mut [u8]|
                      run_vm::<{stack}>(e, s, n, i) }} }},",
                container,
                dir.join(format!("{name}.in"))
            )
            .unwrap();
            any = true;
        }
    }
    if !any {
        // An empty library keeps the link line the same.
        gcc.file(kernel_header_dir().join("fletcher32.c"))
            .define("alkyl_native_fletcher32", Some("alkyl_suite_unused"));
        gcc.compile("suite_none");
    }
    std::fs::write(
        out.join("suite.rs"),
        format!("pub static SUITE: &[SuiteKernel] = &[{rs}];\npub const SUITE_MAX_INPUT: usize = {max_input};\n"),
    )
    .unwrap();
}
