//! The assembler: text → module bytes.

use alloc::collections::BTreeMap;
use alloc::string::ToString;
use alloc::vec::Vec;

use super::{AsmError, AsmErrorKind};
use crate::ir::insn;
use crate::ir::limits::{MAX_FUNCTIONS, MAX_GLOBALS, MAX_MEMORY, MAX_NAME_LEN, MAX_PARAMS};
use crate::ir::module::{is_identifier, Function, FunctionKind, Global, Module, Profile};
use crate::ir::opcode::{ImmKind, Op};
use crate::ir::syscall;
use crate::ir::validate::ENTRY_MODE;
use crate::ir::varint;
use crate::ir::width::Width;

/// An immediate as written.
#[derive(Clone, Copy)]
enum Imm<'a> {
    None,
    Value(u64),
    Label(&'a str),
    Global(&'a str),
}

#[derive(Clone, Copy)]
enum Item<'a> {
    Insn { op: Op, imm: Imm<'a> },
    Byte(u8),
}

struct FnSrc<'a> {
    kind: FunctionKind,
    name: &'a str,
    params: Vec<Width>,
    items: Vec<(usize, Item<'a>)>,
    /// Label → (item index, line).
    labels: BTreeMap<&'a str, (usize, usize)>,
    mode: Width,
}

/// Assembles `source` into module bytes.
///
/// # Errors
/// The first bad line, with the reason ([`AsmErrorKind`]).
///
/// # Panics
/// Never.
pub fn assemble(source: &str) -> Result<Vec<u8>, AsmError> {
    let mut memory_size = 0u32;
    let mut profile = Profile::Device;
    let mut globals: Vec<(&str, Global)> = Vec::new();
    let mut functions: Vec<FnSrc<'_>> = Vec::new();

    for (index, raw) in source.lines().enumerate() {
        let line = index + 1;
        let err = |kind| AsmError { line, kind };
        let text = strip_comment_outside_quotes(raw).trim();
        let mut words = text.split_whitespace().peekable();
        // Labels.
        while let Some(w) = words.peek() {
            let Some(name) = w.strip_suffix(':') else { break };
            if !is_identifier(name) {
                return Err(err(AsmErrorKind::BadName(name.to_string())));
            }
            let f = functions.last_mut().ok_or(err(AsmErrorKind::OutsideFunction))?;
            if f.labels.insert(name, (f.items.len(), line)).is_some() {
                return Err(err(AsmErrorKind::DuplicateLabel(name.to_string())));
            }
            words.next();
        }
        let Some(head) = words.next() else { continue };
        let rest: Vec<&str> = words.collect();
        if let Some(directive) = head.strip_prefix('.') {
            match directive {
                "memory" => {
                    let [n] = operands::<1>(&rest).map_err(err)?;
                    let v = number(n, Width::W64).map_err(err)?;
                    if v > MAX_MEMORY {
                        return Err(err(AsmErrorKind::OutOfRange(n.to_string())));
                    }
                    memory_size = v as u32;
                }
                "gateway" => {
                    if let Some(extra) = rest.first() {
                        return Err(err(AsmErrorKind::ExtraOperand(extra.to_string())));
                    }
                    profile = Profile::Gateway;
                }
                "global" => {
                    let (name, width, init) = match rest.as_slice() {
                        [name, width] => (*name, *width, None),
                        [name, width, init] => (*name, *width, Some(*init)),
                        [] | [_] => return Err(err(AsmErrorKind::MissingOperand)),
                        [_, _, _, extra, ..] => return Err(err(AsmErrorKind::ExtraOperand(extra.to_string()))),
                    };
                    if !is_identifier(name) {
                        return Err(err(AsmErrorKind::BadName(name.to_string())));
                    }
                    if globals.iter().any(|(n, _)| *n == name) {
                        return Err(err(AsmErrorKind::DuplicateGlobal(name.to_string())));
                    }
                    if globals.len() >= MAX_GLOBALS {
                        return Err(err(AsmErrorKind::TooMany("globals")));
                    }
                    let width = parse_width(width).map_err(err)?;
                    let init = match init {
                        Some(text) => {
                            let v = number(text, width).map_err(err)?;
                            if v > width.mask() {
                                return Err(err(AsmErrorKind::OutOfRange(text.to_string())));
                            }
                            v
                        }
                        None => 0,
                    };
                    globals.push((name, Global { width, init }));
                }
                "public" | "deviceevent" => {
                    let kind = if directive == "public" { FunctionKind::Public } else { FunctionKind::DeviceEvent };
                    let (name, params) = rest.split_first().ok_or(err(AsmErrorKind::MissingOperand))?;
                    if !is_identifier(name) || name.len() as u64 > MAX_NAME_LEN {
                        return Err(err(AsmErrorKind::BadName(name.to_string())));
                    }
                    if functions.iter().any(|f| f.name == *name) {
                        return Err(err(AsmErrorKind::DuplicateFunction(name.to_string())));
                    }
                    if functions.len() >= MAX_FUNCTIONS {
                        return Err(err(AsmErrorKind::TooMany("functions")));
                    }
                    if params.len() > MAX_PARAMS {
                        return Err(err(AsmErrorKind::TooMany("parameters")));
                    }
                    let params = params.iter().map(|p| parse_width(p)).collect::<Result<Vec<_>, _>>().map_err(err)?;
                    functions.push(FnSrc {
                        kind,
                        name,
                        params,
                        items: Vec::new(),
                        labels: BTreeMap::new(),
                        mode: ENTRY_MODE,
                    });
                }
                "byte" => {
                    let [n] = operands::<1>(&rest).map_err(err)?;
                    let v = number(n, Width::W8).map_err(err)?;
                    let b = u8::try_from(v).map_err(|_| err(AsmErrorKind::OutOfRange(n.to_string())))?;
                    let f = functions.last_mut().ok_or(err(AsmErrorKind::OutsideFunction))?;
                    f.items.push((line, Item::Byte(b)));
                }
                _ => return Err(err(AsmErrorKind::UnknownDirective(head.to_string()))),
            }
            continue;
        }
        let f = functions.last_mut().ok_or(err(AsmErrorKind::OutsideFunction))?;
        let op = Op::from_mnemonic(&head.to_ascii_uppercase())
            .ok_or(err(AsmErrorKind::UnknownMnemonic(head.to_string())))?;
        if let Some(w) = op.bit_mode() {
            f.mode = w;
        }
        let imm = match op.imm_kind() {
            ImmKind::None => {
                if let Some(extra) = rest.first() {
                    return Err(err(AsmErrorKind::ExtraOperand(extra.to_string())));
                }
                Imm::None
            }
            ImmKind::Value | ImmKind::Target => {
                let [text] = operands::<1>(&rest).map_err(err)?;
                let starts_numeric = text.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '\'');
                match op {
                    Op::Jump | Op::Jumpi if !starts_numeric => Imm::Label(text),
                    Op::Gload | Op::Gstore if !starts_numeric => Imm::Global(text),
                    Op::Syscall if !starts_numeric => Imm::Value(
                        syscall::by_name(text)
                            .map(|s| s.id)
                            .or_else(|| syscall::gateway_by_name(text).map(|s| s.id))
                            .ok_or(err(AsmErrorKind::UnknownSyscall(text.to_string())))? as u64,
                    ),
                    Op::Push => Imm::Value(number(text, f.mode).map_err(err)?),
                    _ => Imm::Value(number(text, Width::W64).map_err(err)?),
                }
            }
        };
        f.items.push((line, Item::Insn { op, imm }));
    }

    // Resolve global names, lay out every function, emit.
    let mut codes: Vec<Vec<u8>> = Vec::with_capacity(functions.len());
    for f in &functions {
        codes.push(layout(f, &globals)?);
    }
    let module = Module {
        memory_size,
        globals: globals.iter().map(|(_, g)| *g).collect(),
        functions: functions
            .iter()
            .zip(&codes)
            .map(|(f, code)| Function { kind: f.kind, name: f.name, params: f.params.clone(), code })
            .collect(),
        profile,
    };
    let mut out = Vec::new();
    module.emit(&mut out);
    Ok(out)
}

/// Encodes a function body, sizing jump immediates by relaxation.
fn layout(f: &FnSrc<'_>, globals: &[(&str, Global)]) -> Result<Vec<u8>, AsmError> {
    // Resolve labels and globals to item indices / values first.
    let mut resolved: Vec<(Item<'_>, Option<usize>)> = Vec::with_capacity(f.items.len());
    for &(line, item) in &f.items {
        let err = |kind| AsmError { line, kind };
        let entry = match item {
            Item::Insn { op, imm: Imm::Label(name) } => {
                let &(target, _) = f.labels.get(name).ok_or(err(AsmErrorKind::UndefinedLabel(name.to_string())))?;
                (Item::Insn { op, imm: Imm::None }, Some(target))
            }
            Item::Insn { op, imm: Imm::Global(name) } => {
                let g = globals
                    .iter()
                    .position(|(n, _)| *n == name)
                    .ok_or(err(AsmErrorKind::UnknownGlobal(name.to_string())))?;
                (Item::Insn { op, imm: Imm::Value(g as u64) }, None)
            }
            other => (other, None),
        };
        resolved.push(entry);
    }
    let targets: Vec<Option<usize>> = resolved.iter().map(|&(_, target)| target).collect();
    let offsets = insn::jump_layout(&targets, |i| match resolved[i].0 {
        Item::Insn { op, imm: Imm::Value(v) } if op.imm_kind() != ImmKind::None => 1 + varint::encoded_len(v) as u64,
        _ => 1,
    });
    let mut code = Vec::new();
    for (item, target) in &resolved {
        match (item, target) {
            (Item::Byte(b), _) => code.push(*b),
            (Item::Insn { op, .. }, Some(t)) => insn::encode(*op, offsets[*t], &mut code),
            (Item::Insn { op, imm }, None) => {
                let v = if let Imm::Value(v) = imm { *v } else { 0 };
                insn::encode(*op, v, &mut code);
            }
        }
    }
    Ok(code)
}

fn operands<'a, const N: usize>(rest: &[&'a str]) -> Result<[&'a str; N], AsmErrorKind> {
    if rest.len() < N {
        return Err(AsmErrorKind::MissingOperand);
    }
    if rest.len() > N {
        return Err(AsmErrorKind::ExtraOperand(rest[N].to_string()));
    }
    let mut out = [""; N];
    out.copy_from_slice(rest);
    Ok(out)
}

fn parse_width(text: &str) -> Result<Width, AsmErrorKind> {
    text.strip_prefix('w')
        .and_then(|b| b.parse().ok())
        .and_then(Width::from_bits)
        .ok_or(AsmErrorKind::BadWidth(text.to_string()))
}

/// Parses `42`, `0x2a`, `'c'`, or `-5` (two's complement in width `w`).
fn number(text: &str, w: Width) -> Result<u64, AsmErrorKind> {
    let bad = || AsmErrorKind::BadNumber(text.to_string());
    if let Some(inner) = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
        let mut chars = inner.chars();
        return match (chars.next(), chars.next()) {
            (Some(c), None) if c.is_ascii() => Ok(c as u64),
            _ => Err(bad()),
        };
    }
    if let Some(neg) = text.strip_prefix('-') {
        let magnitude = parse_unsigned(neg).ok_or_else(bad)?;
        if magnitude > 1u64 << (w.bits() - 1) {
            return Err(AsmErrorKind::OutOfRange(text.to_string()));
        }
        return Ok(w.wrap(magnitude.wrapping_neg()));
    }
    parse_unsigned(text).ok_or_else(bad)
}

fn parse_unsigned(text: &str) -> Option<u64> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// Cuts a line at the first `;` or `#` that is not inside a `'c'` literal.
fn strip_comment_outside_quotes(line: &str) -> &str {
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' if i + 2 < bytes.len() && bytes[i + 2] == b'\'' => i += 3,
            b';' | b'#' => return &line[..i],
            _ => i += 1,
        }
    }
    line
}
