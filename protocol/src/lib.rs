//! `alkyl-protocol`: what a device and the tools that talk to it must agree
//! on, defined once (`no_std`; the owned forms behind feature `alloc`, the
//! CoAP client behind `std`).
//!
//! - [`envelope`]: the signed upload/command envelope — the zero-copy view
//!   [`envelope::Envelope`] (no allocation) and the owned
//!   `envelope::EnvelopeRepr` (`alloc`);
//! - [`name`]: app and entry-point name rules;
//! - [`key`]: how a [`KeyId`] is derived from an Ed25519 public key (who
//!   signs and who verifies is the caller's choice: the CLI signs with
//!   ed25519-dalek, a device verifies with ed25519-compact);
//! - [`compress`]: the heatshrink parameters of upload payloads, the
//!   encoder (`alloc`) and the size-checked decoder;
//! - [`command`]: signed commands — an authenticated invocation of an
//!   entry point, setting the device's wall clock (the zero-copy
//!   [`command::Command`], the owned `command::CommandRepr` with `alloc`);
//! - [`report`]: the reports a device signs and sends to its gateway;
//! - [`block`]: the Block1/Block2 option value (RFC 7959);
//! - `client` (feature `std`): the CoAP client of the CLI, gateways and
//!   tests — retransmission, Block1/Block2, Observe, IPv6 zones.
//!
//! The byte-level formats and the API they travel in are described in
//! `docs/coap-api.md`.
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_debug_implementations)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

/// Declares an enum of one-byte wire codes (`Variant = code`) and its
/// `from_code`, `None` for a code no variant has, so each code is written
/// once; with names (`Variant = code => "name"`), also `as_str` and
/// `from_name`.
macro_rules! wire_codes {
    ($(#[$meta:meta])* pub enum $name:ident {
        $($(#[$variant_meta:meta])* $variant:ident = $code:literal => $text:literal,)*
    }) => {
        wire_codes! {
            $(#[$meta])* pub enum $name { $($(#[$variant_meta])* $variant = $code,)* }
        }

        impl $name {
            /// The name used in listings and on the command line.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            /// The variant named `name` (as [`Self::as_str`]).
            pub fn from_name(name: &str) -> Option<$name> {
                match name {
                    $($text => Some($name::$variant),)*
                    _ => None,
                }
            }
        }
    };
    ($(#[$meta:meta])* pub enum $name:ident {
        $($(#[$variant_meta:meta])* $variant:ident = $code:literal,)*
    }) => {
        $(#[$meta])*
        pub enum $name {
            $($(#[$variant_meta])* $variant = $code,)*
        }

        impl $name {
            /// The variant of a wire code.
            pub fn from_code(code: u8) -> Option<$name> {
                match code {
                    $($code => Some($name::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

/// The bytes of the little-endian field at `range`, for `from_le_bytes`;
/// zeros where `bytes` is too short or `range` is not `N` bytes wide (the
/// views check lengths before they read a field).
fn le<const N: usize>(bytes: &[u8], range: core::ops::Range<usize>) -> [u8; N] {
    bytes.get(range).and_then(|b| b.try_into().ok()).unwrap_or([0; N])
}

pub mod block;
#[cfg(feature = "std")]
pub mod client;
pub mod command;
pub mod compress;
pub mod envelope;
pub mod key;
pub mod name;
pub mod report;

pub use block::Block;
pub use key::KeyId;
#[cfg(feature = "alloc")]
pub use name::AppName;
pub use name::{check_app_name, check_entry_name, NameError, MAX_ENTRY_LEN, MAX_NAME_LEN};
