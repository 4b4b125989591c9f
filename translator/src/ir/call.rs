//! How a call reaches a function: the run convention of every Alkyl script
//! (`docs/helpers.md`). A host maps one read-only **input** region at
//! `INPUT_VADDR` and passes its address in `r1` and its length in `r2`, as
//! for a C script; an IR function finds its arguments at the start of that
//! input, one 8-byte little-endian slot each (`ARG n` reads slot `n`), and
//! `INLOAD` reads any byte of it, arguments included — as the EVM's
//! `CALLDATALOAD` reads the call data.

use alloc::vec::Vec;

/// Bytes of one argument slot.
pub const ARG_SLOT_BYTES: u64 = 8;

/// Input offset of argument `n`.
pub const fn arg_offset(n: u64) -> u64 {
    n * ARG_SLOT_BYTES
}

/// The input of a call with `args` (each a little-endian `u64` slot)
/// followed by `rest`.
pub fn call_input(args: &[u64], rest: &[u8]) -> Vec<u8> {
    let mut input = Vec::with_capacity(args.len() * ARG_SLOT_BYTES as usize + rest.len());
    for a in args {
        input.extend_from_slice(&a.to_le_bytes());
    }
    input.extend_from_slice(rest);
    input
}
