//! The reference interpreter: Alkyl IR executed straight from the
//! specification, one instruction at a time, on a stack of typed words.
//!
//! It is the oracle the translator is tested against, so it is written to
//! be obviously right rather than fast: every value carries its width, and
//! every rule the validator guarantees is checked again (a violation ends
//! the call with [`IrTrap::Malformed`] rather than a panic).
//!
//! State that outlives a call — linear memory and globals — lives in an
//! [`Instance`]. Everything beyond the module (the key-value store, the
//! clock, sensors and actuators) is an `alkyl_bindings::Platform`: the
//! same trait the VM's helpers (`AlkylHelpers`) run on, so the interpreter
//! and a translation share one model of the device ([`device`] gives the
//! syscalls their meaning over it).

mod device;

use alloc::vec;
use alloc::vec::Vec;

use alkyl_bindings::Platform;

use super::call::arg_offset;
use super::layout::DataLayout;
use super::module::Profile;
use super::opcode::Op;
use super::semantics;
use super::syscall::{self, ArgKind};
use super::trap::IrTrap;
use super::validate::Validated;
use super::width::Width;

/// The gateway's runtime of its syscalls ([`Instance::call`]): the
/// syscall and its arguments (first first) to its result or a trap.
pub type GatewayRuntime<'a> = dyn FnMut(&syscall::GatewaySyscall, &[u64]) -> Result<u64, IrTrap> + 'a;

/// The runtime of a caller without a gateway (a device, a test of device
/// code): every gateway syscall traps.
///
/// # Errors
/// Always [`IrTrap::Syscall`].
pub fn no_gateway(syscall: &syscall::GatewaySyscall, _args: &[u64]) -> Result<u64, IrTrap> {
    Err(IrTrap::Syscall { id: syscall.id })
}

/// A word on the stack: its width and its canonical value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Word {
    pub width: Width,
    pub value: u64,
}

/// The state of a module installed as app number `app` (the runtime's
/// numbering; it selects the local key-value namespace): linear memory and
/// globals, kept between calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    pub app: u32,
    pub memory: Vec<u8>,
    pub globals: Vec<Word>,
}

/// A completed call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Completion {
    /// The returned value, zero-extended (0 for `STOP`).
    pub value: u64,
    /// Instructions executed.
    pub steps: u64,
}

impl Instance {
    /// A fresh instance of `module` as app `app`: zeroed memory, globals at
    /// their initial values.
    pub fn new(module: &Validated<'_>, app: u32) -> Instance {
        let m = &module.module;
        Instance {
            app,
            memory: vec![0; m.memory_size as usize],
            globals: m.globals.iter().map(|g| Word { width: g.width, value: g.init }).collect(),
        }
    }

    /// The state as the translated program's `.data` holds it.
    pub fn data_image(&self, module: &Validated<'_>) -> Vec<u8> {
        let layout = DataLayout::of(&module.module);
        let mut image = vec![0u8; layout.size as usize];
        let base = layout.memory as usize;
        image[base..base + self.memory.len()].copy_from_slice(&self.memory);
        for (g, &off) in self.globals.iter().zip(&layout.globals) {
            let n = g.width.bytes() as usize;
            image[off as usize..off as usize + n].copy_from_slice(&g.value.to_le_bytes()[..n]);
        }
        image
    }

    /// Calls function `function` over the call input `input` (its
    /// arguments first: [`super::call`]) on `platform`, executing at most
    /// `fuel` instructions. `gateway` runs the gateway syscalls (the
    /// gateway's runtime): it gets the syscall and its arguments (first
    /// first, each at its width) and returns the result (ignored when the
    /// syscall has none) or the trap that ends the call; a device module's
    /// caller passes [`no_gateway`].
    ///
    /// # Errors
    /// The [`IrTrap`] that ended the call. Effects before it (memory,
    /// globals, storage, syscalls) are kept.
    ///
    /// # Panics
    /// Never.
    pub fn call<P: Platform + ?Sized>(
        &mut self,
        module: &Validated<'_>,
        function: usize,
        input: &[u8],
        platform: &mut P,
        fuel: u64,
        gateway: &mut GatewayRuntime<'_>,
    ) -> Result<Completion, IrTrap> {
        let f = module.module.functions.get(function).ok_or(IrTrap::Malformed)?;
        let body = module.bodies.get(function).ok_or(IrTrap::Malformed)?;
        let mut stack: Vec<Word> = Vec::new();
        let mut pc = 0usize;
        let mut steps = 0u64;
        loop {
            let s = body.steps.get(pc).ok_or(IrTrap::Malformed)?;
            if steps >= fuel {
                return Err(IrTrap::OutOfFuel);
            }
            steps += 1;
            pc += 1;
            let w = s.mode;
            let word = |value: u64| Word { width: w, value: w.wrap(value) };
            match s.op {
                Op::Stop => return Ok(Completion { value: 0, steps }),
                Op::Return => {
                    let v = pop(&mut stack)?;
                    return Ok(Completion { value: v.value, steps });
                }
                Op::Revert => {
                    let v = pop(&mut stack)?;
                    return Err(IrTrap::Revert(v.value as u16));
                }
                Op::Invalid => return Err(IrTrap::Invalid),
                Op::IsZero | Op::Not => {
                    let a = pop_w(&mut stack, w)?;
                    stack.push(word(semantics::unary(s.op, w, a).ok_or(IrTrap::Malformed)?));
                }
                Op::Zext | Op::Sext | Op::Trunc => {
                    let v = pop(&mut stack)?;
                    stack.push(word(semantics::convert(s.op, v.width, w, v.value).ok_or(IrTrap::Malformed)?));
                }
                Op::Pop => {
                    pop(&mut stack)?;
                }
                Op::Mload => {
                    let addr = pop(&mut stack)?.value;
                    let bytes = range(&self.memory, addr, w.bytes() as u64).ok_or(IrTrap::MemoryOutOfBounds)?;
                    stack.push(word(read_le(&self.memory[bytes])));
                }
                Op::Mstore | Op::Mstore8 => {
                    let addr = pop(&mut stack)?.value;
                    let value = pop_w(&mut stack, w)?;
                    let n = if s.op == Op::Mstore8 { 1 } else { w.bytes() as u64 };
                    let bytes = range(&self.memory, addr, n).ok_or(IrTrap::MemoryOutOfBounds)?;
                    let len = bytes.len();
                    self.memory[bytes].copy_from_slice(&value.to_le_bytes()[..len]);
                }
                Op::Inload => {
                    let addr = pop(&mut stack)?.value;
                    let bytes = range(input, addr, w.bytes() as u64).ok_or(IrTrap::InputOutOfBounds)?;
                    stack.push(word(read_le(&input[bytes])));
                }
                Op::Sload => {
                    // Cells are 32 bits; a 64-bit word spans cells k and k+1.
                    let key = pop_w(&mut stack, w)? as u32;
                    let lo = device::storage_load(platform, self.app, key) as u64;
                    let value = if w == Width::W64 {
                        lo | (device::storage_load(platform, self.app, key.wrapping_add(1)) as u64) << 32
                    } else {
                        lo
                    };
                    stack.push(word(value));
                }
                Op::Sstore => {
                    let key = pop_w(&mut stack, w)? as u32;
                    let value = pop_w(&mut stack, w)?;
                    if !device::storage_store(platform, self.app, key, value as u32) {
                        return Err(IrTrap::StorageFull);
                    }
                    if w == Width::W64
                        && !device::storage_store(platform, self.app, key.wrapping_add(1), (value >> 32) as u32)
                    {
                        return Err(IrTrap::StorageFull);
                    }
                }
                Op::Jump => pc = s.target as usize,
                Op::Jumpi => {
                    if pop(&mut stack)?.value != 0 {
                        pc = s.target as usize;
                    }
                }
                Op::Jumpdest | Op::Bits8 | Op::Bits16 | Op::Bits32 | Op::Bits64 => {}
                Op::Push0 => stack.push(word(0)),
                Op::Push => stack.push(Word { width: w, value: s.imm }),
                Op::Dup(n) => {
                    let v = *stack.len().checked_sub(n as usize).and_then(|i| stack.get(i)).ok_or(IrTrap::Malformed)?;
                    stack.push(v);
                }
                Op::Swap(n) => {
                    let top = stack.len().checked_sub(1).ok_or(IrTrap::Malformed)?;
                    let other = top.checked_sub(n as usize).ok_or(IrTrap::Malformed)?;
                    stack.swap(top, other);
                }
                Op::Arg => {
                    // Argument n: the low bytes of input slot n, in the parameter's width.
                    let pw = *f.params.get(s.imm as usize).ok_or(IrTrap::Malformed)?;
                    let bytes = range(input, arg_offset(s.imm), pw.bytes() as u64).ok_or(IrTrap::InputOutOfBounds)?;
                    stack.push(Word { width: pw, value: read_le(&input[bytes]) });
                }
                Op::Gload => stack.push(*self.globals.get(s.imm as usize).ok_or(IrTrap::Malformed)?),
                Op::Gstore => {
                    let g = self.globals.get_mut(s.imm as usize).ok_or(IrTrap::Malformed)?;
                    g.value = pop_w(&mut stack, g.width)?;
                }
                Op::Syscall if module.module.profile == Profile::Gateway && syscall::gateway_by_id(s.imm).is_some() => {
                    let sc = syscall::gateway_by_id(s.imm).ok_or(IrTrap::Malformed)?;
                    let mut args = [0u64; 5];
                    let n = sc.args.len();
                    for i in (0..n).rev() {
                        args[i] = pop_w(&mut stack, sc.args[i])?;
                    }
                    let r = gateway(sc, &args[..n])?;
                    if let Some(rw) = sc.result {
                        stack.push(Word { width: rw, value: rw.wrap(r) });
                    }
                }
                Op::Syscall => {
                    let sc = syscall::by_id(s.imm).ok_or(IrTrap::Malformed)?;
                    let mut args = [0u32; 5];
                    let n = sc.args.len();
                    for i in (0..n).rev() {
                        args[i] = pop_w(&mut stack, Width::W32)? as u32;
                    }
                    for (kind, &a) in sc.args.iter().zip(&args) {
                        if let ArgKind::MemPtr { len } = kind {
                            range(&self.memory, a as u64, *len as u64).ok_or(IrTrap::MemoryOutOfBounds)?;
                        }
                    }
                    let r = device::syscall(platform, self.app, sc, &args[..n], &mut self.memory)?;
                    stack.push(Word { width: Width::W32, value: r as u64 });
                }
                op => {
                    let a = pop_w(&mut stack, w)?;
                    let b = pop_w(&mut stack, w)?;
                    stack.push(word(semantics::binary(op, w, a, b).ok_or(IrTrap::Malformed)?));
                }
            }
        }
    }
}

fn pop(stack: &mut Vec<Word>) -> Result<Word, IrTrap> {
    stack.pop().ok_or(IrTrap::Malformed)
}

/// Pops a value that must have width `w`.
fn pop_w(stack: &mut Vec<Word>, w: Width) -> Result<u64, IrTrap> {
    match stack.pop() {
        Some(v) if v.width == w => Ok(v.value),
        _ => Err(IrTrap::Malformed),
    }
}

/// The index range `addr .. addr + n` of `bytes`, if it lies inside.
fn range(bytes: &[u8], addr: u64, n: u64) -> Option<core::ops::Range<usize>> {
    let end = addr.checked_add(n)?;
    if end > bytes.len() as u64 {
        return None;
    }
    Some(addr as usize..end as usize)
}

fn read_le(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b[..bytes.len()].copy_from_slice(bytes);
    u64::from_le_bytes(b)
}
