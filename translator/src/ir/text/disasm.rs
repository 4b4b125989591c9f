//! The disassembler: module bytes → text that assembles back to them.

use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::String;
use core::fmt::Write;

use crate::ir::insn::{self, Insn};
use crate::ir::module::{IrError, Module, Profile};
use crate::ir::opcode::{ImmKind, Op};
use crate::ir::syscall;

/// Prints a module as assembler text. Globals are named `g0`, `g1`, …;
/// jump targets that are instruction starts get labels `L<offset>`; bytes
/// that do not decode are printed as `.byte`.
///
/// # Errors
/// The module's structure is malformed ([`Module::parse`]).
///
/// # Panics
/// Never.
pub fn disassemble(bytes: &[u8]) -> Result<String, IrError> {
    let module = Module::parse(bytes)?;
    let mut out = String::new();
    // Writing to a String cannot fail.
    if module.profile == Profile::Gateway {
        out.push_str(".gateway\n");
    }
    let _ = writeln!(out, ".memory {}", module.memory_size);
    for (i, g) in module.globals.iter().enumerate() {
        let _ = writeln!(out, ".global g{i} {} {}", g.width, number(g.init));
    }
    for f in &module.functions {
        let _ = write!(out, "\n.{} {}", f.kind.keyword(), f.name);
        for p in &f.params {
            let _ = write!(out, " {p}");
        }
        out.push('\n');
        let insns = decode_all(f.code);
        let starts: BTreeSet<u32> = insns.iter().filter_map(|i| i.ok().map(|i| i.pos)).collect();
        let targets: BTreeSet<u32> = insns
            .iter()
            .filter_map(|i| i.ok())
            .filter(|i| i.op.imm_kind() == ImmKind::Target)
            .filter_map(|i| u32::try_from(i.imm).ok())
            .filter(|t| starts.contains(t))
            .collect();
        for item in &insns {
            match item {
                Ok(i) => {
                    if targets.contains(&i.pos) {
                        let _ = writeln!(out, "L{}:", i.pos);
                    }
                    let _ = writeln!(out, "    {}", format_insn(i, &targets, module.globals.len()));
                }
                Err(b) => {
                    let _ = writeln!(out, "    .byte {b:#04x}");
                }
            }
        }
    }
    Ok(out)
}

/// Decodes a body linearly; a byte that does not start a well-formed
/// instruction (a broken immediate) is returned as `Err(byte)`.
fn decode_all(code: &[u8]) -> alloc::vec::Vec<Result<Insn, u8>> {
    let mut out = alloc::vec::Vec::new();
    let mut pos = 0;
    while let Some(d) = insn::decode(code, pos) {
        match d {
            Ok(i) => {
                pos += i.len as usize;
                out.push(Ok(i));
            }
            Err(_) => {
                out.push(Err(code[pos]));
                pos += 1;
            }
        }
    }
    out
}

fn format_insn(i: &Insn, targets: &BTreeSet<u32>, globals: usize) -> String {
    match i.op.imm_kind() {
        ImmKind::None => format!("{}", i.op),
        ImmKind::Target => match u32::try_from(i.imm) {
            Ok(t) if targets.contains(&t) => format!("{} L{t}", i.op),
            _ => format!("{} {}", i.op, i.imm),
        },
        ImmKind::Value => match i.op {
            Op::Gload | Op::Gstore if i.imm < globals as u64 => {
                format!("{} g{}", i.op, i.imm)
            }
            Op::Syscall => match (syscall::by_id(i.imm), syscall::gateway_by_id(i.imm)) {
                (Some(s), _) => format!("{} {}", i.op, s.name),
                (None, Some(g)) => format!("{} {}", i.op, g.name),
                (None, None) => format!("{} {}", i.op, number(i.imm)),
            },
            _ => format!("{} {}", i.op, number(i.imm)),
        },
    }
}

fn number(v: u64) -> String {
    if v < 0x1_0000 {
        format!("{v}")
    } else {
        format!("{v:#x}")
    }
}
