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
use alkyl_bindings::Platform as _;
use alkyl_vm::{HelperError, Trap, TrapKind};

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
    /// The run has the budget and a wall-time limit of
    /// `Config::max_run_ms` from `now_ms` (a waiting helper past it traps
    /// with `TrapKind::TimeLimit`). Its key-value writes are saved before
    /// it returns; when they cannot be, they are undone, the run is not
    /// recorded, and it fails with [`Rejection::Storage`].
    ///
    /// # Errors
    /// [`Rejection::NoApp`], [`Rejection::NoEntry`],
    /// [`Rejection::Storage`]. A trap is not an error here: it is the run's
    /// recorded outcome.
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
        let reports_before = self.reports.queue.len();
        let mut platform = RunPlatform {
            device: &mut self.device,
            kv: &mut self.kv,
            app: name,
            max_sleep_us: self.config.max_sleep_us,
            deadline_us: now_ms.saturating_add(self.config.max_run_ms).saturating_mul(1000),
            unix_ms: self.clock.map(|c| c.unix_ms_at(now_ms)),
            reports: &mut self.reports,
            max_reports: self.config.max_reports,
            reported: false,
        };
        let kind = app.meta().kind;
        let (loaded, data) = app.run_parts();
        platform.kv.begin();
        let outcome = execute(loaded, data, inv, &mut self.buffers, &mut platform);
        let reported = platform.reported;
        let timed_out = platform.overdue();
        let result = match outcome.result {
            // A waiting helper ended the run at its wall-time limit.
            Err(Trap { pc, kind: TrapKind::Helper { error: HelperError::Aborted, .. } }) if timed_out => {
                Err(Trap { pc, kind: TrapKind::TimeLimit })
            }
            r => r,
        };
        let run = LastRun {
            at_ms: now_ms,
            cause,
            outcome: result.map(|exit| RunOutput { r0: exit.r0, executed: exit.executed, response: outcome.response }),
            kind,
        };
        // A run's key-value writes are durable before it is answered, or
        // undone and the run fails.
        if let Err(e) = self.persist_kv() {
            if self.kv.run_changed() {
                self.kv.rollback();
                // Records saved with the run's writes get the old values back
                // (or stay dirty, retried after the next run).
                let _ = self.persist_kv();
                // Its reports go too (their sequences are not reused).
                self.reports.queue.truncate(reports_before);
                return Err(Rejection::Storage(e));
            }
        }
        self.kv.commit();
        if reported {
            self.persist_reports();
        }
        if let Some(app) = self.store.apps.get_mut(name) {
            app.record(run.clone());
        }
        Ok(run)
    }

    /// Advances timers and sensor triggers to `now_ms`, runs at most one
    /// fired trigger (its app within its share of time: `triggers`,
    /// "Fairness"), and expires stale uploads. Returns when to poll next
    /// ([`Runtime::poll_at`]): at once while fired triggers wait, so that
    /// the host serves its requests between trigger runs.
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
        self.schedule.enqueue(firings);
        let share_us = self.config.trigger_share_ms.saturating_mul(1000);
        if let Some(f) = self.schedule.next_firing(now_ms, share_us) {
            let entry: Option<Vec<u8>> = self
                .store
                .get(&f.app)
                .and_then(|a| a.meta.triggers.get(f.index as usize))
                .and_then(|t| t.entry.as_ref().map(|e| e.as_bytes().to_vec()));
            // The app and its entry exist (checked at install); a run's
            // trap is recorded in the app, not returned.
            let start = self.device.now_us();
            let _ = self.invoke(&f.app, entry.as_deref(), &f.event, Cause::Trigger { index: f.index }, false, now_ms);
            let used = self.device.now_us().saturating_sub(start);
            if self.schedule.shares().charge(&f.app, now_ms, used, share_us) {
                let share = self.config.trigger_share_ms;
                let line = alkyl_vm::describe::text(&("trigger runs throttled: over ", share, " ms in a second"));
                self.device.log(&f.app, line.as_bytes());
            }
        }
        self.poll_at()
    }

    /// Trigger firings of `name` dropped because it was over its share.
    pub fn throttled(&self, name: &AppName) -> u64 {
        self.schedule.throttled(name)
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
