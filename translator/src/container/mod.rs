//! Writing script containers (the rBPF / Femto-Container format; the VM's
//! `alkyl_vm::container` reads them): an owned [`ContainerRepr`] with
//! `parse`/`emit`/`buffer_len`, and the sizes uploads care about.

mod repr;
mod stats;
#[cfg(test)]
mod tests;

pub use repr::{ContainerRepr, EmitError, FunctionRepr, TrailerRepr};
pub use stats::{measure, Sizes};
