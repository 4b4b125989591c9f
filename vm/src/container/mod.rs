//! Script containers: the rBPF / Femto-Container file format, read in place
//! ([`Container`], [`Script`]) and written ([`ContainerRepr`]).
//!
//! ```text
//! header (28 B) | .data | .rodata | .text | function table (6 B each) | [extension trailer]
//! ```
//!
//! [`Container::new_checked`] checks every field before anything else looks
//! at the bytes: magic, flags, every length against the buffer with checked
//! arithmetic, `.text` a non-empty multiple of 8, every function on an
//! instruction boundary inside `.text` with a non-empty, unique,
//! NUL-terminated name inside `.rodata`, the optional Alkyl trailer, and no
//! trailing bytes. [`Script::load`] then verifies `.text` with the helpers
//! both the host and the container allow, and hands the host what it needs
//! to map `.data` (a read-write copy the host owns) and `.rodata`
//! (read-only) and to run any named entry point.
//!
//! # Guarantee
//! Neither step panics or allocates, on any input; a malformed container is
//! a [`ContainerError`] with the byte offset of the broken rule.
//!
//! The byte-level layout, the extension trailer and the compatibility rules
//! are documented in `docs/container.md`.

mod error;
mod repr;
mod script;
mod wire;

pub use error::{ContainerError, ContainerErrorKind, Field, LoadError};
pub use repr::{pad_section, ContainerRepr, EmitError, FunctionRepr, Record, Table, TrailerRepr};
pub use script::{Restricted, Script};
pub use wire::{
    field, Container, Convention, Function, HelperIds, Parts, FLAG_COMPRESSED, FLAG_TRAILER, MAGIC, MAGIC_NATIVE_C,
    TRAILER_VERSION,
};

/// Most function-table entries a container may have.
pub const MAX_FUNCTIONS: usize = 256;
