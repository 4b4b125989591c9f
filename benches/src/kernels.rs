//! The kernels: their three compiled forms and their inputs.

use std::path::PathBuf;

/// One benchmark kernel: `u32 name(u8 *buf, u32 len)` in three forms.
#[derive(Clone, Copy)]
pub struct Kernel {
    pub name: &'static str,
    /// The native build (C, `cc` at -O2), linked into this binary.
    pub native: unsafe extern "C" fn(*mut u8, u32) -> u32,
    /// eBPF bytecode (clang -target bpf -mcpu=v3 -O2, `.text`): what rbpf
    /// runs.
    pub ebpf: &'static [u8],
    /// The clang BPF object; [`Kernel::container`] packs it.
    pub ebpf_object: &'static [u8],
    /// A Wasm module exporting `name` and `memory`.
    pub wasm: &'static [u8],
    /// The C source (what the Cortex-M4 image compiles natively).
    pub source: &'static str,
    /// The input: `input_len` pseudo-random bytes ([`bytes`]) from `seed`
    /// (the source's `// bench-input: LEN seed N`), except for Fletcher32
    /// and kv_store ([`input`]).
    pub input_len: usize,
    pub seed: u32,
    /// True when the program has `.rodata`/`.data`: it needs the
    /// container's relocations and regions, so rbpf (bare `.text`) cannot
    /// run it.
    pub has_data: bool,
    /// True when the kernel calls the KV helpers (`store_local`, `fetch_local`
    /// of `kernel.h`): every contender then runs it against the same store,
    /// [`crate::kv`].
    pub helpers: bool,
}

/// Every kernel of the suite (the `*.c` files of `benches/kernels`, or of
/// `BENCH_KERNELS` at build time), the paper's Fletcher32 first.
pub fn all() -> Vec<Kernel> {
    include!(concat!(env!("OUT_DIR"), "/kernel_list.rs")).to_vec()
}

impl Kernel {
    /// The kernel as Alkyl loads it: its object packed into a container
    /// (`alkyl_pack::pack`, what `alkyl pack` does), once per
    /// process.
    ///
    /// # Errors
    /// The packer's rejection, as text.
    pub fn container(&self) -> Result<&'static [u8], String> {
        pack_once(self.name, self.ebpf_object)
    }
}

/// Packs `object` into a container, caching the bytes by `name` for the
/// life of the process (the benchmark loads each kernel many times).
///
/// # Errors
/// The packer's rejection, as text.
pub fn pack_once(name: &'static str, object: &[u8]) -> Result<&'static [u8], String> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static PACKED: OnceLock<Mutex<HashMap<&'static str, &'static [u8]>>> = OnceLock::new();
    let mut cache = PACKED.get_or_init(Default::default).lock().map_err(|e| e.to_string())?;
    if let Some(bytes) = cache.get(name) {
        return Ok(bytes);
    }
    // The ELF reader needs its input aligned, which an `include_bytes!`
    // slice need not be: parse a heap copy.
    let object = object.to_vec();
    let packed =
        alkyl_pack::pack(&object, &alkyl_pack::PackOptions::default()).map_err(|e| format!("packing {name}: {e}"))?;
    let bytes: &'static [u8] = Box::leak(packed.to_bytes().map_err(|e| e.to_string())?.into_boxed_slice());
    cache.insert(name, bytes);
    Ok(bytes)
}

/// Fletcher32 of the rBPF paper's input.
pub const PAPER_FLETCHER32: u32 = 0x5bac_8c3d;

/// Fletcher32 of the project's own 361-byte input, `apps/data/sample-361.bin`.
pub const SAMPLE_FLETCHER32: u32 = 0xd4ce_696f;

/// The Fletcher32 benchmark input: the rBPF paper's 361 bytes
/// (`$ALKYL_PAPER_INPUT`, else `../shared/data/fletcher32-input.bin` next to
/// the repository) when present, else the project's own 361-byte sample
/// (`apps/data/sample-361.bin`, which every clone has) — with the checksum
/// each must give.
pub fn fletcher32_input() -> (PathBuf, u32) {
    let paper = match std::env::var_os("ALKYL_PAPER_INPUT") {
        Some(p) => return (PathBuf::from(p), PAPER_FLETCHER32),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/fletcher32-input.bin"),
    };
    if paper.is_file() {
        (paper, PAPER_FLETCHER32)
    } else {
        (PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../apps/data/sample-361.bin"), SAMPLE_FLETCHER32)
    }
}

/// The bytes of [`fletcher32_input`] and what to call them in a report.
///
/// # Panics
/// The input cannot be read.
pub fn fletcher32_bytes() -> (Vec<u8>, &'static str) {
    let (path, checksum) = fletcher32_input();
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let name = if checksum == PAPER_FLETCHER32 { "the paper's 361-byte input" } else { "apps/data/sample-361.bin" };
    (bytes, name)
}

/// Deterministic pseudo-random bytes (xorshift32), so every run and every
/// contender sees the same input.
pub fn bytes(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// The benchmark input of `kernel`.
///
/// # Errors
/// When the Fletcher32 input ([`fletcher32_input`]) cannot be read.
pub fn input(kernel: &Kernel) -> Result<Vec<u8>, String> {
    Ok(match kernel.name {
        "fletcher32" => {
            let (path, _) = fletcher32_input();
            std::fs::read(&path).map_err(|e| format!("reading the Fletcher32 input {}: {e}", path.display()))?
        }
        // 96 keys drawn from 40 values (duplicates count), then the table.
        "kv_store" => {
            let mut b: Vec<u8> = bytes(96, 4).iter().flat_map(|&k| [k % 40, 0]).collect();
            b.resize(b.len() + 256, 0);
            b
        }
        _ => bytes(kernel.input_len, kernel.seed),
    })
}

/// Runs the native build on a copy of `input`.
pub fn run_native(kernel: &Kernel, buf: &mut Vec<u8>, input: &[u8]) -> u32 {
    buf.clear();
    buf.extend_from_slice(input);
    // SAFETY: the kernels read and write only `buf[..len]` (their C source
    // is in `kernels/`), and `buf` is a live, exclusive allocation of `len`
    // bytes for the duration of the call.
    unsafe { (kernel.native)(buf.as_mut_ptr(), buf.len() as u32) }
}
