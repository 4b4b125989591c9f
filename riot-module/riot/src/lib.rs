//! Alkyl on RIOT OS: the firmware's application crate.
//!
//! Thin glue between RIOT (through `riot-wrappers`: gcoap, SAUL, ztimer,
//! stdio) and the Alkyl VM. On boot it runs the built-in Fletcher32 program
//! as a self-test, lists the SAUL devices, and then serves one CoAP
//! [`Handler`](coap_handler::Handler) tree through gcoap:
//!
//! - `POST /alkyl/run`: the built-in Fletcher32 program over the request
//!   payload (read-only, address in `r1`, length in `r2`).
//! - `POST /alkyl/exec`: the payload *is* an eBPF program (raw 8-byte
//!   slots), run with an empty input.
//!
//! Both answer 2.04 with `r0` as text `0x…`, 4.00 with the verifier's
//! diagnostic, or 4.22 with the trap. The tree is built in [`coap::tree`];
//! the portable runtime (`alkyl-runtime`) will replace it with its own tree,
//! registered in the same single place in [`main`].
#![no_std]
#![deny(unsafe_code)]

mod allocator;
mod boot;
mod builtin;
mod coap;
mod execution;
#[cfg(target_os = "linux")]
mod native;
mod text;

use riot_wrappers::{gcoap, println, riot_main, ztimer};

riot_main!(main);

fn main() {
    println!("Alkyl {} on RIOT", env!("CARGO_PKG_VERSION"));
    boot::self_test();
    boot::list_sensors();

    let mut handler = riot_wrappers::coap_handler::v0_2::GcoapHandler(coap::tree());
    let mut listener = gcoap::SingleHandlerListener::new_catch_all(&mut handler);

    gcoap::scope(|greg| {
        greg.register(&mut listener);
        println!("CoAP server ready: POST /alkyl/run, POST /alkyl/exec");

        let msec = ztimer::Clock::msec();
        // Addresses are assigned (SLAAC, link-local DAD) shortly after boot.
        msec.sleep(ztimer::Ticks(2_000));
        boot::list_addresses();

        // main must not return while the handler is registered: gcoap
        // cannot unregister it.
        loop {
            msec.sleep(ztimer::Ticks(60_000));
        }
    })
}
