//! `alkyl-runtime`: the portable Alkyl device runtime (`no_std` + `alloc`).
//!
//! - an **app store** ([`Runtime`]): named apps with version, size, SHA-256,
//!   entry points, declared triggers and their own key-value namespace,
//!   within quotas ([`Config`]); atomic replacement;
//! - **signed uploads**: envelopes, names, key ids and the heatshrink
//!   parameters are `alkyl_protocol`'s (shared with the tools); here the
//!   Ed25519 check ([`auth`]), anti-rollback and replay protection, Block1
//!   reassembly ([`upload`]);
//! - the **CoAP API** ([`coap`]), as a `coap_handler::Handler`;
//! - **triggers** ([`triggers`]): timers and sensor events, driven by
//!   [`Runtime::poll`];
//! - the **key-value store** ([`kv`]), persisted through [`Storage`];
//! - **trusted calls**: signed invocations of protected entries and the
//!   wall clock (`alkyl_protocol::command`, [`Runtime::invoke_signed`],
//!   [`Runtime::set_time`]), and **reports** to the gateway ([`reports`],
//!   [`Runtime::report_due`]).
//!
//! A device provides a [`Device`] (clock, SAUL, log) and a [`Storage`];
//! every script run goes through one function (`exec::execute`).
//!
//! ```
//! # use alkyl_runtime::{Authority, Config, RamStorage, Runtime};
//! # fn demo<D: alkyl_runtime::Device>(device: D, trusted_key: [u8; 32], now_ms: u64) {
//! let authority = Authority::read_only().trust(&trusted_key).expect("a valid Ed25519 key");
//! let (mut runtime, _report) =
//!     Runtime::new(Config::DEFAULT, authority, RamStorage::new(), device).expect("RAM storage lists");
//! // Serve CoAP with `runtime` (a coap_handler::Handler); from the main loop:
//! let next_poll_ms = runtime.poll(now_ms);
//! # }
//! ```
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_debug_implementations)]

extern crate alloc;

mod app;
pub mod auth;
pub mod coap;
mod config;
mod device;
mod error;
mod exec;
pub mod kv;
mod map;
pub mod reports;
mod runtime;
mod storage;
pub mod store;
pub mod triggers;
pub mod upload;

// The wire protocol, shared with the tools, used by path inside the crate
// (`crate::envelope`, `crate::name`, `crate::compress`).
use alkyl_protocol::{compress, envelope, name};

#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;

pub use alkyl_protocol::KeyId;
pub use alkyl_protocol::{check_app_name, check_entry_name, AppName, NameError, MAX_ENTRY_LEN, MAX_NAME_LEN};
pub use app::{App, AppError, AppMeta, BuiltResponse, Cause, LastRun, RunOutput, RunStats, TrapText};
pub use auth::{AuthError, Authority};
pub use config::Config;
pub use device::{class_matches, printable, write_dims, Device, SaulInfo, Widen32, SAUL_CAT_ACT, SAUL_CAT_SENSE};
pub use error::{Expect, Rejection, TriggerProblem};
pub use runtime::{Applied, BootProblem, BootReport, Runtime, SensorReading, WallClock};
pub use storage::{EitherStorage, RamStorage, Storage, StorageError, DELETE_RESERVE};
