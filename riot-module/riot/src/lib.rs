//! Alkyl on RIOT OS: the firmware's application crate.
//!
//! Thin glue between RIOT (through `riot-wrappers`: gcoap, SAUL, ztimer,
//! stdio) and the portable device runtime (`alkyl-runtime`), which serves
//! the same CoAP API as `alkyl-node` (`docs/coap-api.md`). At boot it:
//!
//! 1. runs the built-in Fletcher32 program on the VM as a self-test;
//! 2. lists the SAUL devices (on native boards, after registering the
//!    simulated ones of `sim.rs`);
//! 3. starts the runtime ([`Runtime::new`]) over RAM storage, with the
//!    public key compiled in from `ALKYL_TRUSTED_KEY` (none: every change is
//!    refused), the device's own key from `ALKYL_DEVICE_KEY` (signs its
//!    reports) and the quotas in [`CONFIG`];
//! 4. registers the runtime with gcoap as one catch-all handler, behind a
//!    mutex it shares with the main loop;
//! 5. loops: [`Runtime::poll`] (timers, sensor triggers, upload expiry),
//!    report delivery to the gateway compiled in from `ALKYL_GATEWAY`
//!    (`gateway.rs`), then sleeps until the next due time, at most
//!    [`MAX_IDLE_MS`].
#![no_std]
#![deny(unsafe_code)]

extern crate alloc;

mod allocator;
mod boot;
mod builtin;
mod console;
mod device;
mod execution;
// The flash region needs unsafe (flashpage writes, linker symbols): allowed
// in that module only, under the crate's deny.
#[allow(unsafe_code)]
mod flash;
mod gateway;
#[cfg(target_os = "linux")]
mod native;
#[cfg(target_os = "linux")]
mod sim;

use alkyl_flash::FlashStorage;
use alkyl_runtime::coap::{Lock, Shared};
use alkyl_runtime::{Authority, Config, Device as _, EitherStorage, KeyId, RamStorage, Runtime};
use embedded_nal::UdpClientStack as _;
use riot_wrappers::coap_handler::v0_2::GcoapHandler;
use riot_wrappers::mutex::Mutex;
use riot_wrappers::{gcoap, riot_main, socket_embedded_nal, ztimer};

use crate::console::line;
use crate::device::RiotDevice;

mod key {
    include!(concat!(env!("OUT_DIR"), "/trusted_key.rs"));
}

riot_main!(main);

/// Quotas for an nRF52840 (256 KiB RAM, of which the heap gets what RIOT,
/// GNRC, gcoap and the thread stacks leave: 217 KiB). Worst case (records
/// in RAM, when the flash region is unusable), the runtime's heap holds
/// the installed apps twice (in the store and in [`RamStorage`]:
/// 2 × 32 KiB), two uploads in progress (2 × 16 KiB), one
/// install's working copies (about 3 × 16 KiB) and the key-value store
/// (8 × 32 + 64 entries).
pub const CONFIG: Config = Config {
    max_apps: 8,
    max_app_bytes: 16 * 1024,
    max_total_bytes: 32 * 1024,
    max_envelope_bytes: 16 * 1024,
    max_uploads: 2,
    ..Config::DEFAULT
};

/// Bytes of records [`RamStorage`] holds (when the flash region is
/// unusable): the apps' containers and metadata, and the key-value records.
const STORAGE_BYTES: usize = CONFIG.max_total_bytes + 8 * 1024;

/// Longest sleep of the main loop: how late a trigger that a request
/// configured may start, and how often the clocks are read (at least once
/// per 32-bit wrap; see `alkyl_runtime::Widen32`).
pub const MAX_IDLE_MS: u64 = 100;

/// Records in the flash region (flash.rs), or in RAM when it is unusable.
type DeviceStorage = EitherStorage<FlashStorage<flash::Region>, RamStorage>;

type Rt = Runtime<DeviceStorage, RiotDevice>;

/// The runtime behind RIOT's mutex: gcoap's thread handles requests with it
/// locked; the main thread polls with it locked.
struct Locked<'a>(&'a Mutex<Rt>);

impl Lock for Locked<'_> {
    type Storage = DeviceStorage;
    type Device = RiotDevice;

    fn with<R>(&self, f: impl FnOnce(&mut Rt) -> R) -> R {
        f(&mut self.0.lock())
    }
}

fn main() {
    line(&concat!("Alkyl ", env!("CARGO_PKG_VERSION"), " on RIOT"));
    #[cfg(target_os = "linux")]
    sim::register();
    boot::self_test();
    boot::list_sensors();

    let authority = match key::TRUSTED_KEY {
        // build.rs checked the key; refusing changes is the safe fallback.
        Some(k) => match Authority::read_only().trust(&k) {
            Ok(a) => {
                line(&("trusted key: ", KeyId::of(&k)));
                a
            }
            Err(e) => {
                line(&("trusted key ", KeyId::of(&k), ": ", e, ": refusing every change"));
                Authority::read_only()
            }
        },
        None => {
            line(&"no trusted key (built without ALKYL_TRUSTED_KEY): refusing every change (uploads, deletions, trigger changes); serving reads and runs");
            Authority::read_only()
        }
    };
    // The flash store holds DELETE_RESERVE back itself; in RAM, part of
    // the capacity is held back so that deletions work when it is full.
    let (storage, kept) = match flash::open() {
        Some(s) => (EitherStorage::First(s), "flash store: records kept through resets"),
        None => (
            EitherStorage::Second(RamStorage::with_capacity(STORAGE_BYTES).with_reserve(alkyl_runtime::DELETE_RESERVE)),
            "RAM storage: apps are lost at reset",
        ),
    };
    // Both list from RAM (the flash store's index), infallibly.
    let Ok((mut runtime, report)) = Runtime::new(CONFIG, authority, storage, RiotDevice::new()) else {
        panic!("storage failed to list its records")
    };
    for (key, problem) in &report.problems {
        line(&("store: ", key.as_str(), " not loaded: ", problem));
    }
    match key::DEVICE_KEY {
        Some(seed) => {
            runtime.set_device_key(seed);
            if let Some(id) = runtime.device_id() {
                line(&("device key: ", id));
            }
        }
        None => line(&"no device key (built without ALKYL_DEVICE_KEY): reports are unsigned"),
    }
    line(&(
        ("runtime: ", report.apps, " app(s) (", kept),
        ("); quotas: ", CONFIG.max_apps, " apps, ", CONFIG.max_app_bytes),
        (" B per app, ", CONFIG.max_total_bytes, " B in all"),
    ));
    let runtime = Mutex::new(runtime);

    let mut handler = GcoapHandler(Shared(Locked(&runtime)));
    // gcoap puts a new listener first, so this one also answers
    // /.well-known/core (from the runtime's links, Block2-capable).
    let mut listener = gcoap::SingleHandlerListener::new_catch_all(&mut handler);

    gcoap::scope(|greg| {
        greg.register(&mut listener);
        line(&"CoAP server ready: /.well-known/core, /apps, /apps/NAME[/run|/result|/triggers], /invoke, /time, /auth, /reports, /sensors");

        let msec = ztimer::Clock::msec();
        // Addresses are assigned (link-local DAD, SLAAC) shortly after boot.
        msec.sleep(ztimer::Ticks(2_000));
        boot::list_addresses();

        let mut report = boot::Usage::default();
        // One UDP socket, for reports to the gateway.
        let mut stack = socket_embedded_nal::Stack::<1>::new();
        stack.run(|mut net| {
            let seed = Locked(&runtime).with(|rt| rt.device().now_us() as u16);
            let mut gateway = key::GATEWAY.map(|g| gateway::Gateway::new(g, seed));
            let mut socket = None;
            if let Some(g) = &gateway {
                let mut s = net.socket().ok();
                match s.as_mut().map(|s| g.connect(&mut net, s)) {
                    Some(Ok(())) => {
                        line(&("reports go to ", g));
                        socket = s;
                    }
                    _ => line(&"reports: no socket to the gateway; they stay queued"),
                }
            }
            // main must not return while the handler is registered: gcoap
            // cannot unregister it.
            loop {
                let (now, next) = Locked(&runtime).with(|rt| {
                    // Reading both clocks here keeps their 64-bit extension
                    // right (the microsecond one wraps every 71.6 minutes).
                    rt.device().now_us();
                    let now = rt.device().now_ms();
                    let mut next = rt.poll(now);
                    if let (Some(g), Some(s)) = (gateway.as_mut(), socket.as_mut()) {
                        let at = g.step(&mut net, s, rt, now);
                        next = next.into_iter().chain(at).min();
                    }
                    (now, next)
                });
                // A poll runs at most one fired trigger and asks for 0 while
                // more wait: the loop still sleeps 1 ms, in which gcoap's thread
                // takes the lock and serves requests (a signed delete too).
                let wait = next.map_or(MAX_IDLE_MS, |t| t.saturating_sub(now)).clamp(1, MAX_IDLE_MS);
                msec.sleep(ztimer::Ticks(wait as u32));
                report.check(now);
            }
        });
    })
}
