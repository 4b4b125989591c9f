//! Arbitrary bytes as an upload envelope: the checked view never panics and
//! its accessors are total; what it accepts round-trips through the Repr;
//! applying it to a runtime (development mode: unsigned accepted, so
//! decompression, container checks, verification and installation are all
//! reached) never panics, keeps the store's quotas, and an installed app
//! runs every entry point within its budget without panicking.
#![no_main]

use alkyl_protocol::envelope::{Envelope, EnvelopeRepr, Operation};
use alkyl_protocol::AppName;
use alkyl_runtime::{Cause, Expect};
use libfuzzer_sys::fuzz_target;

#[path = "runtime_common.rs"]
mod runtime_common;

fuzz_target!(|data: &[u8]| {
    let view = Envelope::new_unchecked(data);
    let _ = (view.operation(), view.payload_kind(), view.version(), view.raw_len(), view.name(), view.key_id());
    let _ = (view.payload(), view.signature(), view.signed_bytes(), view.triggers().count());
    let checked = Envelope::new_checked(data);
    if let Ok(env) = &checked {
        let repr = EnvelopeRepr::parse(env).expect("a checked envelope parses");
        assert_eq!(repr.to_bytes().expect("a parsed envelope emits"), data);
        assert_eq!(repr.buffer_len(), data.len());
    }
    let mut rt = runtime_common::runtime();
    let (operation, name) = match &checked {
        Ok(env) => (env.operation().unwrap_or(Operation::Install), AppName::new(env.name()).unwrap()),
        Err(_) => (Operation::Install, AppName::new(b"x").unwrap()),
    };
    let applied = rt.apply(data, Expect { operation, name: &name });
    runtime_common::check_invariants(&rt);
    if applied.is_ok() && operation == Operation::Install {
        let entries: Vec<Vec<u8>> = rt.app(&name).unwrap().entry_names().map(<[u8]>::to_vec).collect();
        let _ = rt.invoke(&name, None, data, Cause::Coap, true, 0);
        for e in entries {
            let _ = rt.invoke(&name, Some(&e), b"", Cause::Coap, false, 0);
        }
        // Its triggers fire on a manual clock.
        for t in (0..2000).step_by(100) {
            rt.poll(t);
        }
        runtime_common::check_invariants(&rt);
    }
});
