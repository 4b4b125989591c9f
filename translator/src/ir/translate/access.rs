//! Everything that reaches outside the value stack: linear memory and
//! globals (in `.data`), the call input, the key-value store and syscalls.

use alkyl_vm::isa::{alu, op};
use alkyl_vm::INPUT_VADDR;

use super::emit::{cond, Class};
use super::error::internal;
use super::frame::{Loc, FP, KV_SLOT, SCRATCH};
use super::function::{Lower, R};
use super::stack::{emit_move, Operand, Val};
use crate::ir::call::arg_offset;
use crate::ir::syscall::{self, ArgKind, FETCH_LOCAL, STORE_LOCAL};
use crate::ir::trap::IrTrap;
use crate::ir::width::Width;

impl Lower<'_> {
    fn memory_size(&self) -> u64 {
        self.module.module.memory_size as u64
    }

    /// `.data` offset of linear memory.
    fn memory_base(&self) -> u64 {
        self.layout.memory as u64
    }

    /// Traps unless `[addr, addr + n)` lies inside linear memory. For a
    /// constant address the check is decided now: `Ok(false)` means the
    /// access always traps (an unconditional jump to the stub was emitted).
    fn check_memory(&mut self, addr: &Operand, n: u64) -> R<bool> {
        let size = self.memory_size();
        match addr.val {
            Val::Imm(a) => {
                if a.checked_add(n).map_or(true, |end| end > size) {
                    let trap = self.trap(IrTrap::MemoryOutOfBounds);
                    self.e.ja(trap);
                    return Ok(false);
                }
            }
            _ => {
                let trap = self.trap(IrTrap::MemoryOutOfBounds);
                if size < n {
                    self.e.ja(trap);
                    return Ok(false);
                }
                let r = self.s.reg_of(self.e, addr)?;
                self.e.jcc_imm(Class::B64, cond::JGT, r, (size - n) as i32, trap);
            }
        }
        Ok(true)
    }

    /// `reg = address of memory[addr]` (a checked `addr`).
    fn memory_address(&mut self, reg: u8, addr: &Operand) -> R<()> {
        let base = self.memory_base();
        match addr.val {
            Val::Imm(a) => self.e.lddw(op::LDDW_DATA, reg, base + a),
            _ => {
                let r = self.s.reg_of(self.e, addr)?;
                self.e.lddw(op::LDDW_DATA, reg, base);
                self.e.alu(Class::B64, alu::ADD, reg, r);
            }
        }
        Ok(())
    }

    pub(super) fn mload(&mut self, w: Width) -> R<()> {
        let addr = self.s.pop()?;
        self.s.pin(&addr);
        let n = w.bytes();
        let t = if self.check_memory(&addr, n as u64)? {
            let pref = Some(super::frame::home(self.s.height()));
            let t = self.s.alloc_reg(self.e, pref)?;
            self.memory_address(t, &addr)?;
            self.e.load(n, t, t, 0);
            Val::At(Loc::Reg(t))
        } else {
            Val::Imm(0) // never reached: the access traps
        };
        self.s.release(addr);
        self.s.push(Operand { val: t, width: w });
        Ok(())
    }

    /// The register or immediate to store for `v` (`bytes` wide).
    fn store_source(&mut self, v: &Operand, bytes: u32) -> R<Result<u8, i32>> {
        if let Val::Imm(x) = v.val {
            if bytes < 8 || x as i64 == x as i32 as i64 {
                return Ok(Err(x as u32 as i32));
            }
        }
        Ok(Ok(self.s.reg_of(self.e, v)?))
    }

    fn store(&mut self, bytes: u32, base: u8, src: Result<u8, i32>) {
        match src {
            Ok(r) => self.e.store_reg(bytes, base, 0, r),
            Err(k) => self.e.store_imm(bytes, base, 0, k),
        }
    }

    pub(super) fn mstore(&mut self, op: crate::ir::Op, w: Width) -> R<()> {
        let addr = self.s.pop()?;
        let value = self.s.pop()?;
        self.s.pin(&addr);
        self.s.pin(&value);
        let n = if op == crate::ir::Op::Mstore8 { 1 } else { w.bytes() };
        if self.check_memory(&addr, n as u64)? {
            let src = self.store_source(&value, n)?;
            self.memory_address(SCRATCH, &addr)?;
            self.store(n, SCRATCH, src);
        }
        self.s.release(addr);
        self.s.release(value);
        Ok(())
    }

    pub(super) fn inload(&mut self, w: Width) -> R<()> {
        let addr = self.s.pop()?;
        self.input_load(w, addr)
    }

    /// `ARG n`: the parameter's width of bytes at input slot `n` (the
    /// calling convention, `crate::ir::call`): an `INLOAD` at a constant.
    pub(super) fn arg(&mut self, n: u64, w: Width) -> R<()> {
        self.input_load(w, Operand { val: Val::Imm(arg_offset(n)), width: Width::W64 })
    }

    /// Pushes the `w`-wide word at input offset `addr`.
    fn input_load(&mut self, w: Width, addr: Operand) -> R<()> {
        self.s.pin(&addr);
        let n = w.bytes();
        let pref = Some(super::frame::home(self.s.height()));
        let result = match addr.val {
            // Offsets below 2^32 stay inside the input segment, where the
            // VM's own region check decides; larger ones trap here.
            Val::Imm(a) if a > u32::MAX as u64 => {
                let trap = self.trap(IrTrap::InputOutOfBounds);
                self.e.ja(trap);
                Val::Imm(0)
            }
            Val::Imm(a) => {
                let t = self.s.alloc_reg(self.e, pref)?;
                self.e.lddw(op::LDDW, t, INPUT_VADDR + a);
                self.e.load(n, t, t, 0);
                Val::At(Loc::Reg(t))
            }
            _ => {
                let r = self.s.reg_of(self.e, &addr)?;
                if addr.width == Width::W64 {
                    let trap = self.trap(IrTrap::InputOutOfBounds);
                    self.e.alu(Class::B64, alu::MOV, SCRATCH, r);
                    self.e.alu_imm(Class::B64, alu::RSH, SCRATCH, 32);
                    self.e.jcc_imm(Class::B64, cond::JNE, SCRATCH, 0, trap);
                }
                let t = self.s.alloc_reg(self.e, pref)?;
                self.e.lddw(op::LDDW, t, INPUT_VADDR);
                self.e.alu(Class::B64, alu::ADD, t, r);
                self.e.load(n, t, t, 0);
                Val::At(Loc::Reg(t))
            }
        };
        self.s.release(addr);
        self.s.push(Operand { val: result, width: w });
        Ok(())
    }

    pub(super) fn gload(&mut self, g: usize) -> R<()> {
        let (w, off) = self.global(g)?;
        let pref = Some(super::frame::home(self.s.height()));
        let t = self.s.alloc_reg(self.e, pref)?;
        self.e.lddw(op::LDDW_DATA, t, off as u64);
        self.e.load(w.bytes(), t, t, 0);
        self.s.push(Operand { val: Val::At(Loc::Reg(t)), width: w });
        Ok(())
    }

    pub(super) fn gstore(&mut self, g: usize) -> R<()> {
        let (w, off) = self.global(g)?;
        let v = self.s.pop()?;
        self.s.pin(&v);
        let src = self.store_source(&v, w.bytes())?;
        self.e.lddw(op::LDDW_DATA, SCRATCH, off as u64);
        self.store(w.bytes(), SCRATCH, src);
        self.s.release(v);
        Ok(())
    }

    fn global(&self, g: usize) -> R<(Width, u32)> {
        let w = self.module.module.globals.get(g).map(|g| g.width);
        let off = self.layout.globals.get(g).copied();
        w.zip(off).ok_or_else(|| internal("no such global"))
    }

    /// `reg = low 32 bits of v` (zero-extended), `+ add` when non-zero.
    fn arg_low32(&mut self, reg: u8, v: &Operand, add: u32) {
        match v.val {
            Val::Imm(x) => self.e.load_imm(reg, (x as u32).wrapping_add(add) as u64),
            Val::At(Loc::Reg(r)) => {
                self.e.alu(Class::B32, alu::MOV, reg, r);
                if add != 0 {
                    self.e.alu_imm(Class::B32, alu::ADD, reg, add as i32);
                }
            }
            Val::At(Loc::Slot(s)) => {
                self.e.load(4, reg, FP, Loc::slot_offset(s));
                if add != 0 {
                    self.e.alu_imm(Class::B32, alu::ADD, reg, add as i32);
                }
            }
        }
    }

    /// `reg = high 32 bits of v`.
    fn arg_high32(&mut self, reg: u8, v: &Operand) {
        match v.val {
            Val::Imm(x) => self.e.load_imm(reg, x >> 32),
            Val::At(Loc::Reg(r)) => {
                self.e.alu(Class::B64, alu::MOV, reg, r);
                self.e.alu_imm(Class::B64, alu::RSH, reg, 32);
            }
            Val::At(Loc::Slot(s)) => self.e.load(4, reg, FP, Loc::slot_offset(s) + 4),
        }
    }

    fn call(&mut self, id: u32) {
        if let Err(i) = self.helpers.binary_search(&id) {
            self.helpers.insert(i, id);
        }
        self.e.call(id);
    }

    /// `SLOAD`: `fetch_local` of one cell (two for a 64-bit word). The
    /// helper writes 0 for an absent cell (Femto-Container semantics,
    /// `docs/helpers.md`), which is what `SLOAD` reads.
    pub(super) fn sload(&mut self, w: Width) -> R<()> {
        let mut key = self.s.pop()?;
        self.s.evict_for_call(self.e, &mut [&mut key])?;
        let halves = if w == Width::W64 { 2 } else { 1 };
        for h in 0..halves {
            let slot = KV_SLOT + h as u8;
            self.arg_low32(1, &key, h);
            self.e.frame_addr(2, Loc::slot_offset(slot));
            self.call(FETCH_LOCAL);
        }
        self.s.release(key);
        let pref = Some(super::frame::home(self.s.height()));
        let t = self.s.alloc_reg(self.e, pref)?;
        self.e.load(4, t, FP, Loc::slot_offset(KV_SLOT));
        if w == Width::W64 {
            self.e.load(4, SCRATCH, FP, Loc::slot_offset(KV_SLOT + 1));
            self.e.alu_imm(Class::B64, alu::LSH, SCRATCH, 32);
            self.e.alu(Class::B64, alu::OR, t, SCRATCH);
        } else if matches!(w, Width::W8 | Width::W16) {
            self.e.alu_imm(Class::B32, alu::AND, t, w.mask() as i32);
        }
        self.s.push(Operand { val: Val::At(Loc::Reg(t)), width: w });
        Ok(())
    }

    /// `SSTORE`: `store_local` of one cell (two for a 64-bit word, low
    /// first); a refusal traps.
    pub(super) fn sstore(&mut self, w: Width) -> R<()> {
        let mut key = self.s.pop()?;
        let mut value = self.s.pop()?;
        self.s.evict_for_call(self.e, &mut [&mut key, &mut value])?;
        let full = self.trap(IrTrap::StorageFull);
        let halves = if w == Width::W64 { 2 } else { 1 };
        for h in 0..halves {
            self.arg_low32(1, &key, h);
            if h == 0 {
                self.arg_low32(2, &value, 0);
            } else {
                self.arg_high32(2, &value);
            }
            self.call(STORE_LOCAL);
            self.e.jcc_imm(Class::B32, cond::JSLT, 0, 0, full);
        }
        self.s.release(key);
        self.s.release(value);
        Ok(())
    }

    /// `SYSCALL id`: arguments into `r1..`, buffers checked against linear
    /// memory, result pushed: the low 32 bits for a device syscall. In a
    /// gateway module, a gateway syscall (`syscall::GATEWAY_SYSCALLS`) is
    /// the helper of the same id, lowered the same way: each argument a
    /// plain word in its own width (a 64-bit value whole), the result (if
    /// any) in its width. Only a gateway's helper table has those ids, so a
    /// device's verifier refuses the container.
    pub(super) fn syscall(&mut self, id: u64) -> R<()> {
        const WORDS: [ArgKind; 5] = [ArgKind::Word; 5];
        let gateway = self.module.module.profile == crate::ir::module::Profile::Gateway;
        let (id, kinds, result) = match syscall::gateway_by_id(id).filter(|_| gateway) {
            Some(g) => (g.id, &WORDS[..g.args.len()], g.result),
            None => {
                let sc = syscall::by_id(id).ok_or_else(|| internal("unknown syscall"))?;
                (sc.id, sc.args, Some(Width::W32))
            }
        };
        let n = kinds.len();
        let mut args = [Operand { val: Val::Imm(0), width: Width::W32 }; 5];
        for i in (0..n).rev() {
            args[i] = self.s.pop()?;
        }
        {
            // The held arguments, without a `Vec` of references.
            let [a0, a1, a2, a3, a4] = &mut args;
            let mut refs = [a0, a1, a2, a3, a4];
            self.s.evict_for_call(self.e, refs.get_mut(..n).unwrap_or_default())?;
        }
        let mut reachable = true;
        for (i, kind) in kinds.iter().enumerate() {
            let reg = i as u8 + 1;
            let a = args[i];
            match *kind {
                ArgKind::Word => match a.val {
                    Val::Imm(x) => self.e.load_imm(reg, x),
                    Val::At(l) => emit_move(self.e, Loc::Reg(reg), l),
                },
                ArgKind::MemPtr { len } => {
                    let (size, len, base) = (self.memory_size(), len as u64, self.memory_base());
                    match a.val {
                        Val::Imm(x) if x + len <= size => self.e.lddw(op::LDDW_DATA, reg, base + x),
                        Val::At(l) if len <= size => {
                            let trap = self.trap(IrTrap::MemoryOutOfBounds);
                            emit_move(self.e, Loc::Reg(reg), l);
                            self.e.jcc_imm(Class::B64, cond::JGT, reg, (size - len) as i32, trap);
                            self.e.lddw(op::LDDW_DATA, SCRATCH, base);
                            self.e.alu(Class::B64, alu::ADD, reg, SCRATCH);
                        }
                        _ => {
                            let trap = self.trap(IrTrap::MemoryOutOfBounds);
                            self.e.ja(trap);
                            reachable = false;
                        }
                    }
                }
            }
            if !reachable {
                break;
            }
        }
        for a in args.iter().take(n) {
            self.s.release(*a);
        }
        if !reachable {
            if let Some(width) = result {
                self.s.push(Operand { val: Val::Imm(0), width });
            }
            return Ok(());
        }
        self.call(id);
        if let Some(width) = result {
            let pref = Some(super::frame::home(self.s.height()));
            let t = self.s.alloc_reg(self.e, pref)?;
            let class = if width == Width::W64 { Class::B64 } else { Class::B32 };
            self.e.alu(class, alu::MOV, t, SCRATCH);
            if matches!(width, Width::W8 | Width::W16) {
                self.e.alu_imm(Class::B32, alu::AND, t, width.mask() as i32);
            }
            self.s.push(Operand { val: Val::At(Loc::Reg(t)), width });
        }
        Ok(())
    }
}
