//! Upload envelopes: the signed unit of every change to a device's apps.
//!
//! ```text
//! header (32 B) | app name | trigger records | payload | Ed25519 signature (64 B)
//! ```
//!
//! An install may declare **open entries** (flag [`FLAG_OPEN`]): the entry
//! points anyone may run with a plain `POST /apps/NAME/run/ENTRY`; every
//! other entry needs a signed invocation ([`crate::command`]). The
//! declaration is signed with the app and holds for this version only.
//!
//! One format carries the three authenticated operations: **install** (a
//! container, or Alkyl IR once the translator lands, maybe
//! heatshrink-compressed, with its declared triggers), **delete**, and
//! **set-triggers**. The signature covers every byte before it, so it is
//! checked before the payload is decompressed or looked at. The `version`
//! field draws from one counter per app name: an install's app version, or
//! a command's sequence number; the device accepts only values above the
//! highest it has seen for that name (anti-rollback and replay protection).
//!
//! [`Envelope::new_checked`] checks every field (never panics, never
//! allocates); `EnvelopeRepr` (feature `alloc`) is the owned form with
//! `parse`, `emit` and `buffer_len`, and signs through a caller-supplied
//! signing function (`EnvelopeRepr::to_signed_bytes`). The byte-level
//! layout is in `docs/coap-api.md`.

mod error;
#[cfg(feature = "alloc")]
mod repr;
#[cfg(test)]
mod tests;
mod trigger;
mod wire;

pub use error::{EnvelopeError, EnvelopeErrorKind, ShapeError};
#[cfg(feature = "alloc")]
pub use repr::EnvelopeRepr;
#[cfg(feature = "alloc")]
pub use trigger::TriggerRepr;
pub use trigger::{field as trigger_field, Trigger, TriggerKind, TriggerSyntaxError};
pub use wire::{field, Envelope};

/// The first four bytes.
pub const MAGIC: [u8; 4] = *b"ALKE";
/// The format version this runtime reads and writes.
pub const FORMAT: u8 = 1;
/// Flag: the payload is heatshrink-compressed ([`crate::compress`]).
pub const FLAG_COMPRESSED: u8 = 0x01;
/// Flag: an install declares its open entries (the list follows the
/// trigger records: `count u8`, then `count` × (`len u8`, name)).
pub const FLAG_OPEN: u8 = 0x02;
/// Most open entries an install may declare.
pub const MAX_OPEN: usize = 16;
/// The open-entry name that opens every entry of the app.
pub const OPEN_ALL: &str = "*";
/// The open-entry name of the program's first instruction (the default
/// entry of `POST /apps/NAME/run`): the empty name.
pub const OPEN_DEFAULT: &str = "";
/// Bytes of the Ed25519 signature that ends every envelope.
pub use crate::key::SIGNATURE_LEN;
/// Most trigger records an envelope may carry (a device may allow fewer).
pub const MAX_TRIGGERS: usize = 8;

wire_codes! {
    /// What an envelope asks the device to do.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum Operation {
        /// Install or replace the app with the payload and triggers.
        Install = 1,
        /// Delete the app (no payload, no triggers).
        Delete = 2,
        /// Replace the app's triggers (no payload).
        SetTriggers = 3,
    }
}

wire_codes! {
    /// What the payload is.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum PayloadKind {
        /// No payload (commands).
        None = 0 => "none",
        /// An rBPF / Femto-Container container (`docs/container.md`).
        Container = 1 => "ebpf",
        /// Alkyl IR, translated on the device (reserved: refused as
        /// unsupported until the translator is hooked in).
        AlkylIr = 2 => "alkyl-ir",
    }
}
