//! A verified container, ready to run: what a host needs to map its regions
//! and call its named entry points.

use crate::abi::{DATA_VADDR, RODATA_VADDR, STACK_SIZE};
use crate::helper::{HelperError, HelperSet, Helpers};
use crate::memory::{AccessPolicy, MapError, MemoryMap};
use crate::storage::Stable;
use crate::verify::{verify_stack, Entry, Program};

use super::error::LoadError;
use super::wire::{Container, Function, HelperIds};

/// A container whose `.text` passed verification and whose every function
/// starts on an instruction: verified once, at [`Script::load`], and then
/// kept — the container in storage `B` of the host's choosing (a borrowed
/// slice, or with feature `alloc` an owned `Vec`/`Box`), the verified
/// program as offsets into it — so a host that owns its scripts (a device's
/// app store) needs no self-referential record and never verifies again.
///
/// ```
/// # use alkyl_vm::container::Script;
/// # use alkyl_vm::{Invocation, NoHelpers, Runnable};
/// # fn demo(bytes: &[u8]) -> Result<u64, Box<dyn std::error::Error>> {
/// let script = Script::load(bytes, &NoHelpers)?;
/// let mut data = [0u8; 64]; // host-owned copy of .data (script.data_size() bytes)
/// let data = &mut data[..script.data_size()];
/// script.init_data(data);
/// let mut stack = [0u8; 512];
/// let mut run = Invocation::new(&mut stack, &[])?;
/// run.script(&script, data)?;
/// let entry = script.entry(b"main").unwrap_or(script.program().main());
/// let exit = script.run(entry, &mut run, &mut script.restrict(&mut NoHelpers), 10_000)?;
/// # Ok(exit.r0) }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Script<B: Stable<u8>> {
    container: Container<B>,
    /// What [`verify`] found, kept so the program can be handed out again
    /// without verifying (the storage is [`Stable`]: its bytes are the
    /// ones verified).
    frame_size: u32,
}

/// The helpers both the host and (when it declares any) the container allow.
#[derive(Clone, Copy, Debug)]
struct Allowed<'h, 'a, S: ?Sized> {
    host: &'h S,
    declared: Option<HelperIds<'a>>,
}

impl<S: HelperSet + ?Sized> HelperSet for Allowed<'_, '_, S> {
    fn contains(&self, id: u32) -> bool {
        self.host.contains(id) && self.declared.map_or(true, |d| d.contains(id))
    }
}

/// The host's helpers narrowed to the ones the container declares; pass it
/// to [`crate::run`] so that `callx` cannot reach an undeclared helper either.
#[derive(Debug)]
pub struct Restricted<'h, 'a, H: ?Sized> {
    host: &'h mut H,
    declared: Option<HelperIds<'a>>,
}

impl<H: HelperSet + ?Sized> HelperSet for Restricted<'_, '_, H> {
    fn contains(&self, id: u32) -> bool {
        self.host.contains(id) && self.declared.map_or(true, |d| d.contains(id))
    }
}

impl<H: Helpers + ?Sized> Helpers for Restricted<'_, '_, H> {
    fn call(&mut self, id: u32, args: [u64; 5], mem: &mut MemoryMap<'_>) -> Result<u64, HelperError> {
        if !self.contains(id) {
            return Err(HelperError::Unknown(id));
        }
        self.host.call(id, args, mem)
    }
}

impl<B: Stable<u8>> Script<B> {
    /// Parses and checks the container, then verifies `.text` allowing the
    /// helpers in `host` that the container also declares (all of `host`'s
    /// when it declares none), with its declared stack
    /// ([`crate::verify_stack`]; [`STACK_SIZE`] when it declares none).
    ///
    /// # Errors
    /// [`LoadError`]: the container's broken rule, the verifier's, or a
    /// function that starts inside an `lddw`.
    pub fn load<S: HelperSet + ?Sized>(bytes: B, host: &S) -> Result<Script<B>, LoadError> {
        let container = Container::new_checked(bytes)?;
        let stack = container.stack_size().unwrap_or(STACK_SIZE as u32);
        let allowed = Allowed { host, declared: container.declared_helpers() };
        let program = verify_stack(container.text(), &allowed, stack)?;
        for (index, f) in container.functions().enumerate() {
            if program.entry(f.pc()).is_err() {
                return Err(LoadError::BadEntry { index: index as u16 });
            }
        }
        let frame_size = program.frame_size();
        Ok(Script { container, frame_size })
    }

    /// The verified program (cheap: no verification, the stored result).
    pub fn program(&self) -> Program<'_> {
        Program::verified(self.container.text(), self.frame_size)
    }

    /// The container view (header fields, function table).
    pub fn container(&self) -> &Container<B> {
        &self.container
    }

    /// The storage, given back.
    pub fn into_inner(self) -> B {
        self.container.into_inner()
    }

    /// The application version from the header.
    pub fn version(&self) -> u32 {
        self.container.version()
    }

    /// The entry point named `name`.
    pub fn entry(&self, name: &[u8]) -> Option<Entry> {
        self.container.find_function(name).and_then(|f| self.program().entry(f.pc()).ok())
    }

    /// Every named entry point, in table order.
    pub fn entries(&self) -> impl Iterator<Item = (Function<'_>, Entry)> + '_ {
        let program = self.program();
        self.container.functions().filter_map(move |f| Some((f, program.entry(f.pc()).ok()?)))
    }

    /// Bytes of the `.data` region: initialised `.data` plus `.bss`.
    pub fn data_size(&self) -> usize {
        self.data().len() + self.container.bss_len() as usize
    }

    /// Initial `.data` bytes (without `.bss`).
    pub fn data(&self) -> &[u8] {
        self.container.data()
    }

    /// `.rodata`, mapped read-only.
    pub fn rodata(&self) -> &[u8] {
        self.container.rodata()
    }

    /// How a host passes it a CoAP request (its trailer's declaration).
    pub fn convention(&self) -> super::Convention {
        self.container.convention()
    }

    /// Stack bytes the script needs: its declaration, else [`STACK_SIZE`]
    /// (never more). A host maps a stack of exactly this size: the
    /// verifier checked the statically known accesses against it, the
    /// region bounds every other one.
    pub fn stack_size(&self) -> usize {
        self.container.stack_size().map_or(STACK_SIZE, |s| s as usize)
    }

    /// The helpers the container declares (`None`: it declares none, so the
    /// host's set alone applies).
    pub fn declared_helpers(&self) -> Option<HelperIds<'_>> {
        self.container.declared_helpers()
    }

    /// Fills `dst` with the initial `.data` and zeroes the `.bss` part.
    /// Copies `min(dst.len(), data)` bytes; a `dst` of [`Script::data_size`]
    /// bytes is exactly initialised.
    pub fn init_data(&self, dst: &mut [u8]) {
        let data = self.data();
        let n = dst.len().min(data.len());
        dst[..n].copy_from_slice(&data[..n]);
        dst[n..].fill(0);
    }

    /// Maps `.rodata` read-only at [`RODATA_VADDR`] and the host-owned
    /// `.data` copy read-write at [`DATA_VADDR`].
    ///
    /// # Errors
    /// [`MapError`] when those segments are already mapped.
    pub fn map<'m>(&'m self, mem: &mut MemoryMap<'m>, data: &'m mut [u8]) -> Result<(), MapError> {
        mem.map_read_only(RODATA_VADDR, self.rodata())?;
        mem.map(DATA_VADDR, data, AccessPolicy::ReadWrite)
    }

    /// Narrows `host` to the helpers this script may call, for a run.
    pub fn restrict<'h, H: Helpers + ?Sized>(&self, host: &'h mut H) -> Restricted<'h, '_, H> {
        Restricted { host, declared: self.declared_helpers() }
    }
}

impl<'a> Script<&'a [u8]> {
    /// The verified program, borrowing the container's bytes for their
    /// own lifetime rather than the script's.
    pub fn borrowed_program(&self) -> Program<'a> {
        Program::verified(self.container.parts().text, self.frame_size)
    }
}
