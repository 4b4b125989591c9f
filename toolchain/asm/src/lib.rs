//! `alkyl-asm`: the eBPF assembler and disassembler, in the text syntax of the
//! [bpf_conformance] suite.
//!
//! # Syntax
//!
//! One instruction per line. `#` starts a comment that runs to the end of
//! the line; blank lines are ignored; leading whitespace is allowed.
//!
//! ```text
//! # Sum r1 and r2, or fail.
//!     mov %r0, 0              # 64-bit ALU: add sub mul div sdiv mod smod
//!     add32 %r0, 0x11         #   or and xor lsh rsh arsh mov neg;
//!     movsx832 %r1, %r1       #   `32` suffix for the 32-bit class
//!     be16 %r0                # le16/32/64, be16/32/64, bswap16/32/64 (= swap16...)
//!     lddw %r1, 0x123456789abcdef0   # lddwd, lddwr: Femto-Container .data/.rodata address
//!     ldxdw %r2, [%r10-8]     # ldxb ldxh ldxw ldxdw ldxsb ldxsh ldxsw
//!     stw [%r1+2], 0x11       # stb sth stw stdw
//!     stxdw [%r10-8], %r0     # stxb stxh stxw stxdw
//!     lock fetch add [%r10-8], %r1   # lock [fetch] add|or|and|xor[32], lock xchg[32], lock cmpxchg[32]
//!     jne %r1, 0, done        # jeq jgt jge jset jne jsgt jsge jlt jle jslt jsle, `32` suffix for JMP32
//!     ja +1                   # numeric slot offsets work wherever a label does
//!     ja32 done               # JMP32 `ja`: the offset is in `imm`
//!     call 5                  # helper 5 (also `call helper 5`)
//!     call %r2                # callx: the helper id is in the register (`dst` field)
//!     call local func         # program-local call: imm = target - pc - 1
//! done:
//!     exit
//! func:
//!     exit
//! ```
//!
//! - Registers are `%r0`..`%r10`.
//! - Immediates and offsets are decimal or `0x` hex, optionally signed.
//!   Decimal and negative values must fit the signed field; unsigned hex
//!   is a bit pattern and may fill the whole field (`0xffffffff` is −1 as
//!   a 32-bit immediate, `0xffff` is −1 as an offset). `lddw` also takes
//!   unsigned decimal up to `u64::MAX`.
//! - Memory operands are `[%rN]`, `[%rN+off]`, `[%rN-off]`.
//! - A label is `name:` (`[A-Za-z_][A-Za-z0-9_.]*`) at the start of a line,
//!   alone or before an instruction. It names the next instruction slot.
//!   Jump and local-call targets are labels or slot offsets relative to the
//!   next instruction (`+2`, `-3`, `0`).
//! - `exit`, when no label of that name is defined, names the first `exit`
//!   instruction: the suite's assembler does this and its tests rely on it
//!   (`ja exit` in `prime.data`).
//! - `.raw 0x<16 hex digits>` emits one slot verbatim, given as the
//!   little-endian 64-bit word of its 8 bytes (the opcode is the low byte).
//!   The disassembler prints it for slots without a text form.
//!
//! # Guarantees
//!
//! - Neither direction panics, on any input.
//! - [`assemble`] rejects out-of-range immediates, offsets and jumps,
//!   registers above `r10`, unknown mnemonics, wrong operand counts and
//!   undefined or duplicate labels, with the line and a typed reason;
//!   it never truncates a value silently.
//! - `assemble(&disassemble(code)?) == code` for every `code` whose length
//!   is a multiple of 8 (for every input the disassembler accepts).
//! - Both directions read one table of mnemonics, so a name always means
//!   the same encoding.
//!
//! # Example
//!
//! ```
//! use alkyl_asm::{assemble, disassemble};
//!
//! let code = assemble("mov %r0, 0\nloop:\nadd %r0, 1\njlt %r0, 10, loop\nexit")?;
//! assert_eq!(&code[..8], &[0xb7, 0, 0, 0, 0, 0, 0, 0]);
//! assert_eq!(disassemble(&code)?, "mov %r0, 0\nL1:\nadd %r0, 1\njlt %r0, 10, L1\nexit\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [bpf_conformance]: https://github.com/Alan-Jowett/bpf_conformance

#![deny(unsafe_code)]

// The code is alloc-only (it was no_std); std comes with the crate.
extern crate alloc;

mod asm;
mod disasm;
mod error;
mod mnemonic;
mod syntax;
#[cfg(test)]
mod tests;

pub use asm::assemble;
pub use disasm::{disassemble, disassemble_named, format_insn};
pub use error::{AsmError, AsmErrorKind, DisasmError, OperandKind};
