//! `alkyl-pack`: the ELF packer. Relocatable objects from `clang -target
//! bpf -O2 -c` become containers (`alkyl pack app.o -o app.rbf`), and
//! [`measure`] gives the sizes `alkyl pack --stats` reports.
//!
//! # What it handles
//! - **Sections, by their flags** (not their names): executable
//!   `PROGBITS` sections (`.text`, `.text.*`, `SEC("...")` sections) are
//!   concatenated into `.text` in section order; writable ones (`.data*`)
//!   into `.data`; `NOBITS` writable ones (`.bss*`) after `.data`, as
//!   zero-initialised bytes declared in the trailer; read-only allocated ones
//!   (`.rodata`, `.rodata.str1.1` merged strings, `.rodata.cst*`) into
//!   `.rodata`. Each keeps its alignment (at most 8).
//! - **Ignored**: `.BTF`, `.BTF.ext`, `.debug*`, `.comment`, `.note*`,
//!   `.llvm_addrsig`, and relocations that apply to them.
//! - **Relocations**: `R_BPF_64_64` on an `lddw` becomes Femto-Container's
//!   `lddw` relative to `.data` (opcode `0xb8`, also for `.bss`) or
//!   `.rodata` (`0xd8`) with immediate = section offset + symbol value +
//!   the addend the instruction holds; `R_BPF_64_32` on a `call` with
//!   `src = 1` becomes a pc-relative local call (also across sections);
//!   `R_BPF_64_ABS64` inside `.data`/`.rodata` (tables of pointers) becomes
//!   the target's virtual address (`DATA_VADDR`/`RODATA_VADDR` + offset).
//!   Helper calls (`call N`) carry no relocation and are kept.
//! - **Entry points**: every global (or weak) function becomes a named
//!   entry of the function table.
//! - Anything else (another section type, relocation type, an undefined
//!   symbol such as a libc `memcpy` clang could not inline, an `lddw` of a
//!   function address) is a [`PackError`] naming it.
//!
//! The packed `.text` is verified (any helper id allowed) before the
//! container is returned, and its helper calls become the declared helper
//! set of the trailer.

#![deny(unsafe_code)]

// The code is alloc-only; std comes with the crate.
extern crate alloc;

mod error;
mod pack;
mod stats;

pub use error::PackError;
pub use pack::{pack, stack_need, PackOptions, Packed};
pub use stats::{measure, Sizes};
