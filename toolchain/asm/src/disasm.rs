//! The disassembler: bytecode → text that [`assemble`](super::assemble)
//! turns back into the same bytes.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::fmt::{self, Write};

use alkyl_vm::isa::{op, source, Insn, INSN_SIZE};

use super::asm::RAW;
use super::error::DisasmError;
use super::mnemonic::{self, Mnemonic, Shape};
use super::syntax::{Mem, Reg, Source, Target};

/// Prints `code` as assembler text, one instruction per line, with a label
/// (`L<slot>:`, or `fn<slot>:` for local-call targets) before every slot
/// that a jump or local call targets. Targets outside the program or inside
/// a wide instruction are printed as numeric offsets (`+N`, `-N`). A slot
/// without a text form (unknown opcode, a non-zero unused field, a register
/// above `r10`, an `lddw` without its second slot) is printed as
/// `.raw 0x<slot as little-endian u64>`.
///
/// `assemble(&disassemble(code)?) == code` for every `code`.
///
/// # Errors
///
/// [`DisasmError::PartialSlot`] when `code.len()` is not a multiple of 8.
///
/// # Panics
///
/// Never.
pub fn disassemble(code: &[u8]) -> Result<String, DisasmError> {
    disassemble_named(code, &[])
}

/// As [`disassemble`], with `names` (instruction index, name) as the
/// labels of those instructions: a container's or an object's functions,
/// so that local calls read `call NAME`. A name that is not a valid label
/// is written as a comment above the instruction instead.
///
/// # Errors
/// As [`disassemble`].
pub fn disassemble_named(code: &[u8], names: &[(usize, &str)]) -> Result<String, DisasmError> {
    let partial = code.len() % INSN_SIZE;
    if partial != 0 {
        return Err(DisasmError::PartialSlot { offset: code.len() - partial, len: partial });
    }
    let slots: Vec<Insn> = code
        .chunks_exact(INSN_SIZE)
        .filter_map(|chunk| <&[u8; INSN_SIZE]>::try_from(chunk).ok())
        .map(Insn::decode)
        .collect();

    // Group the slots into lines.
    let mut lines = Vec::with_capacity(slots.len());
    let mut starts_line = vec![false; slots.len() + 1];
    let mut pc = 0;
    while let Some(insn) = slots.get(pc) {
        let line = Line::decode(pc, insn, slots.get(pc + 1));
        starts_line[pc] = true;
        pc += line.width();
        lines.push(line);
    }
    // The end of the program is a valid target (a label after the last line).
    starts_line[slots.len()] = true;

    // Name the targets that are line starts.
    let mut labels: Vec<Option<String>> = vec![None; slots.len() + 1];
    for line in &lines {
        let Some((target, is_call)) = line.target() else { continue };
        let Some(label) = usize::try_from(target).ok().filter(|&t| starts_line.get(t) == Some(&true)) else {
            continue;
        };
        let name = &mut labels[label];
        if is_call {
            *name = Some(format!("fn{label}"));
        } else if name.is_none() {
            *name = Some(format!("L{label}"));
        }
    }
    let mut comments: Vec<Option<&str>> = vec![None; slots.len() + 1];
    for &(pc, name) in names {
        match (labels.get_mut(pc), starts_line.get(pc) == Some(&true)) {
            (Some(label), true) if crate::syntax::is_label(name) && name != "exit" => *label = Some(name.to_string()),
            (Some(_), true) => comments[pc] = Some(name),
            _ => {}
        }
    }

    let mut out = String::new();
    for line in &lines {
        let target = line.target().and_then(|(target, _)| {
            let name = labels.get(usize::try_from(target).ok()?)?.as_deref()?;
            Some(Target::Label(name))
        });
        if let Some(name) = comments[line.pc] {
            let _ = writeln!(out, "# {name}");
        }
        if let Some(name) = &labels[line.pc] {
            // Writing to a `String` cannot fail.
            let _ = writeln!(out, "{name}:");
        }
        let _ = writeln!(out, "{}", line.text(target));
    }
    if let Some(name) = &labels[slots.len()] {
        let _ = writeln!(out, "{name}:");
    }
    Ok(out)
}

/// Prints one instruction, with numeric jump offsets. `next` is the slot
/// after `insn`; when `insn` is an `lddw` and `next` its second slot, the
/// text covers both. Without `next`, an `lddw` prints as `.raw`.
///
/// # Panics
///
/// Never.
pub fn format_insn(insn: &Insn, next: Option<&Insn>) -> String {
    Line::decode(0, insn, next).text(None).to_string()
}

/// One line of a listing: an instruction with a text form, or a raw slot.
struct Line {
    pc: usize,
    insn: Insn,
    /// The row of `insn`, or `None` for a raw slot.
    mnemonic: Option<&'static Mnemonic>,
    /// Upper half of a wide immediate.
    imm_hi: i32,
}

impl Line {
    fn decode(pc: usize, insn: &Insn, next: Option<&Insn>) -> Line {
        let mut line = Line { pc, insn: *insn, mnemonic: mnemonic::by_insn(insn), imm_hi: 0 };
        if line.mnemonic.is_some_and(|m| m.shape == Shape::Wide) {
            match next.filter(|next| mnemonic::is_wide_tail(next)) {
                Some(next) => line.imm_hi = next.imm,
                None => line.mnemonic = None,
            }
        }
        line
    }

    /// Slots this line occupies.
    fn width(&self) -> usize {
        match self.mnemonic {
            Some(m) if m.shape == Shape::Wide => 2,
            _ => 1,
        }
    }

    /// The slot this line jumps to or calls (which may lie outside the
    /// program), and whether it is a call.
    fn target(&self) -> Option<(i64, bool)> {
        let m = self.mnemonic?;
        let delta = match m.shape {
            Shape::Jump | Shape::Branch => i64::from(self.insn.off),
            Shape::JumpWide => i64::from(self.insn.imm),
            _ => return None,
        };
        let is_call = self.insn.opc == op::CALL;
        // pc < 2^61 (a byte slice), so this cannot overflow.
        Some((self.pc as i64 + 1 + delta, is_call))
    }

    /// The text of this line; `label` replaces a numeric jump offset.
    fn text<'a>(&'a self, label: Option<Target<'a>>) -> Text<'a> {
        Text { line: self, label }
    }
}

struct Text<'a> {
    line: &'a Line,
    label: Option<Target<'a>>,
}

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let insn = &self.line.insn;
        let Some(m) = self.line.mnemonic else {
            return write!(f, "{RAW} {:#018x}", u64::from_le_bytes(insn.encode()));
        };
        let name = m.name;
        let dst = Reg(insn.dst);
        let source = if insn.opc & source::X != 0 { Source::Reg(insn.src) } else { Source::Imm(insn.imm) };
        let target = |offset: i32| self.label.unwrap_or(Target::Offset(offset));
        match m.shape {
            Shape::Alu => write!(f, "{name} {dst}, {source}"),
            Shape::AluReg => write!(f, "{name} {dst}, {}", Reg(insn.src)),
            Shape::AluUnary => write!(f, "{name} {dst}"),
            Shape::Wide => {
                let imm = u64::from(insn.imm as u32) | u64::from(self.line.imm_hi as u32) << 32;
                write!(f, "{name} {dst}, {imm:#x}")
            }
            Shape::Load => write!(f, "{name} {dst}, {}", Mem(insn.src, insn.off)),
            Shape::StoreImm => write!(f, "{name} {}, {}", Mem(insn.dst, insn.off), insn.imm),
            Shape::StoreReg => write!(f, "{name} {}, {}", Mem(insn.dst, insn.off), Reg(insn.src)),
            Shape::Jump => write!(f, "{name} {}", target(i32::from(insn.off))),
            Shape::JumpWide => write!(f, "{name} {}", target(insn.imm)),
            Shape::Branch => write!(f, "{name} {dst}, {source}, {}", target(i32::from(insn.off))),
            Shape::Call if insn.opc & source::X != 0 => write!(f, "{name} {dst}"),
            Shape::Call => write!(f, "{name} {}", insn.imm),
            Shape::Bare => f.write_str(name),
        }
    }
}
