//! The limits of Alkyl IR. A module within them always translates to a
//! program that fits the eBPF VM (512-byte stack, five argument registers).

/// Most values the stack of a function may hold at any point.
pub const MAX_STACK_DEPTH: usize = 32;
/// Most parameters a function takes (eBPF passes arguments in `r1..=r5`).
pub const MAX_PARAMS: usize = 5;
/// Most functions in a module.
pub const MAX_FUNCTIONS: usize = 64;
/// Most globals in a module.
pub const MAX_GLOBALS: usize = 256;
/// Largest linear memory, in bytes.
pub const MAX_MEMORY: u64 = 1 << 16;
/// Longest function body, in bytes.
pub const MAX_CODE_LEN: u64 = 1 << 16;
/// Longest function name, in bytes.
pub const MAX_NAME_LEN: u64 = 64;
