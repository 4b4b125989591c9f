//! The CoAP API, written against the `coap-message` 0.3 / `coap-handler`
//! 0.2 traits so that the same code serves RIOT's gcoap (riot-wrappers)
//! and the host node (coap-lite).
//!
//! | resource | methods |
//! |---|---|
//! | `/.well-known/core` | GET |
//! | `/apps` | GET (JSON list) |
//! | `/apps/{name}` | GET (JSON metadata), PUT (signed install, Block1), DELETE (signed) |
//! | `/apps/{name}/run[/{entry}]` | POST (run; payload → `r1`/`r2`) |
//! | `/apps/{name}/result` | GET (last result; observable on hosts that implement Observe) |
//! | `/apps/{name}/triggers` | PUT (signed trigger change) |
//! | `/sensors` | GET (JSON) |
//!
//! Codes and payloads: `docs/coap-api.md`. Transport matters (message ids,
//! deduplication, piggybacked ACKs, Observe registrations) are the
//! server's: gcoap on RIOT, `alkyl-node` on the host.

mod handler;
pub mod json;
mod message;
mod routes;

pub use alkyl_protocol::Block;
pub use handler::{Link, Lock, Shared};
pub use message::{format, Request, Response, MAX_PATH_SEGMENTS, MAX_SEGMENT_LEN};
