// Shared by `benches/build.rs`, `benches/cm4/build.rs` and
// `alkyl-bench-cm4` (through `include!`): the kernel convention (which C
// files are kernels, their input) and how a C kernel becomes an eBPF
// program.

/// Runs `cmd`, failing the build with the command line when it fails.
#[allow(dead_code)]
fn run_tool(cmd: &mut std::process::Command) {
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (are clang, llvm and lld installed? `make bench-deps`)"));
    assert!(status.success(), "{cmd:?} failed with {status}");
}

/// The directory holding the project's `kernel.h` (kernels elsewhere, in
/// `BENCH_KERNELS`, include it too).
#[allow(dead_code)]
fn kernel_header_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(KERNELS_FROM_MANIFEST)
}

/// Compiles `src` with `clang -target bpf -mcpu=v3 -O2` (v3: 32-bit
/// subregisters and JMP32, which clang uses for `u32` code) into `object`.
#[allow(dead_code)]
fn compile_ebpf(src: &std::path::Path, object: &std::path::Path) {
    run_tool(
        std::process::Command::new("clang")
            .args(["-target", "bpf", "-mcpu=v3", "-O2", "-c", "-I"])
            .arg(kernel_header_dir())
            .arg(src)
            .arg("-o")
            .arg(object),
    );
}

/// The raw `.text` of a clang BPF object: what rbpf runs (for kernels
/// without `.rodata`/`.data`, it is byte for byte the text of the container
/// `alkyl pack` makes of the object; the host suite loads that container
/// and checks the two agree).
#[allow(dead_code)]
fn ebpf_program(object: &std::path::Path, out: &std::path::Path) {
    run_tool(std::process::Command::new("llvm-objcopy").args(["-O", "binary", "--only-section=.text"]).arg(object).arg(out));
}

/// True when the object has data sections (`.rodata*`, `.data*`, `.bss*`):
/// the program then needs the container's relocations and regions (rbpf,
/// which runs bare `.text`, cannot run it).
#[allow(dead_code)]
fn has_data(object: &std::path::Path) -> bool {
    let out = std::process::Command::new("llvm-readelf")
        .args(["-S", "--wide"])
        .arg(object)
        .output()
        .unwrap_or_else(|e| panic!("cannot run llvm-readelf: {e}"));
    String::from_utf8_lossy(&out.stdout).lines().any(|l| {
        let mut f = l.split_whitespace().skip_while(|w| !w.starts_with('.'));
        let (Some(name), Some(_ty), Some(_addr), Some(_off), Some(size)) = (f.next(), f.next(), f.next(), f.next(), f.next())
        else {
            return false;
        };
        [".rodata", ".data", ".bss"].iter().any(|p| name.starts_with(p)) && u64::from_str_radix(size, 16).unwrap_or(0) > 0
    })
}

/// One kernel found by [`kernel_sources`]: its name (the file stem, which
/// is also the function `KERNEL(name)` defines), its source and its input.
#[allow(dead_code)]
struct KernelSource {
    name: String,
    path: std::path::PathBuf,
    /// `// bench-input: LEN [seed N]` in the source: LEN pseudo-random
    /// bytes from xorshift32 seeded with N (default 256 bytes, seed 1).
    input_len: usize,
    seed: u32,
    /// The kernel calls the KV helpers of `kernel.h` (`store_local`,
    /// `fetch_local`): the harness must supply them.
    helpers: bool,
}

/// The kernels in `dir`: every `*.c` file, sorted by name (the project's
/// Fletcher32 first when present). Panics on a file that breaks the
/// convention (docs/benchmarks.md, "Your own kernels").
#[allow(dead_code)]
fn kernel_sources(dir: &std::path::Path) -> Vec<KernelSource> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading the kernel directory {}: {e}", dir.display()));
    let mut out = Vec::new();
    for e in entries {
        let path = e.unwrap().path();
        if path.extension().and_then(|x| x.to_str()) != Some("c") {
            continue;
        }
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        assert!(
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') && !name.as_bytes()[0].is_ascii_digit(),
            "{}: a kernel's file stem must be a C identifier",
            path.display()
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        assert!(text.contains(&format!("KERNEL({name})")), "{}: defines no KERNEL({name})", path.display());
        let (mut input_len, mut seed) = (256, 1);
        if let Some(spec) = text.lines().find_map(|l| l.trim().strip_prefix("// bench-input:")) {
            let mut f = spec.split_whitespace();
            input_len = f.next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{}: bench-input: LEN [seed N]", path.display()));
            if f.next() == Some("seed") {
                seed = f.next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{}: bench-input: LEN seed N", path.display()));
            }
        }
        let helpers = text.contains("store_local(") || text.contains("fetch_local(");
        out.push(KernelSource { name, path, input_len, seed, helpers });
    }
    out.sort_by(|a, b| (a.name != "fletcher32", &a.name).cmp(&(b.name != "fletcher32", &b.name)));
    assert!(!out.is_empty(), "no kernels (*.c) in {}", dir.display());
    out
}
