//! The assembler: text → bytecode, in two passes (encode every line, then
//! patch the label references).

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use alkyl_vm::isa::{source, Insn, INSN_SIZE};

use super::error::{AsmError, AsmErrorKind};
use super::mnemonic::{self, Mnemonic, Shape};
use super::syntax::{self, Source, Target};

/// The directive that emits one slot verbatim (see the module docs).
pub(super) const RAW: &str = ".raw";

/// Longest mnemonic, in words (`lock fetch add`).
const MAX_MNEMONIC_WORDS: usize = 3;

/// Assembles `source` into little-endian bytecode, 8 bytes per slot.
///
/// # Errors
///
/// The first line that is not valid, with the reason: see [`AsmErrorKind`].
/// Label references are checked after every line is read, so an undefined
/// or too distant label is reported after syntax errors on later lines.
///
/// # Panics
///
/// Never.
pub fn assemble(source: &str) -> Result<Vec<u8>, AsmError> {
    let mut program = Program::default();
    for (index, text) in source.lines().enumerate() {
        let line = index + 1;
        program.line(line, text).map_err(|kind| AsmError { line, kind })?;
    }
    program.finish()
}

/// A label reference waiting for the label's address.
struct Fixup<'a> {
    line: usize,
    slot: usize,
    label: &'a str,
    /// True when the offset goes in `imm` (32 bits), false for `off`.
    wide: bool,
}

#[derive(Default)]
struct Program<'a> {
    slots: Vec<Insn>,
    /// Label → (slot, line of definition).
    labels: BTreeMap<&'a str, (usize, usize)>,
    fixups: Vec<Fixup<'a>>,
    /// The first `exit` instruction, the target of an undefined `exit` label.
    first_exit: Option<usize>,
}

impl<'a> Program<'a> {
    fn line(&mut self, line: usize, text: &'a str) -> Result<(), AsmErrorKind> {
        let mut rest = text.split_once('#').map_or(text, |(code, _comment)| code).trim();
        // Labels: `name:` before the instruction, on its own or not.
        while let Some((word, after)) = split_word(rest) {
            let Some(name) = word.strip_suffix(':') else { break };
            if !syntax::is_label(name) {
                return Err(AsmErrorKind::InvalidLabel(name.to_string()));
            }
            if let Some(&(_, first_line)) = self.labels.get(name) {
                return Err(AsmErrorKind::DuplicateLabel { name: name.to_string(), first_line });
            }
            self.labels.insert(name, (self.slots.len(), line));
            rest = after;
        }
        if rest.is_empty() {
            return Ok(());
        }
        if rest.starts_with('.') {
            return self.directive(rest);
        }

        let (mnemonic, operand_text) = find_mnemonic(rest)?;
        let operands = split_operands(operand_text)?;
        let expected = mnemonic.shape.arity();
        if operands.len() != expected {
            return Err(AsmErrorKind::OperandCount { mnemonic: mnemonic.name, expected, found: operands.len() });
        }
        if mnemonic.shape == Shape::Bare && mnemonic.name == "exit" && self.first_exit.is_none() {
            self.first_exit = Some(self.slots.len());
        }
        self.encode(line, mnemonic, &operands)
    }

    fn directive(&mut self, text: &str) -> Result<(), AsmErrorKind> {
        let (name, operand_text) = split_word(text).unwrap_or((text, ""));
        if name != RAW {
            return Err(AsmErrorKind::UnknownMnemonic(name.to_string()));
        }
        let operands = split_operands(operand_text)?;
        let [value] = operands[..] else {
            return Err(AsmErrorKind::OperandCount { mnemonic: RAW, expected: 1, found: operands.len() });
        };
        let slot = syntax::parse_u64(value)?.to_le_bytes();
        self.slots.push(Insn::decode(&slot));
        Ok(())
    }

    /// Appends the instruction `mnemonic operands`, whose operand count
    /// has been checked.
    fn encode(&mut self, line: usize, mnemonic: &'static Mnemonic, ops: &[&'a str]) -> Result<(), AsmErrorKind> {
        let mut insn = mnemonic.base(false);
        let mut tail = None;
        match mnemonic.shape {
            Shape::Alu | Shape::Branch => {
                insn.dst = syntax::parse_reg(ops[0])?;
                match syntax::parse_source(ops[1])? {
                    Source::Reg(reg) => {
                        insn.opc |= source::X;
                        insn.src = reg;
                    }
                    Source::Imm(imm) => insn.imm = imm,
                }
                if mnemonic.shape == Shape::Branch {
                    insn.off = self.target16(line, ops[2])?;
                }
            }
            Shape::AluReg => {
                insn.dst = syntax::parse_reg(ops[0])?;
                insn.src = syntax::parse_reg(ops[1])?;
            }
            Shape::AluUnary => insn.dst = syntax::parse_reg(ops[0])?,
            Shape::Wide => {
                insn.dst = syntax::parse_reg(ops[0])?;
                let imm = syntax::parse_imm64(ops[1])?;
                // Truncation is the point: the two halves of the immediate.
                insn.imm = imm as u32 as i32;
                tail = Some(Insn::new(0, 0, 0, 0, (imm >> 32) as u32 as i32));
            }
            Shape::Load => {
                insn.dst = syntax::parse_reg(ops[0])?;
                (insn.src, insn.off) = syntax::parse_mem(ops[1])?;
            }
            Shape::StoreImm => {
                (insn.dst, insn.off) = syntax::parse_mem(ops[0])?;
                insn.imm = syntax::parse_imm32(ops[1])?;
            }
            Shape::StoreReg => {
                (insn.dst, insn.off) = syntax::parse_mem(ops[0])?;
                insn.src = syntax::parse_reg(ops[1])?;
            }
            Shape::Jump => insn.off = self.target16(line, ops[0])?,
            Shape::JumpWide => insn.imm = self.target32(line, ops[0])?,
            Shape::Call => match syntax::parse_source(ops[0])? {
                Source::Reg(reg) => {
                    insn.opc |= source::X;
                    insn.dst = reg;
                }
                Source::Imm(imm) => insn.imm = imm,
            },
            Shape::Bare => {}
        }
        self.slots.push(insn);
        self.slots.extend(tail);
        Ok(())
    }

    /// A 16-bit jump offset, or 0 and a fixup for a label.
    fn target16(&mut self, line: usize, text: &'a str) -> Result<i16, AsmErrorKind> {
        match syntax::parse_target(text, 16)? {
            Target::Offset(offset) => {
                i16::try_from(offset).map_err(|_| AsmErrorKind::OffsetOutOfRange(text.to_string()))
            }
            Target::Label(label) => {
                self.fixups.push(Fixup { line, slot: self.slots.len(), label, wide: false });
                Ok(0)
            }
        }
    }

    /// A 32-bit jump offset, or 0 and a fixup for a label.
    fn target32(&mut self, line: usize, text: &'a str) -> Result<i32, AsmErrorKind> {
        match syntax::parse_target(text, 32)? {
            Target::Offset(offset) => Ok(offset),
            Target::Label(label) => {
                self.fixups.push(Fixup { line, slot: self.slots.len(), label, wide: true });
                Ok(0)
            }
        }
    }

    /// Patches the label references and emits the bytes.
    fn finish(mut self) -> Result<Vec<u8>, AsmError> {
        for fixup in &self.fixups {
            let error = |kind| AsmError { line: fixup.line, kind };
            let target = match self.labels.get(fixup.label) {
                Some(&(slot, _)) => Some(slot),
                None if fixup.label == "exit" => self.first_exit,
                None => None,
            };
            let target = target.ok_or_else(|| error(AsmErrorKind::UndefinedLabel(fixup.label.to_string())))?;
            let too_far = |distance| AsmErrorKind::JumpOutOfRange { label: fixup.label.to_string(), distance };
            // Slot counts are far below i64::MAX: a program is a byte slice.
            let distance = target as i64 - fixup.slot as i64 - 1;
            let insn = &mut self.slots[fixup.slot];
            if fixup.wide {
                insn.imm = i32::try_from(distance).map_err(|_| error(too_far(distance)))?;
            } else {
                insn.off = i16::try_from(distance).map_err(|_| error(too_far(distance)))?;
            }
        }
        let mut bytes = Vec::with_capacity(self.slots.len() * INSN_SIZE);
        for insn in &self.slots {
            bytes.extend_from_slice(&insn.encode());
        }
        Ok(bytes)
    }
}

/// Splits off the first whitespace-separated word; `None` on empty text.
fn split_word(text: &str) -> Option<(&str, &str)> {
    let text = text.trim_start();
    if text.is_empty() {
        return None;
    }
    let end = text.find(char::is_whitespace).unwrap_or(text.len());
    Some((&text[..end], text[end..].trim_start()))
}

/// Finds the row named by the longest run of leading words (up to
/// [`MAX_MNEMONIC_WORDS`]) and returns it with the operand text after it.
fn find_mnemonic(text: &str) -> Result<(&'static Mnemonic, &str), AsmErrorKind> {
    let mut words: [&str; MAX_MNEMONIC_WORDS] = [""; MAX_MNEMONIC_WORDS];
    let mut rests: [&str; MAX_MNEMONIC_WORDS] = [""; MAX_MNEMONIC_WORDS];
    let mut count = 0;
    let mut rest = text;
    while count < MAX_MNEMONIC_WORDS {
        let Some((word, after)) = split_word(rest) else { break };
        words[count] = word;
        rests[count] = after;
        count += 1;
        rest = after;
    }
    for n in (1..=count).rev() {
        if let Some(mnemonic) = mnemonic::by_words(words[..n].iter().copied()) {
            return Ok((mnemonic, rests[n - 1]));
        }
    }
    if words[0] != "lock" {
        return Err(AsmErrorKind::UnknownMnemonic(words[0].to_string()));
    }
    // Name the whole atomic operation, as far as it is made of words.
    let after_lock = words.get(1..count).unwrap_or_default();
    let named = after_lock.iter().take_while(|w| w.bytes().all(|b| b.is_ascii_alphanumeric())).count();
    if named == 0 {
        return Err(AsmErrorKind::MissingAtomicOperation);
    }
    let mut name = String::from("lock");
    for word in after_lock.iter().take(named) {
        name.push(' ');
        name.push_str(word);
    }
    Err(AsmErrorKind::UnknownMnemonic(name))
}

/// Splits comma-separated operands, trimming each; no text is no operand.
fn split_operands(text: &str) -> Result<Vec<&str>, AsmErrorKind> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(str::trim)
        .map(|op| if op.is_empty() { Err(AsmErrorKind::EmptyOperand) } else { Ok(op) })
        .collect()
}
