//! Who runs a kernel: native code, the two Alkyl engines and (feature
//! `peers`) the `rbpf` interpreter and x86-64 JIT, `wasmi` and `wasm3`.
//!
//! Each contender is built once per kernel ("load": parse, verify,
//! translate or compile, instantiate), then `run` copies the input into the
//! contender's own memory and calls the kernel with `(buf, len)`. A helper
//! kernel's calls reach the same store on every contender ([`crate::kv`]).

use alkyl_bindings::{AlkylHelpers, ALL_HELPERS};
use alkyl_vm::container::Script;
use alkyl_vm::fast::{self, Op};
use alkyl_vm::{Entry, Executable, Invocation, NoHelpers, Runnable, STACK_SIZE};

use crate::kernels::{run_native, Kernel};

/// Budget given to every Alkyl run: far above what any kernel needs.
pub const BUDGET: u64 = 100_000_000;

/// A loaded kernel, ready to run.
pub trait Contender {
    /// Runs the kernel over a fresh copy of `input`.
    ///
    /// # Errors
    /// A trap or error of the VM, as text.
    fn run(&mut self, input: &[u8]) -> Result<u32, String>;
}

/// The contenders, in table order, with the name used in results.json.
pub const NAMES: &[&str] = &[
    "native",
    "alkyl",
    "alkyl_ref",
    #[cfg(feature = "peers")]
    "rbpf",
    #[cfg(feature = "peers")]
    "rbpf_jit",
    #[cfg(feature = "peers")]
    "wasmi",
    #[cfg(feature = "peers")]
    "wasm3",
];

/// Loads `kernel` for contender `name`.
///
/// # Errors
/// The contender refused the program (verifier, parser), as text.
pub fn load(name: &str, kernel: &Kernel) -> Result<Box<dyn Contender>, String> {
    Ok(match name {
        "native" => Box::new(Native { kernel: *kernel, buf: Vec::new() }),
        "alkyl" => Box::new(Alkyl::new(kernel, true)?),
        "alkyl_ref" => Box::new(Alkyl::new(kernel, false)?),
        #[cfg(feature = "peers")]
        "rbpf" => Box::new(peers::Rbpf::new(kernel, false)?),
        #[cfg(feature = "peers")]
        "rbpf_jit" => Box::new(peers::Rbpf::new(kernel, true)?),
        #[cfg(feature = "peers")]
        "wasmi" => Box::new(peers::Wasmi::new(kernel)?),
        #[cfg(feature = "peers")]
        "wasm3" => Box::new(peers::Wasm3::new(kernel)?),
        other => return Err(format!("unknown contender {other}")),
    })
}

struct Native {
    kernel: Kernel,
    buf: Vec<u8>,
}

impl Contender for Native {
    fn run(&mut self, input: &[u8]) -> Result<u32, String> {
        Ok(run_native(&self.kernel, &mut self.buf, input))
    }
}

/// The kernel's container, loaded (parsed and verified), and its entry.
fn load_script(kernel: &Kernel) -> Result<(Script<&'static [u8]>, Entry), String> {
    let script = Script::load(kernel.container()?, &ALL_HELPERS).map_err(|e| e.to_string())?;
    if !kernel.has_data && script.program().code() != kernel.ebpf {
        return Err(format!("{}: the container's text differs from the object's .text", kernel.name));
    }
    let entry = script.entry(kernel.name.as_bytes()).ok_or(format!("{}: no entry point {0}", kernel.name))?;
    Ok((script, entry))
}

/// An Alkyl engine on the kernel's container: the reference interpreter,
/// or the fast engine on the container translated at load.
pub struct Alkyl {
    script: Script<&'static [u8]>,
    executable: Executable<'static, 'static>,
    entry: Entry,
    buf: Vec<u8>,
    /// The kernel calls the KV helpers (else it runs with none).
    helpers: bool,
}

impl Alkyl {
    /// Loads the kernel's container (and with `fast`, translates it: the
    /// translated form lives as long as the process, one per kernel, as it
    /// would on a device).
    ///
    /// # Errors
    /// The loader's or translator's rejection.
    pub fn new(kernel: &Kernel, fast: bool) -> Result<Self, String> {
        let (script, entry) = load_script(kernel)?;
        let executable = if fast {
            let ops: &'static mut [Op] =
                Box::leak(vec![Op::EMPTY; fast::storage_len(&script.program())].into_boxed_slice());
            Executable::Fast(fast::translate(&script.borrowed_program(), ops).map_err(|e| e.to_string())?)
        } else {
            Executable::Reference(script.borrowed_program())
        };
        Ok(Alkyl { script, executable, entry, buf: Vec::new(), helpers: kernel.helpers })
    }
}

impl Contender for Alkyl {
    /// Copies the input into the run's buffer and runs over a 512-byte
    /// stack, that buffer (mapped read-write) and the script's own regions
    /// (its `.data`/`.rodata`, empty for these kernels): what a host does
    /// per event. A helper kernel's helpers are the runtime's
    /// (`AlkylHelpers`, app 0) over the thread's store ([`crate::kv`]).
    fn run(&mut self, input: &[u8]) -> Result<u32, String> {
        self.buf.clear();
        self.buf.extend_from_slice(input);
        let mut stack = [0u8; STACK_SIZE];
        let mut data = [0u8; 0];
        let mut run = Invocation::with_writable_input(&mut stack, &mut self.buf).map_err(|e| e.to_string())?;
        run.script(&self.script, &mut data).map_err(|e| e.to_string())?;
        let (script, executable, entry) = (&self.script, &self.executable, self.entry);
        let result = if self.helpers {
            crate::kv::with_store(|store| {
                let mut helpers = AlkylHelpers::new(store, 0);
                executable.run(entry, &mut run, &mut script.restrict(&mut helpers), BUDGET)
            })
        } else {
            executable.run(entry, &mut run, &mut script.restrict(&mut NoHelpers), BUDGET)
        };
        result.map(|e| e.r0 as u32).map_err(|t| t.to_string())
    }
}

#[cfg(feature = "peers")]
mod peers {
    //! The peer VMs, driven through their public APIs.

    use alkyl_bindings::generated as g;

    use super::Contender;
    use crate::kernels::Kernel;
    use crate::kv;

    /// rbpf's helper 16, `store_local(key, value)`.
    fn kv_store(key: u64, value: u64, _: u64, _: u64, _: u64) -> u64 {
        kv::store(key as u32, value as u32) as i64 as u64
    }

    /// rbpf's helper 18, `fetch_local(key, &value)`: rbpf hands helpers raw
    /// host pointers and checks none of them (its own design); the kernel
    /// passes the address of a local on rbpf's stack.
    fn kv_fetch(key: u64, value: u64, _: u64, _: u64, _: u64) -> u64 {
        // SAFETY: the helper kernels pass a pointer to a `u32` local of
        // their eBPF stack, which rbpf keeps live during the call.
        unsafe { (value as *mut u32).write_unaligned(kv::fetch(key as u32)) };
        0
    }

    /// The four bytes of Wasm memory `mem` at `at`, if inside.
    fn wasm_u32(mem: &mut [u8], at: i32) -> Option<&mut [u8]> {
        let at = at as u32 as usize;
        mem.get_mut(at..at.checked_add(4)?)
    }

    /// Where the Wasm kernels find their input: the fourth 64 KiB page, well
    /// above the shadow stack clang places in the first.
    const WASM_INPUT: usize = 3 * 65536;

    /// `rbpf`'s `EbpfVmRaw` passes the buffer in `r1` but no length: a
    /// `mov r2, len` is prepended (one extra instruction per run; jumps are
    /// relative, so the program is otherwise unchanged).
    pub struct Rbpf {
        vm: rbpf::EbpfVmRaw<'static>,
        jit: bool,
        len: u32,
        kernel: Kernel,
        buf: Vec<u8>,
    }

    impl Rbpf {
        pub fn new(kernel: &Kernel, jit: bool) -> Result<Self, String> {
            Self::with_len(kernel, crate::kernels::input(kernel)?.len() as u32, jit)
        }

        /// As [`Rbpf::new`] for inputs of `len` bytes.
        pub fn with_len(kernel: &Kernel, len: u32, jit: bool) -> Result<Self, String> {
            if kernel.has_data {
                return Err(format!("rbpf: {} has .rodata/.data, which bare .text cannot reach", kernel.name));
            }
            let mut code = vec![0xb7, 0x02, 0, 0];
            code.extend_from_slice(&len.to_le_bytes());
            code.extend_from_slice(kernel.ebpf);
            // rbpf keeps a reference to the program for the VM's lifetime.
            let code: &'static [u8] = Box::leak(code.into_boxed_slice());
            let mut vm = rbpf::EbpfVmRaw::new(Some(code)).map_err(|e| format!("rbpf: {e}"))?;
            if kernel.helpers {
                vm.register_helper(g::ALKYL_HELPER_STORE_LOCAL, kv_store).map_err(|e| format!("rbpf: {e}"))?;
                vm.register_helper(g::ALKYL_HELPER_FETCH_LOCAL, kv_fetch).map_err(|e| format!("rbpf: {e}"))?;
            }
            if jit {
                vm.jit_compile().map_err(|e| format!("rbpf jit: {e}"))?;
            }
            Ok(Rbpf { vm, jit, len, kernel: *kernel, buf: Vec::new() })
        }
    }

    impl Contender for Rbpf {
        fn run(&mut self, input: &[u8]) -> Result<u32, String> {
            if input.len() as u32 != self.len {
                // The length is part of the program: reload for this one
                // (tests only; the benchmark always runs one length).
                *self = Rbpf::with_len(&self.kernel, input.len() as u32, self.jit)?;
            }
            self.buf.clear();
            self.buf.extend_from_slice(input);
            let r = if self.jit {
                // SAFETY: the program passed rbpf's verifier and was compiled
                // by its JIT; the kernels only touch `buf[..len]` (their C
                // source), which is live and exclusive during the call.
                unsafe { self.vm.execute_program_jit(&mut self.buf) }
            } else {
                self.vm.execute_program(&mut self.buf)
            };
            r.map(|v| v as u32).map_err(|e| format!("rbpf: {e}"))
        }
    }

    pub struct Wasmi {
        /// The store's data: the instance's memory, for the KV host functions.
        store: wasmi::Store<Option<wasmi::Memory>>,
        func: wasmi::TypedFunc<(i32, i32), i32>,
        memory: wasmi::Memory,
    }

    impl Wasmi {
        pub fn new(kernel: &Kernel) -> Result<Self, String> {
            let engine = wasmi::Engine::default();
            let module = wasmi::Module::new(&engine, kernel.wasm).map_err(|e| format!("wasmi: {e}"))?;
            let mut store = wasmi::Store::new(&engine, None);
            let mut linker = wasmi::Linker::<Option<wasmi::Memory>>::new(&engine);
            if kernel.helpers {
                let link = |e| format!("wasmi: {e}");
                linker.func_wrap("env", "store_local", |k: i32, v: i32| kv::store(k as u32, v as u32)).map_err(link)?;
                linker
                    .func_wrap(
                        "env",
                        "fetch_local",
                        |mut caller: wasmi::Caller<'_, Option<wasmi::Memory>>, k: i32, at: i32| {
                            let mem = caller.data().ok_or_else(|| wasmi::Error::new("no memory"))?;
                            let out = wasm_u32(mem.data_mut(&mut caller), at)
                                .ok_or_else(|| wasmi::Error::new("out of bounds"))?;
                            out.copy_from_slice(&kv::fetch(k as u32).to_le_bytes());
                            Ok(0i32)
                        },
                    )
                    .map_err(link)?;
            }
            let instance = linker.instantiate_and_start(&mut store, &module).map_err(|e| format!("wasmi: {e}"))?;
            let func =
                instance.get_typed_func::<(i32, i32), i32>(&store, kernel.name).map_err(|e| format!("wasmi: {e}"))?;
            let memory = instance.get_memory(&store, "memory").ok_or("wasmi: no exported memory")?;
            *store.data_mut() = Some(memory);
            Ok(Wasmi { store, func, memory })
        }
    }

    impl Contender for Wasmi {
        fn run(&mut self, input: &[u8]) -> Result<u32, String> {
            let mem = self.memory.data_mut(&mut self.store);
            mem.get_mut(WASM_INPUT..WASM_INPUT + input.len()).ok_or("wasmi: input too large")?.copy_from_slice(input);
            let r = self.func.call(&mut self.store, (WASM_INPUT as i32, input.len() as i32));
            r.map(|v| v as u32).map_err(|e| format!("wasmi: {e}"))
        }
    }

    pub struct Wasm3 {
        // Field order: the function borrows the runtime, which borrows the
        // environment; both are leaked (one per kernel, for the process).
        func: wasm3::Function<'static, (i32, i32), i32>,
        runtime: &'static wasm3::Runtime,
    }

    impl Wasm3 {
        pub fn new(kernel: &Kernel) -> Result<Self, String> {
            let env: &'static wasm3::Environment =
                Box::leak(Box::new(wasm3::Environment::new().map_err(|e| format!("wasm3: {e}"))?));
            let runtime: &'static wasm3::Runtime =
                Box::leak(Box::new(env.create_runtime(64 * 1024).map_err(|e| format!("wasm3: {e}"))?));
            wasm3_module(runtime, kernel)?;
            let func = runtime.find_function::<(i32, i32), i32>(kernel.name).map_err(|e| format!("wasm3: {e}"))?;
            Ok(Wasm3 { func, runtime })
        }
    }

    /// Parses and loads the kernel's module into `runtime`, and links a
    /// helper kernel's imports to the KV host functions.
    fn wasm3_module(runtime: &wasm3::Runtime, kernel: &Kernel) -> Result<(), String> {
        let link = |e| format!("wasm3: {e}");
        let mut module = runtime.parse_and_load_module(kernel.wasm.to_vec()).map_err(link)?;
        if kernel.helpers {
            module
                .link_closure("env", "store_local", |_, (k, v): (i32, i32)| Ok(kv::store(k as u32, v as u32)))
                .map_err(link)?;
            module
                .link_closure("env", "fetch_local", |cc, (k, at): (i32, i32)| {
                    // SAFETY: wasm3 hands host functions its linear memory
                    // as a raw slice, valid during the call.
                    let mem = unsafe { &mut *cc.memory_mut() };
                    let out = wasm_u32(mem, at).ok_or(wasm3::error::Trap::OutOfBoundsMemoryAccess)?;
                    out.copy_from_slice(&kv::fetch(k as u32).to_le_bytes());
                    Ok(0i32)
                })
                .map_err(link)?;
        }
        Ok(())
    }

    /// Environment, runtime, parse and load, then drop (not leaked).
    pub fn wasm3_load_once(kernel: &Kernel) -> Result<(), String> {
        let env = wasm3::Environment::new().map_err(|e| format!("wasm3: {e}"))?;
        let runtime = env.create_runtime(64 * 1024).map_err(|e| format!("wasm3: {e}"))?;
        wasm3_module(&runtime, kernel)?;
        runtime.find_function::<(i32, i32), i32>(kernel.name).map(drop).map_err(|e| format!("wasm3: {e}"))
    }

    impl Contender for Wasm3 {
        fn run(&mut self, input: &[u8]) -> Result<u32, String> {
            // SAFETY: wasm3 hands out its linear memory as a raw slice; no
            // wasm code runs while we hold it, and the slice is used only
            // for this bounds-checked copy.
            let mem = unsafe { &mut *self.runtime.memory_mut() };
            mem.get_mut(WASM_INPUT..WASM_INPUT + input.len()).ok_or("wasm3: input too large")?.copy_from_slice(input);
            let r = self.func.call(WASM_INPUT as i32, input.len() as i32);
            r.map(|v| v as u32).map_err(|e| format!("wasm3: {e}"))
        }
    }
}

/// Loads `kernel` for contender `name` and drops it again: what "load"
/// costs (parse and verify the container, translate; or compile,
/// instantiate), for timing. Packing is the toolchain's job, not the
/// device's, and is not counted.
///
/// # Errors
/// As [`load`].
pub fn load_once(name: &str, kernel: &Kernel, ops: &mut Vec<Op>) -> Result<(), String> {
    match name {
        "native" => Ok(()),
        "alkyl_ref" => Script::load(kernel.container()?, &ALL_HELPERS).map(drop).map_err(|e| e.to_string()),
        "alkyl" => {
            let script = Script::load(kernel.container()?, &ALL_HELPERS).map_err(|e| e.to_string())?;
            ops.clear();
            ops.resize(fast::storage_len(&script.program()), Op::EMPTY);
            fast::translate(&script.program(), ops).map(drop).map_err(|e| e.to_string())
        }
        #[cfg(feature = "peers")]
        "wasm3" => peers::wasm3_load_once(kernel),
        // The others own no leaked state: building and dropping is a load.
        _ => load(name, kernel).map(drop),
    }
}

#[cfg(feature = "peers")]
pub use peers::wasm3_load_once;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels;

    /// Every kernel gives the native result on every contender built here,
    /// on its benchmark input and on other lengths.
    #[test]
    fn every_contender_agrees_with_native() {
        for k in kernels::all() {
            let mut inputs = vec![kernels::input(&k).unwrap()];
            if k.name != "kv_store" {
                inputs.extend([0usize, 1, 2, 7, 100, 999].map(|n| kernels::bytes(n, 9)));
            }
            for input in &inputs {
                let want = run_native(&k, &mut Vec::new(), input);
                for name in NAMES {
                    let mut c = load(name, &k).unwrap_or_else(|e| panic!("{name} loading {}: {e}", k.name));
                    let got = c.run(input).unwrap_or_else(|e| panic!("{name} on {}: {e}", k.name));
                    assert_eq!(got, want, "{name} on {} ({} bytes)", k.name, input.len());
                }
            }
        }
    }

    #[test]
    fn fletcher32_of_its_input() {
        let k = kernels::all()[0];
        let input = kernels::input(&k).unwrap();
        let (path, want) = kernels::fletcher32_input();
        eprintln!("fletcher32 input: {}", path.display());
        assert_eq!(input.len(), 361);
        assert_eq!(run_native(&k, &mut Vec::new(), &input), want);
        assert_eq!(load("alkyl", &k).unwrap().run(&input).unwrap(), want);
    }
}
