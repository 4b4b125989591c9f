//! One way to run a program: an [`Invocation`] the host fills with its
//! buffers, run by a [`Runnable`]: one engine's program, or an
//! [`Executable`] (either engine, chosen at run time).
//!
//! # The invocation convention
//! `docs/isa.md`, "Invocation", is the description; this module is its one
//! implementation. An invocation maps
//!
//! | segment | address | region | policy |
//! |---|---|---|---|
//! | 1 | [`STACK_VADDR`] | the stack (`r10` at its top) | read-write |
//! | 2 | [`INPUT_VADDR`] | the input | read-only ([`Invocation::new`]), or read-write when the host asks ([`Invocation::with_writable_input`]) |
//! | 3 | [`DATA_VADDR`] | the host's copy of `.data` ([`Invocation::data`]) | read-write |
//! | 4 | [`RODATA_VADDR`] | `.rodata` ([`Invocation::rodata`]) | read-only |
//! | any free one | the host's | a context ([`Invocation::context`]) | read-only |
//! | any free one | the host's | an extra buffer ([`Invocation::region`]) | read-write |
//! | 0 | address 0 | a buffer scripts hold 32-bit pointers into ([`Invocation::low_region`]) | read-write |
//!
//! and starts the program with `r1` = [`INPUT_VADDR`], `r2` = the input's
//! length, `r3` = the context's address (0 without one), `r4` = `r5` = 0;
//! or, in Femto-Container's convention ([`Invocation::context_first`]),
//! `r1` = the context's address and `r2` its length.
//! The VM gives the extra segments no meaning: the CoAP packet buffer and
//! context addresses, for example, are the bindings'.

use crate::abi::{DATA_VADDR, INPUT_VADDR, RODATA_VADDR, STACK_VADDR};
use crate::container::Script;
use crate::helper::Helpers;
use crate::memory::{AccessPolicy, MapError, MemoryMap, Slot, SLOTS};
use crate::storage::Stable;
use crate::trap::{Exit, Trap};
use crate::verify::{Entry, Program};

/// The regions and arguments of one run, filled by the host with buffers
/// it owns (borrowed for `'m`, the run's duration). See the module docs
/// for the convention.
///
/// Its region table has a slot for segments `0..N`: every segment by
/// default ([`Invocation::new`]); a host that maps fewer sizes it to what
/// the run maps ([`Invocation::sized`]: `Invocation::<3>::sized` for the
/// stack and the input, 72 bytes less on a 32-bit core). Mapping a
/// segment beyond `N` is [`MapError::BadAddress`].
#[derive(Debug)]
pub struct Invocation<'m, const N: usize = SLOTS> {
    mem: MemoryMap<'m, [Slot<'m>; N]>,
    /// `r1..=r3` (`r4` and `r5` start at 0). Three, not five: on a 32-bit
    /// core zeroing five 8-aligned words pulled in `__aeabi_memclr8` (174
    /// bytes of flash on the Cortex-M4), and it saves 16 bytes per run.
    args: [u64; 3],
}

impl<'m> Invocation<'m> {
    /// `stack` read-write at [`STACK_VADDR`], `input` **read-only** at
    /// [`INPUT_VADDR`]; `r1`/`r2` = its address and length.
    ///
    /// # Errors
    /// [`MapError::TooLarge`] for a buffer of 4 GiB or more.
    #[inline]
    pub fn new(stack: &'m mut [u8], input: &'m [u8]) -> Result<Self, MapError> {
        Self::sized(stack, input)
    }

    /// As [`Invocation::new`], with the input mapped **read-write**: the
    /// program may change it and the host reads the result back after the
    /// run (`alkyl run --mem`, the conformance suite's memory). Devices do
    /// not use it.
    ///
    /// # Errors
    /// As [`Invocation::new`].
    #[inline]
    pub fn with_writable_input(stack: &'m mut [u8], input: &'m mut [u8]) -> Result<Self, MapError> {
        Self::sized_writable(stack, input)
    }
}

impl<'m, const N: usize> Invocation<'m, N> {
    /// [`Invocation::new`] with a region table of `N` slots.
    ///
    /// # Errors
    /// As [`Invocation::new`]; [`MapError::BadAddress`] when `N < 3`.
    #[inline]
    pub fn sized(stack: &'m mut [u8], input: &'m [u8]) -> Result<Self, MapError> {
        let len = input.len() as u64;
        let mut mem = MemoryMap::with_slots();
        mem.map(STACK_VADDR, stack, AccessPolicy::ReadWrite)?;
        mem.map_read_only(INPUT_VADDR, input)?;
        Ok(Invocation { mem, args: [INPUT_VADDR, len, 0] })
    }

    /// [`Invocation::with_writable_input`] with a region table of `N`
    /// slots.
    ///
    /// # Errors
    /// As [`Invocation::sized`].
    #[inline]
    pub fn sized_writable(stack: &'m mut [u8], input: &'m mut [u8]) -> Result<Self, MapError> {
        let len = input.len() as u64;
        let mut mem = MemoryMap::with_slots();
        mem.map(STACK_VADDR, stack, AccessPolicy::ReadWrite)?;
        mem.map(INPUT_VADDR, input, AccessPolicy::ReadWrite)?;
        Ok(Invocation { mem, args: [INPUT_VADDR, len, 0] })
    }

    /// Maps the host's copy of `.data` read-write at [`DATA_VADDR`].
    ///
    /// # Errors
    /// [`MapError`] when it is already mapped or 4 GiB or larger.
    #[inline]
    pub fn data(&mut self, data: &'m mut [u8]) -> Result<&mut Self, MapError> {
        self.mem.map(DATA_VADDR, data, AccessPolicy::ReadWrite)?;
        Ok(self)
    }

    /// Maps `.rodata` read-only at [`RODATA_VADDR`].
    ///
    /// # Errors
    /// As [`Invocation::data`].
    #[inline]
    pub fn rodata(&mut self, rodata: &'m [u8]) -> Result<&mut Self, MapError> {
        self.mem.map_read_only(RODATA_VADDR, rodata)?;
        Ok(self)
    }

    /// A container's regions: its `.rodata` and `data`, the host's copy of
    /// its `.data` (see [`Script::init_data`]).
    ///
    /// # Errors
    /// As [`Invocation::data`].
    #[inline]
    pub fn script<B: Stable<u8>>(&mut self, script: &'m Script<B>, data: &'m mut [u8]) -> Result<&mut Self, MapError> {
        self.rodata(script.rodata())?.data(data)
    }

    /// Maps `context` read-only at `vaddr` (a free segment start) and puts
    /// its address in `r3`.
    ///
    /// # Errors
    /// [`MapError`] when `vaddr` is not a free segment start or the slice
    /// is 4 GiB or larger.
    #[inline]
    pub fn context(&mut self, vaddr: u64, context: &'m [u8]) -> Result<&mut Self, MapError> {
        self.mem.map_read_only(vaddr, context)?;
        self.args[2] = vaddr;
        Ok(self)
    }

    /// Maps `context` read-only at `vaddr` (a free segment start) and
    /// passes it the way Femto-Container's `bpf_execute_ctx` does: `r1` =
    /// its address, `r2` = its length (the input stays mapped, no register
    /// names it).
    ///
    /// # Errors
    /// As [`Invocation::context`].
    #[inline]
    pub fn context_first(&mut self, vaddr: u64, context: &'m [u8]) -> Result<&mut Self, MapError> {
        self.mem.map_read_only(vaddr, context)?;
        self.args[0] = vaddr;
        self.args[1] = context.len() as u64;
        Ok(self)
    }

    /// Maps `bytes` read-write at address 0 (segment 0, see
    /// [`MemoryMap::map_low`]), for scripts that keep 32-bit pointers into
    /// it (the Femto-Container convention's CoAP packet). A null pointer
    /// then names its first byte; everything outside it still faults.
    ///
    /// # Errors
    /// As [`MemoryMap::map_low`].
    #[inline]
    pub fn low_region(&mut self, bytes: &'m mut [u8]) -> Result<&mut Self, MapError> {
        self.mem.map_low(bytes, AccessPolicy::ReadWrite)?;
        Ok(self)
    }

    /// Maps `bytes` read-write at `vaddr` (a free segment start), with no
    /// register pointing to it: the program learns the address from the
    /// host's ABI (a context field, a bindings constant).
    ///
    /// # Errors
    /// As [`Invocation::context`].
    #[inline]
    pub fn region(&mut self, vaddr: u64, bytes: &'m mut [u8]) -> Result<&mut Self, MapError> {
        self.mem.map(vaddr, bytes, AccessPolicy::ReadWrite)?;
        Ok(self)
    }

    /// `r1..=r5` at the start of the run.
    #[inline]
    pub fn args(&self) -> [u64; 5] {
        let [r1, r2, r3] = self.args;
        [r1, r2, r3, 0, 0]
    }

    /// The regions mapped so far.
    #[inline]
    pub fn memory(&self) -> &MemoryMap<'m> {
        &self.mem
    }

    /// The regions, for a host that works on them outside a run (a
    /// native baseline calling helpers directly).
    #[inline]
    pub fn memory_mut(&mut self) -> &mut MemoryMap<'m> {
        &mut self.mem
    }
}

/// A verified program ready to run an [`Invocation`] on one engine: a
/// [`Program`] on the reference interpreter ([`crate::run`]), a
/// [`crate::fast::FastProgram`] (feature `fast`) on the fast engine, or an
/// [`Executable`], either, chosen at run time. A host whose engine is fixed
/// when it is built uses the engine's type directly, so that only that
/// engine is linked; both give the same results and faults, and differ
/// only in where a budget trap lands (`docs/isa.md`).
pub trait Runnable {
    /// The verified program (its entry points are valid on either engine).
    fn program(&self) -> Program<'_>;

    /// Runs from `entry` over the regions and arguments of `invocation`
    /// with at most `budget` instructions; `helpers` as the verifier was
    /// told (narrow a container's with [`Script::restrict`]).
    ///
    /// # Errors
    /// The [`Trap`] that ended the run.
    ///
    /// # Panics
    /// Never.
    fn run<H: Helpers + ?Sized, const N: usize>(
        &self,
        entry: Entry,
        invocation: &mut Invocation<'_, N>,
        helpers: &mut H,
        budget: u64,
    ) -> Result<Exit, Trap>;
}

/// Implements [`Runnable`] for one program type; the trait's `run`
/// signature is written here once. `program(this)` gives the verified
/// program; `run(this, entry, invocation, helpers, budget)` runs.
macro_rules! runnable {
    ($(#[$attr:meta])* impl[$($generics:tt)*] for $ty:ty {
        program($p:ident) $program:block
        $(#[$run_attr:meta])*
        run($r:ident, $entry:ident, $invocation:ident, $helpers:ident, $budget:ident) $run:block
    }) => {
        $(#[$attr])*
        impl<$($generics)*> Runnable for $ty {
            fn program(&self) -> Program<'_> {
                let $p = self;
                $program
            }

            $(#[$run_attr])*
            fn run<H: Helpers + ?Sized, const N: usize>(
                &self,
                $entry: Entry,
                $invocation: &mut Invocation<'_, N>,
                $helpers: &mut H,
                $budget: u64,
            ) -> Result<Exit, Trap> {
                let $r = self;
                $run
            }
        }
    };
}

runnable! {
    impl[] for Program<'_> {
        program(p) { *p }
        // Measured (`make bench-insns`, `make bench-cm4`): on a 64-bit host the
        // interpreter's loop compiled out of line runs Fletcher32 in 12 % fewer
        // instructions than folded into a host's dispatch; on the Cortex-M4
        // (opt-level "s") inlining is 9 % better.
        #[cfg_attr(target_pointer_width = "64", inline(never))]
        run(p, entry, invocation, helpers, budget) {
            crate::interp::run(p, entry, &invocation.args, &mut invocation.mem, helpers, budget)
        }
    }
}

runnable! {
    #[cfg(feature = "fast")]
    impl[] for crate::fast::FastProgram<'_, '_> {
        program(f) { *crate::fast::FastProgram::program(f) }
        run(f, entry, invocation, helpers, budget) {
            crate::fast::run_fast(f, entry, &invocation.args, &mut invocation.mem, helpers, budget)
        }
    }
}

runnable! {
    /// A script runs on the reference interpreter.
    impl[B: Stable<u8>] for Script<B> {
        program(s) { Script::program(s) }
        run(s, entry, invocation, helpers, budget) { Script::program(s).run(entry, invocation, helpers, budget) }
    }
}

runnable! {
    /// A translated script runs on the fast engine.
    #[cfg(feature = "fast")]
    impl[B: Stable<u8>, O: Stable<crate::fast::Op>] for crate::fast::FastScript<B, O> {
        program(s) { s.script().program() }
        run(s, entry, invocation, helpers, budget) {
            crate::fast::FastScript::program(s).run(entry, invocation, helpers, budget)
        }
    }
}

/// Either engine, chosen at run time (`alkyl run --engine`, the
/// benchmarks, the differential fuzz targets).
#[derive(Clone, Copy, Debug)]
pub enum Executable<'p, 'o> {
    Reference(Program<'p>),
    #[cfg(feature = "fast")]
    Fast(crate::fast::FastProgram<'p, 'o>),
    #[doc(hidden)]
    #[cfg(not(feature = "fast"))]
    _Ops(core::marker::PhantomData<&'o ()>, core::convert::Infallible),
}

runnable! {
    impl[] for Executable<'_, '_> {
        program(e) {
            match e {
                Executable::Reference(p) => *p,
                #[cfg(feature = "fast")]
                Executable::Fast(f) => Runnable::program(f),
                #[cfg(not(feature = "fast"))]
                Executable::_Ops(_, never) => match *never {},
            }
        }
        run(e, entry, invocation, helpers, budget) {
            match e {
                Executable::Reference(p) => p.run(entry, invocation, helpers, budget),
                #[cfg(feature = "fast")]
                Executable::Fast(f) => f.run(entry, invocation, helpers, budget),
                #[cfg(not(feature = "fast"))]
                Executable::_Ops(_, never) => match *never {},
            }
        }
    }
}

impl<'p> From<Program<'p>> for Executable<'p, '_> {
    fn from(program: Program<'p>) -> Self {
        Executable::Reference(program)
    }
}

#[cfg(feature = "fast")]
impl<'p, 'o> From<crate::fast::FastProgram<'p, 'o>> for Executable<'p, 'o> {
    fn from(program: crate::fast::FastProgram<'p, 'o>) -> Self {
        Executable::Fast(program)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::segment_vaddr;
    use crate::helper::NoHelpers;
    use crate::memory::FaultKind;
    use crate::trap::TrapKind;
    use crate::verify::verify;

    /// `stxb [r1], 7 ; mov r0, r2 ; add r0, r3 ; exit` (writes its input,
    /// returns length + context address).
    const WRITES_INPUT: [u8; 32] = [
        0x72, 0x01, 0, 0, 7, 0, 0, 0, // stb [r1+0], 7
        0xbf, 0x20, 0, 0, 0, 0, 0, 0, // mov r0, r2
        0x0f, 0x30, 0, 0, 0, 0, 0, 0, // add r0, r3
        0x95, 0, 0, 0, 0, 0, 0, 0, // exit
    ];

    /// Calls `each` with `code`, verified, on either engine.
    fn engines(code: &[u8], mut each: impl FnMut(Executable<'_, '_>)) {
        let program = verify(code, &NoHelpers).unwrap();
        each(Executable::from(program));
        #[cfg(feature = "fast")]
        {
            let mut ops = [crate::fast::Op::EMPTY; 4];
            each(Executable::from(crate::fast::translate(&program, &mut ops).unwrap()));
        }
    }

    /// Runs the main entry of `exe` over `inv`, without helpers.
    fn run_main<const N: usize>(exe: &Executable<'_, '_>, inv: &mut Invocation<'_, N>) -> Result<Exit, Trap> {
        exe.run(exe.program().main(), inv, &mut NoHelpers, 100)
    }

    #[test]
    fn femto_container_context_in_r1_and_32_bit_pointers_into_the_low_region() {
        // ldxw r2, [r1] ; stb [r2], 9 ; ldxb r0, [r2] ; exit
        const CODE: [u8; 32] = [
            0x61, 0x12, 0, 0, 0, 0, 0, 0, //
            0x72, 0x02, 0, 0, 9, 0, 0, 0, //
            0x71, 0x20, 0, 0, 0, 0, 0, 0, //
            0x95, 0, 0, 0, 0, 0, 0, 0,
        ];
        let ctx_at = segment_vaddr(6);
        engines(&CODE, |exe| {
            for (pointer, fits) in [(3u32, true), (4, false)] {
                let (mut stack, mut low) = ([0u8; 64], [0u8; 4]);
                let ctx = pointer.to_le_bytes();
                let run = {
                    let mut inv = Invocation::new(&mut stack, &[]).unwrap();
                    inv.low_region(&mut low).unwrap().context_first(ctx_at, &ctx).unwrap();
                    assert_eq!(inv.args(), [ctx_at, 4, 0, 0, 0]);
                    run_main(&exe, &mut inv)
                };
                match run {
                    Ok(exit) => assert!(fits && exit.r0 == 9 && low[3] == 9),
                    Err(trap) => {
                        assert!(!fits, "{trap}");
                        assert!(matches!(trap.kind, TrapKind::Memory(m) if m.kind == FaultKind::OutOfBounds), "{trap}");
                    }
                }
            }
        });
    }

    #[test]
    fn a_run_needs_only_the_slots_it_maps() {
        engines(&WRITES_INPUT, |exe| {
            let (mut stack, mut input) = ([0u8; 8], [1u8; 3]);
            let mut inv = Invocation::<3>::sized_writable(&mut stack, &mut input).unwrap();
            assert_eq!(inv.data(&mut []).unwrap_err(), MapError::BadAddress(DATA_VADDR));
            let exit = run_main(&exe, &mut inv).unwrap();
            assert_eq!(exit.r0, 3);
            let (mut stack, input) = ([0u8; 8], [1u8; 3]);
            let mut inv = Invocation::<3>::sized(&mut stack, &input).unwrap();
            let trap = run_main(&exe, &mut inv).unwrap_err();
            assert!(matches!(trap.kind, TrapKind::Memory(m) if m.kind == FaultKind::PolicyDenied), "{trap}");
        });
        let (mut stack, input) = ([0u8; 8], [0u8; 1]);
        assert_eq!(Invocation::<2>::sized(&mut stack, &input).unwrap_err(), MapError::BadAddress(INPUT_VADDR));
    }

    #[test]
    fn input_is_read_only_by_default() {
        engines(&WRITES_INPUT, |exe| {
            let (mut stack, input) = ([0u8; 64], [1u8; 3]);
            let mut inv = Invocation::new(&mut stack, &input).unwrap();
            assert_eq!(inv.args(), [INPUT_VADDR, 3, 0, 0, 0]);
            let trap = run_main(&exe, &mut inv).unwrap_err();
            assert!(matches!(trap.kind, TrapKind::Memory(m) if m.kind == FaultKind::PolicyDenied), "{trap}");
        });
    }

    #[test]
    fn writable_input_is_explicit_and_the_host_sees_the_write() {
        engines(&WRITES_INPUT, |exe| {
            let (mut stack, mut input) = ([0u8; 64], [1u8; 3]);
            {
                let mut inv = Invocation::with_writable_input(&mut stack, &mut input).unwrap();
                let exit = run_main(&exe, &mut inv).unwrap();
                assert_eq!(exit.r0, 3);
            }
            assert_eq!(input, [7, 1, 1]);
        });
    }

    #[test]
    fn context_goes_to_r3_and_segments_stay_distinct() {
        engines(&WRITES_INPUT, |exe| {
            let (mut stack, mut input, ctx, mut extra) = ([0u8; 64], [0u8; 2], [0u8; 8], [0u8; 4]);
            let mut inv = Invocation::with_writable_input(&mut stack, &mut input).unwrap();
            let ctx_at = segment_vaddr(6);
            inv.context(ctx_at, &ctx).unwrap().region(segment_vaddr(5), &mut extra).unwrap();
            assert_eq!(inv.args(), [INPUT_VADDR, 2, ctx_at, 0, 0]);
            assert!(inv.memory().region_len(segment_vaddr(5)).is_some());
            let exit = run_main(&exe, &mut inv).unwrap();
            assert_eq!(exit.r0, 2 + ctx_at);
        });
        let (mut stack, input, mut other) = ([0u8; 64], [0u8; 2], [0u8; 2]);
        let mut inv = Invocation::new(&mut stack, &input).unwrap();
        assert_eq!(inv.region(INPUT_VADDR, &mut other).unwrap_err(), MapError::Occupied(INPUT_VADDR));
    }
}
