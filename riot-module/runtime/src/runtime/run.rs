//! Running apps: on a CoAP request ([`Runtime::invoke`]), on timers and
//! sensor events ([`Runtime::poll`]). Every run goes through
//! `exec::execute` with the configured budget; its outcome, trap included,
//! is recorded as the app's last run.

use alloc::string::String;
use alloc::vec::Vec;

use alkyl_bindings::{DeviceHandle, Phydat};

use crate::app::{Cause, LastRun, RunOutput};
use crate::device::{Device, RunPlatform, SaulInfo};
use crate::error::Rejection;
use crate::exec::{execute, RunRequest};
use crate::name::AppName;
use crate::storage::Storage;

use super::Runtime;

/// Most devices a sensor listing reads.
const MAX_LISTED_DEVICES: u32 = 64;

/// One device in a sensor listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SensorReading {
    /// Its SAUL position.
    pub index: u32,
    pub info: SaulInfo,
    /// Its value and dimensions, if it can be read.
    pub value: Option<(Phydat, u8)>,
}

impl<S: Storage, D: Device> Runtime<S, D> {
    /// Runs `name` from `entry` (`None`: its first instruction) with
    /// `payload` as read-only input in `r1`/`r2`, at `now_ms` (the time of
    /// the request or of the [`Runtime::poll`] that fired it: the runtime
    /// does not read the clock itself). With `coap`, the run gets a packet
    /// buffer and a CoAP context in `r3`, as a request handler. The stack
    /// and packet buffer are the runtime's own, allocated once.
    ///
    /// # Errors
    /// [`Rejection::NoApp`], [`Rejection::NoEntry`]. A trap is not an
    /// error here: it is the run's recorded outcome.
    pub fn invoke(
        &mut self,
        name: &AppName,
        entry: Option<&[u8]>,
        payload: &[u8],
        cause: Cause,
        coap: bool,
        now_ms: u64,
    ) -> Result<LastRun, Rejection> {
        let sequence = self.store.sequence_of(name);
        let app = self.store.apps.get_mut(name).ok_or(Rejection::NoApp { sequence })?;
        let entry = app.entry(entry).ok_or(Rejection::NoEntry)?;
        let inv = RunRequest {
            entry,
            input: payload,
            coap_buffer: coap.then_some(self.config.coap_buffer_len),
            budget: self.config.budget,
        };
        let mut platform = RunPlatform {
            device: &mut self.device,
            kv: &mut self.kv,
            app: name,
            max_sleep_us: self.config.max_sleep_us,
            unix_ms: self.clock.map(|c| c.unix_ms_at(now_ms)),
            reports: &mut self.reports,
            max_reports: self.config.max_reports,
            reported: false,
        };
        let kind = app.meta().kind;
        let (loaded, data) = app.run_parts();
        let outcome = execute(loaded, data, inv, &mut self.buffers, &mut platform);
        let reported = platform.reported;
        let run = LastRun {
            at_ms: now_ms,
            cause,
            outcome: outcome.result.map(|exit| RunOutput {
                r0: exit.r0,
                executed: exit.executed,
                response: outcome.response,
            }),
            kind,
        };
        app.record(run.clone());
        self.persist_kv();
        if reported {
            self.persist_reports();
        }
        Ok(run)
    }

    /// Advances timers and sensor triggers to `now_ms`, running what fired,
    /// and expires stale uploads. Returns when to poll next
    /// ([`Runtime::poll_at`]).
    pub fn poll(&mut self, now_ms: u64) -> Option<u64> {
        self.uploads.expire(now_ms);
        let store = &self.store;
        let device = &mut self.device;
        let firings = self.schedule.poll(
            now_ms,
            |name| store.get(name).map(|a| &a.meta.triggers[..]),
            |pos| {
                let dev = device.saul_find_nth(pos as u32)?;
                device.saul_read(dev).ok().map(|(v, _)| v)
            },
        );
        for f in firings {
            let entry: Option<Vec<u8>> = self
                .store
                .get(&f.app)
                .and_then(|a| a.meta.triggers.get(f.index as usize))
                .and_then(|t| t.entry.as_ref().map(|e| e.as_bytes().to_vec()));
            // The app and its entry exist (checked at install); a run's
            // trap is recorded in the app, not returned.
            let _ = self.invoke(&f.app, entry.as_deref(), &f.event, Cause::Trigger { index: f.index }, false, now_ms);
        }
        self.poll_at()
    }

    /// Every sensor and actuator, in SAUL order, with its value.
    pub fn sensors(&mut self) -> Vec<SensorReading> {
        let mut out = Vec::new();
        for index in 0..MAX_LISTED_DEVICES {
            let Some(dev) = self.device.saul_find_nth(index) else { break };
            let info = self.device.saul_info(dev).unwrap_or(SaulInfo { name: String::new(), class: 0 });
            let value = self.device.saul_read(dev).ok();
            out.push(SensorReading { index, info, value });
        }
        out
    }

    /// The device at SAUL position `index`.
    pub fn sensor_handle(&mut self, index: u32) -> Option<DeviceHandle> {
        self.device.saul_find_nth(index)
    }
}
