//! A module builder: what a compiler (the Alkyl language, `lang/`) emits
//! IR through. Functions are built instruction by instruction with
//! symbolic labels; [`ModuleBuilder::finish`] sizes the jump immediates by
//! relaxation (as the text assembler does) and writes the binary module.
//!
//! The builder checks nothing beyond labels: the result goes through
//! [`super::validate`] like any module.

use alloc::string::String;
use alloc::vec::Vec;

use alkyl_vm::describe::{Describe, Sink};

use super::insn;
use super::module::{Function, FunctionKind, Global, Module, Profile};
use super::opcode::{ImmKind, Op};
use super::varint;
use super::width::Width;

/// A jump target inside one [`FunctionBuilder`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label(u32);

/// Why a module could not be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuildError {
    /// A jump names a label that was never bound (function name).
    UnboundLabel(String),
}

impl Describe for BuildError {
    fn describe(&self, out: &mut dyn Sink) {
        match self {
            BuildError::UnboundLabel(e) => ("function ", e, ": a jump to an unbound label").describe(out),
        }
    }
}

alkyl_vm::error_by_describe!(BuildError);

#[derive(Clone, Copy, Debug)]
enum Item {
    Op(Op, u64),
    Jump(Op, Label),
}

/// One function under construction.
#[derive(Clone, Debug)]
pub struct FunctionBuilder {
    pub kind: FunctionKind,
    pub name: String,
    pub params: Vec<Width>,
    items: Vec<Item>,
    /// Label → index of its `JUMPDEST` item.
    labels: Vec<Option<usize>>,
}

impl FunctionBuilder {
    pub fn new(kind: FunctionKind, name: &str, params: Vec<Width>) -> FunctionBuilder {
        FunctionBuilder { kind, name: String::from(name), params, items: Vec::new(), labels: Vec::new() }
    }

    /// Appends an instruction without an immediate (or with 0).
    pub fn op(&mut self, op: Op) {
        self.items.push(Item::Op(op, 0));
    }

    /// Appends an instruction with immediate `imm` (`PUSH`, `ARG`, `GLOAD`, …).
    pub fn op_imm(&mut self, op: Op, imm: u64) {
        self.items.push(Item::Op(op, imm));
    }

    /// A fresh, unbound label.
    pub fn new_label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() as u32 - 1)
    }

    /// Binds `label` here: appends its `JUMPDEST`.
    pub fn bind(&mut self, label: Label) {
        if let Some(slot) = self.labels.get_mut(label.0 as usize) {
            *slot = Some(self.items.len());
        }
        self.items.push(Item::Op(Op::Jumpdest, 0));
    }

    /// Appends `JUMP` or `JUMPI` to `label`.
    pub fn jump(&mut self, op: Op, label: Label) {
        self.items.push(Item::Jump(op, label));
    }

    /// Instructions appended so far.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The encoded code, jump immediates in their shortest form.
    ///
    /// # Errors
    /// A jump to an unbound label.
    pub fn code(&self) -> Result<Vec<u8>, BuildError> {
        let unbound = || BuildError::UnboundLabel(self.name.clone());
        let mut targets: Vec<Option<usize>> = Vec::with_capacity(self.items.len());
        for item in &self.items {
            targets.push(match item {
                Item::Jump(_, l) => Some(self.labels.get(l.0 as usize).copied().flatten().ok_or_else(unbound)?),
                Item::Op(..) => None,
            });
        }
        let offsets = insn::jump_layout(&targets, |i| match self.items[i] {
            Item::Op(op, imm) if op.imm_kind() != ImmKind::None => 1 + varint::encoded_len(imm) as u64,
            _ => 1,
        });
        let mut code = Vec::new();
        for (item, t) in self.items.iter().zip(&targets) {
            match (item, t) {
                (Item::Jump(op, _), Some(t)) => insn::encode(*op, offsets[*t], &mut code),
                (Item::Op(op, imm), _) => insn::encode(*op, *imm, &mut code),
                (Item::Jump(..), None) => return Err(unbound()),
            }
        }
        Ok(code)
    }
}

/// A module under construction.
#[derive(Clone, Debug, Default)]
pub struct ModuleBuilder {
    pub profile: Profile,
    /// Bytes of linear memory.
    pub memory_size: u32,
    pub globals: Vec<Global>,
    pub functions: Vec<FunctionBuilder>,
}

impl ModuleBuilder {
    pub fn new(profile: Profile) -> ModuleBuilder {
        ModuleBuilder { profile, ..ModuleBuilder::default() }
    }

    /// Adds a global; its index.
    pub fn global(&mut self, width: Width, init: u64) -> u32 {
        self.globals.push(Global { width, init: width.wrap(init) });
        self.globals.len() as u32 - 1
    }

    /// The binary module (not validated: run [`super::validate`] on it).
    ///
    /// # Errors
    /// A jump to an unbound label.
    pub fn finish(&self) -> Result<Vec<u8>, BuildError> {
        let codes = self.functions.iter().map(FunctionBuilder::code).collect::<Result<Vec<_>, _>>()?;
        let module = Module {
            memory_size: self.memory_size,
            globals: self.globals.clone(),
            functions: self
                .functions
                .iter()
                .zip(&codes)
                .map(|(f, code)| Function { kind: f.kind, name: &f.name, params: f.params.clone(), code })
                .collect(),
            profile: self.profile,
        };
        let mut out = Vec::new();
        module.emit(&mut out);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{validate, Module};
    use alloc::vec;

    #[test]
    fn builds_a_valid_loop() {
        let mut m = ModuleBuilder::new(Profile::Device);
        let g = m.global(Width::W32, 3);
        let mut f = FunctionBuilder::new(FunctionKind::Public, "count", vec![]);
        let (head, done) = (f.new_label(), f.new_label());
        f.bind(head);
        f.op_imm(Op::Gload, g as u64);
        f.op(Op::IsZero);
        f.jump(Op::Jumpi, done);
        f.op_imm(Op::Push, 1);
        f.op_imm(Op::Gload, g as u64);
        f.op(Op::Sub);
        f.op_imm(Op::Gstore, g as u64);
        f.jump(Op::Jump, head);
        f.bind(done);
        f.op(Op::Stop);
        m.functions.push(f);
        let bytes = m.finish().unwrap();
        validate(Module::parse(&bytes).unwrap()).unwrap();
    }

    #[test]
    fn unbound_label_is_an_error() {
        let mut f = FunctionBuilder::new(FunctionKind::Public, "f", vec![]);
        let l = f.new_label();
        f.jump(Op::Jump, l);
        assert!(f.code().is_err());
    }
}
