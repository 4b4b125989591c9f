//! The fast engine: translate once at load, then run a form built for
//! dispatch (the rBPF paper's "next step c").
//!
//! [`translate`] turns a verified [`crate::Program`] into one [`Op`] per
//! slot in storage the caller supplies (no allocation): operands decoded,
//! jump targets resolved, immediate/register and 32/64-bit forms
//! specialised, common two-instruction sequences fused (three-address adds,
//! load-and-accumulate, counted-loop and copy-then-branch latches), and the
//! budget cost of every straight-line run precomputed. [`run_fast`] then
//! executes it with the same guarantees as [`crate::run`]: see its budget
//! section for the one observable difference (where a budget trap lands).
//!
//! The instruction set is described once, in `table.rs`: one row per op
//! kind (or per family: both widths and both operand forms of an ALU
//! operation or a conditional jump in one row) with its operands, its width
//! in slots, its control flow and its body. The op kinds, `Kind::width`,
//! `Kind::successors` (which translation checks before a program may run)
//! and the interpreter's dispatch are generated from it, so the unchecked
//! op fetch in `exec.rs` and the check it relies on read the same
//! description. `translate.rs` lowers bytecode to those kinds; `op.rs`,
//! `regs.rs` and `window.rs` hold the op and register forms and the memory
//! windows.
//!
//! ```
//! use alkyl_vm::fast::{translate, run_fast, Op};
//! use alkyl_vm::{verify, MemoryMap, NoHelpers, AccessPolicy, STACK_VADDR};
//! // mov r0, 42 ; exit
//! let code = [0xb7, 0, 0, 0, 42, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
//! let program = verify(&code, &NoHelpers).unwrap();
//! let mut storage = [Op::EMPTY; 2];
//! let fast = translate(&program, &mut storage).unwrap();
//! let mut stack = [0u8; 512];
//! let mut mem = MemoryMap::new();
//! mem.map(STACK_VADDR, &mut stack, AccessPolicy::ReadWrite).unwrap();
//! let exit = run_fast(&fast, program.main(), &[], &mut mem, &mut NoHelpers, 100).unwrap();
//! assert_eq!((exit.r0, exit.executed), (42, 2));
//! ```

mod exec;
mod op;
mod program;
mod regs;
mod table;
mod translate;
mod window;

pub use exec::run_fast;
pub use op::Op;
pub use program::{FastProgram, FastScript};
pub use translate::{storage_len, translate, TranslateError};
