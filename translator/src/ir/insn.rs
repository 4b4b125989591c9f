//! Decoding one instruction: an opcode byte and its immediate.

use super::opcode::{ImmKind, Op};
use super::varint::{self, VarintError};

/// A decoded instruction at byte offset `pos` of its function's code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub pos: u32,
    pub op: Op,
    /// The immediate (0 when the opcode has none).
    pub imm: u64,
    /// Encoded length in bytes.
    pub len: u8,
}

/// Why bytes do not decode to an instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The code ends inside the immediate.
    TruncatedImmediate,
    /// The immediate is not in its shortest form.
    NonCanonicalImmediate,
}

/// Decodes the instruction at `pos` (which must be `< code.len()`; returns
/// `None` otherwise). Unknown opcode bytes decode to [`Op::Unknown`].
///
/// # Errors
/// A broken immediate.
pub fn decode(code: &[u8], pos: usize) -> Option<Result<Insn, DecodeError>> {
    let byte = *code.get(pos)?;
    let op = Op::from_byte(byte);
    let (imm, n) = match op.imm_kind() {
        ImmKind::None => (0, 0),
        ImmKind::Value | ImmKind::Target => match varint::decode(&code[pos + 1..]) {
            Ok(v) => v,
            Err(VarintError::Truncated) => return Some(Err(DecodeError::TruncatedImmediate)),
            Err(VarintError::NonCanonical) => return Some(Err(DecodeError::NonCanonicalImmediate)),
        },
    };
    Some(Ok(Insn { pos: pos as u32, op, imm, len: 1 + n as u8 }))
}

/// Appends the encoding of `op` with `imm` (ignored when `op` takes none).
pub fn encode(op: Op, imm: u64, out: &mut alloc::vec::Vec<u8>) {
    out.push(op.byte());
    if op.imm_kind() != ImmKind::None {
        varint::encode(imm, out);
    }
}

/// The byte offsets of a function's items and of its end, jump immediates
/// in their shortest form: item `i` takes `len(i)` bytes, except a jump to
/// item `targets[i]`, which takes its opcode byte and the target's offset
/// as a varint. Sized by relaxation: one byte per jump immediate, grown to
/// the fixed point.
pub fn jump_layout(targets: &[Option<usize>], len: impl Fn(usize) -> u64) -> alloc::vec::Vec<u64> {
    let mut sizes: alloc::vec::Vec<usize> = targets.iter().map(|_| 1).collect();
    let mut offsets = alloc::vec::Vec::with_capacity(targets.len() + 1);
    loop {
        offsets.clear();
        let mut at = 0u64;
        for (i, target) in targets.iter().enumerate() {
            offsets.push(at);
            at += match target {
                Some(_) => 1 + sizes[i] as u64,
                None => len(i),
            };
        }
        offsets.push(at);
        let mut changed = false;
        for (i, target) in targets.iter().enumerate() {
            if let Some(t) = target {
                let need = varint::encoded_len(offsets[*t]);
                if need != sizes[i] {
                    sizes[i] = need;
                    changed = true;
                }
            }
        }
        if !changed {
            return offsets;
        }
    }
}
