//! The operand syntax, read and written in one place: registers `%rN`,
//! integer literals, memory operands `[%rN+off]`, jump targets and labels.

use alloc::string::{String, ToString};
use core::fmt;

use alkyl_vm::isa::REG_COUNT;

use super::error::{AsmErrorKind, OperandKind};

/// An integer literal: an optional sign, then decimal digits or `0x` and
/// hex digits.
///
/// Hex literals are bit patterns: unsigned hex fills the whole field
/// (`0xffffffff` is a valid 32-bit immediate, −1). Decimal and negative
/// literals are signed values and must fit the signed field (the
/// conformance suite rejects `2147483648` as a 32-bit immediate).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Literal {
    negative: bool,
    hex: bool,
    /// Saturates, so an absurdly long literal is merely out of range.
    magnitude: u128,
}

impl Literal {
    /// Parses `text`, or `None` when it is not a literal at all.
    pub fn parse(text: &str) -> Option<Literal> {
        let (negative, body) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (hex, digits) = match body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            Some(digits) => (true, digits),
            None => (false, body),
        };
        if digits.is_empty() {
            return None;
        }
        let radix = if hex { 16 } else { 10 };
        let mut magnitude: u128 = 0;
        for c in digits.chars() {
            let digit = c.to_digit(radix)?;
            magnitude = magnitude.saturating_mul(u128::from(radix)).saturating_add(u128::from(digit));
        }
        Some(Literal { negative, hex, magnitude })
    }

    /// The value as a field of `bits` bits (at most 64), or `None` when
    /// it does not fit; see the type docs for the hex/decimal rule.
    fn fit(self, bits: u32) -> Option<i128> {
        let signed_max = (1i128 << (bits - 1)) - 1;
        let magnitude = i128::try_from(self.magnitude).ok()?;
        if self.negative {
            (magnitude <= signed_max + 1).then_some(-magnitude)
        } else if self.hex {
            // Wrap the bit pattern into the signed range.
            (magnitude < 1i128 << bits).then(|| {
                if magnitude > signed_max {
                    magnitude - (1i128 << bits)
                } else {
                    magnitude
                }
            })
        } else {
            (magnitude <= signed_max).then_some(magnitude)
        }
    }

    pub fn to_i16(self) -> Option<i16> {
        self.fit(16).and_then(|v| i16::try_from(v).ok())
    }

    pub fn to_i32(self) -> Option<i32> {
        self.fit(32).and_then(|v| i32::try_from(v).ok())
    }

    /// A 64-bit immediate: like [`to_i32`](Self::to_i32), except that
    /// unsigned decimal values up to `u64::MAX` are also accepted.
    pub fn to_u64(self) -> Option<u64> {
        if !self.negative {
            return u64::try_from(self.magnitude).ok();
        }
        self.fit(64).and_then(|v| i64::try_from(v).ok()).map(|v| v as u64)
    }
}

/// Parses a register operand `%r0`..`%r10`.
pub(super) fn parse_reg(text: &str) -> Result<u8, AsmErrorKind> {
    let Some(name) = text.strip_prefix('%') else {
        return Err(AsmErrorKind::ExpectedOperand { expected: OperandKind::Register, found: text.to_string() });
    };
    let number = name
        .strip_prefix('r')
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && (n.len() == 1 || !n.starts_with('0')));
    match number.and_then(|n| n.parse::<u8>().ok()) {
        Some(reg) if usize::from(reg) < REG_COUNT => Ok(reg),
        _ => Err(AsmErrorKind::InvalidRegister(text.to_string())),
    }
}

/// Parses an immediate that fills a 32-bit field.
pub(super) fn parse_imm32(text: &str) -> Result<i32, AsmErrorKind> {
    let literal = Literal::parse(text).ok_or_else(|| expected(OperandKind::Immediate, text))?;
    literal.to_i32().ok_or_else(|| out_of_range(text, 32))
}

/// Parses the immediate of a wide load.
pub(super) fn parse_imm64(text: &str) -> Result<u64, AsmErrorKind> {
    let literal = Literal::parse(text).ok_or_else(|| expected(OperandKind::Immediate, text))?;
    literal.to_u64().ok_or_else(|| out_of_range(text, 64))
}

/// Parses an unsigned 64-bit value (the slot of a `.raw` directive).
pub(super) fn parse_u64(text: &str) -> Result<u64, AsmErrorKind> {
    let literal = Literal::parse(text).ok_or_else(|| expected(OperandKind::Immediate, text))?;
    let value = if literal.negative { None } else { u64::try_from(literal.magnitude).ok() };
    value.ok_or_else(|| out_of_range(text, 64))
}

/// A register or an immediate, as the second operand of ALU and branch
/// instructions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Source {
    Reg(u8),
    Imm(i32),
}

pub(super) fn parse_source(text: &str) -> Result<Source, AsmErrorKind> {
    if text.starts_with('%') {
        return parse_reg(text).map(Source::Reg);
    }
    let literal = Literal::parse(text).ok_or_else(|| expected(OperandKind::RegisterOrImmediate, text))?;
    literal.to_i32().map(Source::Imm).ok_or_else(|| out_of_range(text, 32))
}

/// Parses a memory operand `[%rN]`, `[%rN+off]` or `[%rN-off]` (spaces
/// allowed inside the brackets).
pub(super) fn parse_mem(text: &str) -> Result<(u8, i16), AsmErrorKind> {
    let inner = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .ok_or_else(|| expected(OperandKind::Memory, text))?
        .trim();
    let Some(sign_at) = inner.find(['+', '-']) else {
        return Ok((parse_reg(inner)?, 0));
    };
    let reg = parse_reg(inner[..sign_at].trim())?;
    let (sign, number) = inner[sign_at..].split_at(1);
    let number = number.trim_start();
    if number.starts_with(['+', '-']) {
        return Err(expected(OperandKind::Memory, text));
    }
    let mut literal_text = String::with_capacity(number.len() + 1);
    literal_text.push_str(sign);
    literal_text.push_str(number);
    let literal = Literal::parse(&literal_text).ok_or_else(|| expected(OperandKind::Memory, text))?;
    let off = literal.to_i16().ok_or(AsmErrorKind::OffsetOutOfRange(literal_text))?;
    Ok((reg, off))
}

/// A jump or call target as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Target<'a> {
    Label(&'a str),
    /// Slots relative to the next instruction.
    Offset(i32),
}

/// Parses a target: a label, or a literal slot offset (`+2`, `-3`, `0`).
/// `bits` is the width of the offset field (16 or 32).
pub(super) fn parse_target(text: &str, bits: u8) -> Result<Target<'_>, AsmErrorKind> {
    if is_label(text) {
        return Ok(Target::Label(text));
    }
    let literal = Literal::parse(text).ok_or_else(|| expected(OperandKind::Target, text))?;
    let offset = if bits == 16 { literal.to_i16().map(i32::from) } else { literal.to_i32() };
    offset.map(Target::Offset).ok_or_else(|| {
        if bits == 16 {
            AsmErrorKind::OffsetOutOfRange(text.to_string())
        } else {
            out_of_range(text, bits)
        }
    })
}

/// True for a valid label name: `[A-Za-z_][A-Za-z0-9_.]*`.
pub(super) fn is_label(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
}

fn expected(kind: OperandKind, text: &str) -> AsmErrorKind {
    AsmErrorKind::ExpectedOperand { expected: kind, found: text.to_string() }
}

fn out_of_range(text: &str, bits: u8) -> AsmErrorKind {
    AsmErrorKind::ImmediateOutOfRange { text: text.to_string(), bits }
}

/// Writes `%rN`.
pub(super) struct Reg(pub u8);

impl fmt::Display for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "%r{}", self.0)
    }
}

/// Writes `[%rN]` or `[%rN±off]`.
pub(super) struct Mem(pub u8, pub i16);

impl fmt::Display for Mem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            0 => write!(f, "[{}]", Reg(self.0)),
            off => write!(f, "[{}{:+}]", Reg(self.0), off),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Source::Reg(reg) => Reg(reg).fmt(f),
            Source::Imm(imm) => write!(f, "{imm}"),
        }
    }
}

impl fmt::Display for Target<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Target::Label(name) => f.write_str(name),
            Target::Offset(offset) => write!(f, "{offset:+}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_follow_the_hex_and_decimal_rules() {
        let imm32 = |t| Literal::parse(t).and_then(Literal::to_i32);
        assert_eq!(imm32("0"), Some(0));
        assert_eq!(imm32("+7"), Some(7));
        assert_eq!(imm32("-2147483648"), Some(i32::MIN));
        assert_eq!(imm32("2147483647"), Some(i32::MAX));
        assert_eq!(imm32("2147483648"), None);
        assert_eq!(imm32("0xffffffff"), Some(-1));
        assert_eq!(imm32("0x100000000"), None);
        assert_eq!(imm32("-0x80000000"), Some(i32::MIN));
        assert_eq!(imm32("-0x80000001"), None);
        assert_eq!(imm32("99999999999999999999999999999999999999999999"), None);
        assert_eq!(Literal::parse("0x"), None);
        assert_eq!(Literal::parse("12a"), None);
        assert_eq!(Literal::parse("--1"), None);
        assert_eq!(Literal::parse(""), None);

        let off = |t| Literal::parse(t).and_then(Literal::to_i16);
        assert_eq!(off("0xffff"), Some(-1));
        assert_eq!(off("0x10000"), None);
        assert_eq!(off("-32768"), Some(i16::MIN));
        assert_eq!(off("32768"), None);

        let imm64 = |t| Literal::parse(t).and_then(Literal::to_u64);
        assert_eq!(imm64("18446744073709551615"), Some(u64::MAX));
        assert_eq!(imm64("18446744073709551616"), None);
        assert_eq!(imm64("-1"), Some(u64::MAX));
        assert_eq!(imm64("-9223372036854775808"), Some(1 << 63));
        assert_eq!(imm64("-9223372036854775809"), None);
    }

    #[test]
    fn registers() {
        assert_eq!(parse_reg("%r0"), Ok(0));
        assert_eq!(parse_reg("%r10"), Ok(10));
        for bad in ["%r11", "%r50", "%r", "%r01", "%x1", "%r-1", "%r256"] {
            assert_eq!(parse_reg(bad), Err(AsmErrorKind::InvalidRegister(bad.to_string())), "{bad}");
        }
        assert!(matches!(parse_reg("r1"), Err(AsmErrorKind::ExpectedOperand { .. })));
    }

    #[test]
    fn memory_operands() {
        assert_eq!(parse_mem("[%r1]"), Ok((1, 0)));
        assert_eq!(parse_mem("[%r10-8]"), Ok((10, -8)));
        assert_eq!(parse_mem("[ %r2 + 0x10 ]"), Ok((2, 16)));
        assert_eq!(parse_mem("[%r1+0xffff]"), Ok((1, -1)));
        assert_eq!(parse_mem("[%r1-32768]"), Ok((1, i16::MIN)));
        assert_eq!(parse_mem("[%r1+0x10000]"), Err(AsmErrorKind::OffsetOutOfRange("+0x10000".to_string())));
        assert!(matches!(parse_mem("%r1"), Err(AsmErrorKind::ExpectedOperand { .. })));
        assert!(matches!(parse_mem("[%r1+]"), Err(AsmErrorKind::ExpectedOperand { .. })));
        assert!(matches!(parse_mem("[%r1+-2]"), Err(AsmErrorKind::ExpectedOperand { .. })));
        assert!(matches!(parse_mem("[%r12]"), Err(AsmErrorKind::InvalidRegister(_))));
    }

    #[test]
    fn printing_matches_parsing() {
        use alloc::format;
        for (reg, off) in [(0, 0), (10, -8), (3, i16::MAX), (1, i16::MIN)] {
            assert_eq!(parse_mem(&format!("{}", Mem(reg, off))), Ok((reg, off)));
        }
        for offset in [0, 1, -1, i32::from(i16::MIN), i32::from(i16::MAX)] {
            let text = format!("{}", Target::Offset(offset));
            assert_eq!(parse_target(&text, 16), Ok(Target::Offset(offset)));
        }
        assert_eq!(parse_target("+40000", 16), Err(AsmErrorKind::OffsetOutOfRange("+40000".to_string())));
        assert_eq!(parse_target("+40000", 32), Ok(Target::Offset(40000)));
        assert_eq!(parse_target("fn_1.a", 16), Ok(Target::Label("fn_1.a")));
    }

    #[test]
    fn labels() {
        for good in ["L1", "_x", "exit", "a.b_c9"] {
            assert!(is_label(good), "{good}");
        }
        for bad in ["", "1L", ".raw", "a-b", "%r1", "a:b"] {
            assert!(!is_label(bad), "{bad}");
        }
    }
}
