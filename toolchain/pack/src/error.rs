//! Why an object file could not be packed.

use alloc::string::String;
use core::fmt;

use alkyl_vm::VerifyError;

use alkyl_vm::container::EmitError;

/// A packing failure; names the section, symbol or relocation at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PackError {
    /// Not a readable ELF file.
    Elf(String),
    /// Not a 64-bit little-endian relocatable BPF object.
    NotBpfObject { what: &'static str },
    /// A section of a kind the packer does not know.
    UnknownSection { name: String, sh_type: u32, flags: u64 },
    /// An executable section whose size is not a multiple of 8.
    TextSize { section: String, size: u64 },
    /// A relocation type the packer does not handle (in this place).
    UnknownRelocation { section: String, offset: u64, r_type: u32 },
    /// A relocation whose site is not the instruction it should patch.
    BadRelocationSite { section: String, offset: u64, expected: &'static str },
    /// A relocation against a symbol that is not defined in the object.
    UndefinedSymbol { name: String, section: String, offset: u64 },
    /// A relocation against a symbol in a section the packer ignores, or
    /// against a function address (eBPF has no indirect calls).
    UnsupportedTarget { name: String, section: String, offset: u64, why: &'static str },
    /// A relocated value or call offset does not fit its field.
    Overflow { section: String, offset: u64 },
    /// No executable code in the object.
    NoText,
    /// More global functions than a container's function table holds.
    TooManyFunctions { count: usize },
    /// `callx` takes its helper id from a register: it cannot be declared.
    Callx { pc: usize },
    /// A pointer table needs the Alkyl address convention; `--compat`
    /// (plain Femto-Container) output cannot express it.
    AbsoluteInCompat { section: String, offset: u64 },
    /// The packed `.text` does not verify.
    Verify(VerifyError),
    /// A function's name or start does not fit the function table.
    Entry { name: String, error: EmitError },
    /// The stack asked for is below the program's frame (its deepest
    /// `r10`-relative access) or above [`alkyl_vm::STACK_SIZE`].
    StackSize { requested: u32, frame_size: u32 },
}

impl fmt::Display for PackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use PackError::*;
        match self {
            Elf(e) => write!(f, "not a readable ELF object: {e}"),
            NotBpfObject { what } => write!(f, "not a relocatable eBPF object (clang -target bpf -c): {what}"),
            UnknownSection { name, sh_type, flags } => {
                write!(f, "section `{name}` (type {sh_type:#x}, flags {flags:#x}) is not supported")
            }
            TextSize { section, size } => {
                write!(f, "executable section `{section}` is {size} bytes, not a multiple of 8")
            }
            UnknownRelocation { section, offset, r_type } => {
                write!(
                    f,
                    "{section}+{offset:#x}: relocation type {r_type} ({}) is not supported here",
                    reloc_name(*r_type)
                )
            }
            BadRelocationSite { section, offset, expected } => {
                write!(f, "{section}+{offset:#x}: relocation does not apply to {expected}")
            }
            UndefinedSymbol { name, section, offset } => {
                write!(
                    f,
                    "{section}+{offset:#x}: `{name}` is not defined in this object (scripts cannot link libraries)"
                )
            }
            UnsupportedTarget { name, section, offset, why } => write!(f, "{section}+{offset:#x}: `{name}`: {why}"),
            Overflow { section, offset } => write!(f, "{section}+{offset:#x}: relocated value does not fit"),
            NoText => f.write_str("no executable code"),
            TooManyFunctions { count } => {
                write!(f, "{count} global functions exceed the limit of {}", alkyl_vm::container::MAX_FUNCTIONS)
            }
            Callx { pc } => write!(f, "instruction {pc}: callx cannot declare its helper"),
            AbsoluteInCompat { section, offset } => write!(
                f,
                "{section}+{offset:#x}: a pointer stored in data needs Alkyl addresses (not possible with --compat)"
            ),
            Verify(e) => write!(f, "packed code does not verify: {e}"),
            Entry { name, error } => write!(f, "function `{name}`: {error}"),
            StackSize { requested, frame_size } => write!(
                f,
                "a stack of {requested} bytes is not between the program's frame ({frame_size} bytes) and {}",
                alkyl_vm::STACK_SIZE
            ),
        }
    }
}

impl core::error::Error for PackError {}

/// The ELF name of a BPF relocation type.
pub fn reloc_name(r_type: u32) -> &'static str {
    match r_type {
        0 => "R_BPF_NONE",
        1 => "R_BPF_64_64",
        2 => "R_BPF_64_ABS64",
        3 => "R_BPF_64_ABS32",
        4 => "R_BPF_64_NODYLD32",
        10 => "R_BPF_64_32",
        _ => "unknown",
    }
}
