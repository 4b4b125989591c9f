//! `alkyl-node`: the Alkyl device runtime on a host, behind a UDP CoAP
//! server, with simulated SAUL-like devices and a crash-safe file store.
//!
//! - [`server`]: the CoAP message layer (coap-lite), deduplication,
//!   Observe, the poll loop;
//! - [`device`]: the host [`alkyl_runtime::Device`] (clock, devices, log);
//! - [`sensors`]: simulated sensors and actuators from TOML;
//! - [`store`]: the file-backed [`alkyl_runtime::Storage`];
//! - [`keys`]: the key file format shared with `alkyl keygen`;
//! - [`gateway`]: delivering reports to the gateway (`--gateway`).

pub mod device;
pub mod gateway;
pub mod keys;
pub mod sensors;
pub mod server;
pub mod store;
