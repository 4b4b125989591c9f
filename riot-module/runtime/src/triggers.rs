//! Timer and sensor triggers, driven by `poll(now)`.
//!
//! Each declared trigger has a state: when it is next due, the last sensor
//! value seen, the value a delta is measured from, and how often it fired.
//! A timer fires every period, without drift (the next deadline is the
//! previous one plus the period; when the runtime polled too late to keep
//! up, missed periods are skipped rather than run in a burst). A sensor
//! trigger reads `val[0]` of the SAUL device at its position every period:
//! the first reading is the baseline; `rising` fires when the value goes
//! from below the threshold to at or above it, `falling` the other way,
//! `delta` when it moved at least `value` from the reading that last fired
//! it (or the baseline). A failed read fires nothing.
//!
//! A fired trigger runs its entry with the 28-byte event
//! (`alkyl_trigger_event_t`, [`event_bytes`]) as read-only input in
//! `r1`/`r2`.
//!
//! # Fairness
//! Fired triggers wait in a queue (one entry per trigger at most: a trigger
//! that fires again while still queued is skipped, as a late poll skips
//! periods); `Runtime::poll` runs one of them per call, so the host serves
//! its requests between trigger runs. Each app's trigger runs may take
//! `Config::trigger_share_ms` of wall time per second (its [`Shares`]
//! window: one second from its first charged run); an app over its share
//! is throttled: its firings are dropped, and counted, until its second
//! is over.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;

use alkyl_bindings::{phydat_to_bytes, Phydat};

use crate::envelope::{TriggerKind, TriggerRepr};
use crate::name::AppName;

/// Bytes of the event a triggered run receives.
pub const EVENT_LEN: usize = 28;

// The event and the kinds are the ones `alkyl.h` promises scripts.
const _: () = assert!(core::mem::size_of::<alkyl_bindings::generated::alkyl_trigger_event_t>() == EVENT_LEN);
const _: () = assert!(TriggerKind::Timer as u32 == alkyl_bindings::generated::ALKYL_TRIGGER_TIMER);
const _: () = assert!(TriggerKind::Rising as u32 == alkyl_bindings::generated::ALKYL_TRIGGER_RISING);
const _: () = assert!(TriggerKind::Falling as u32 == alkyl_bindings::generated::ALKYL_TRIGGER_FALLING);
const _: () = assert!(TriggerKind::Delta as u32 == alkyl_bindings::generated::ALKYL_TRIGGER_DELTA);

/// The state of one trigger.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct State {
    /// Next due time; `None` until the first poll after (re)configuration.
    next_ms: Option<u64>,
    /// The last reading.
    last: Option<i16>,
    /// What a delta is measured from.
    base: Option<i16>,
    fired: u32,
}

/// A trigger that fired: run `app`'s trigger `index` with this event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Firing {
    pub app: AppName,
    pub index: u8,
    pub event: [u8; EVENT_LEN],
}

/// The states of every app's triggers, the firings waiting to run and
/// each app's share of time.
#[derive(Clone, Debug, Default)]
pub struct Schedule {
    states: BTreeMap<(AppName, u8), State>,
    pending: VecDeque<Firing>,
    shares: Shares,
}

/// Length of a fairness window.
pub const WINDOW_MS: u64 = 1000;

/// Each app's use of its trigger share in the current window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Window {
    start_ms: u64,
    used_us: u64,
}

/// Per-app accounting of trigger run time ([module docs](self), "Fairness").
#[derive(Clone, Debug, Default)]
pub struct Shares {
    windows: BTreeMap<AppName, Window>,
    /// Firings dropped because their app was over its share, per app.
    throttled: BTreeMap<AppName, u64>,
}

impl Shares {
    fn window(&mut self, app: &AppName, now_ms: u64) -> &mut Window {
        let w = self.windows.entry(app.clone()).or_insert(Window { start_ms: now_ms, used_us: 0 });
        if now_ms.saturating_sub(w.start_ms) >= WINDOW_MS || now_ms < w.start_ms {
            *w = Window { start_ms: now_ms, used_us: 0 };
        }
        w
    }

    /// Whether `app` may run a trigger at `now_ms` with `share_us` per window.
    pub fn allows(&mut self, app: &AppName, now_ms: u64, share_us: u64) -> bool {
        self.window(app, now_ms).used_us < share_us
    }

    /// Charges `used_us` of run time to `app`; true when that used up its share.
    pub fn charge(&mut self, app: &AppName, now_ms: u64, used_us: u64, share_us: u64) -> bool {
        let w = self.window(app, now_ms);
        let before = w.used_us;
        w.used_us = w.used_us.saturating_add(used_us);
        before < share_us && w.used_us >= share_us
    }

    /// Firings of `app` dropped for being over its share.
    pub fn throttled(&self, app: &AppName) -> u64 {
        self.throttled.get(app).copied().unwrap_or(0)
    }

    fn remove(&mut self, app: &AppName) {
        self.windows.remove(app);
        self.throttled.remove(app);
    }
}

/// Encodes an `alkyl_trigger_event_t`.
pub fn event_bytes(
    kind: TriggerKind,
    index: u8,
    sensor: u8,
    now_ms: u64,
    count: u32,
    value: &Phydat,
) -> [u8; EVENT_LEN] {
    let mut e = [0u8; EVENT_LEN];
    e[0..4].copy_from_slice(&(kind as u32).to_le_bytes());
    e[4..8].copy_from_slice(&(index as u32).to_le_bytes());
    e[8..12].copy_from_slice(&(sensor as u32).to_le_bytes());
    e[12..16].copy_from_slice(&(now_ms as u32).to_le_bytes());
    e[16..20].copy_from_slice(&count.to_le_bytes());
    e[20..28].copy_from_slice(&phydat_to_bytes(value));
    e
}

impl Schedule {
    /// (Re)starts the triggers of `app`: `count` of them, fresh state.
    pub fn reset(&mut self, app: &AppName, count: usize) {
        self.remove(app);
        for i in 0..count.min(u8::MAX as usize) {
            self.states.insert((app.clone(), i as u8), State::default());
        }
    }

    /// Forgets the triggers of `app`, its queued firings and its share.
    pub fn remove(&mut self, app: &AppName) {
        self.states.retain(|(a, _), _| a != app);
        self.pending.retain(|f| &f.app != app);
        self.shares.remove(app);
    }

    /// Queues fired triggers; a trigger still queued is not queued twice.
    pub fn enqueue(&mut self, firings: Vec<Firing>) {
        for f in firings {
            if !self.pending.iter().any(|p| p.app == f.app && p.index == f.index) {
                self.pending.push_back(f);
            }
        }
    }

    /// Whether firings wait to run.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The next queued firing whose app is within its share at `now_ms`;
    /// firings of throttled apps before it are dropped and counted.
    pub fn next_firing(&mut self, now_ms: u64, share_us: u64) -> Option<Firing> {
        while let Some(f) = self.pending.pop_front() {
            if self.shares.allows(&f.app, now_ms, share_us) {
                return Some(f);
            }
            *self.shares.throttled.entry(f.app).or_default() += 1;
        }
        None
    }

    /// Firings of `app` dropped for being over its share.
    pub fn throttled(&self, app: &AppName) -> u64 {
        self.shares.throttled(app)
    }

    /// The apps' shares.
    pub fn shares(&mut self) -> &mut Shares {
        &mut self.shares
    }

    /// The earliest due time of the started triggers (unstarted ones are
    /// reported by [`Schedule::has_unstarted`]: poll at once).
    pub fn next_due(&self) -> Option<u64> {
        self.states.values().filter_map(|s| s.next_ms).min()
    }

    /// Whether some trigger has not been started by a poll yet.
    pub fn has_unstarted(&self) -> bool {
        self.states.values().any(|s| s.next_ms.is_none())
    }

    /// Advances every trigger to `now_ms`. `triggers` gives each app's
    /// declarations; `read` reads a sensor by SAUL position. Returns the
    /// triggers that fired, in app and index order.
    pub fn poll<'t>(
        &mut self,
        now_ms: u64,
        triggers: impl Fn(&AppName) -> Option<&'t [TriggerRepr]>,
        mut read: impl FnMut(u8) -> Option<Phydat>,
    ) -> Vec<Firing> {
        let mut fired = Vec::new();
        for ((app, index), state) in self.states.iter_mut() {
            let Some(t) = triggers(app).and_then(|ts| ts.get(*index as usize)) else { continue };
            let period = t.period_ms.max(1) as u64;
            let due = match state.next_ms {
                None => {
                    // First poll: timers start one period from now; sensors
                    // take their baseline now.
                    let first = if t.kind == TriggerKind::Timer { now_ms.saturating_add(period) } else { now_ms };
                    state.next_ms = Some(first);
                    first
                }
                Some(d) => d,
            };
            if now_ms < due {
                continue;
            }
            let next = due.saturating_add(period);
            state.next_ms = Some(if next <= now_ms { now_ms.saturating_add(period) } else { next });
            let value = match t.kind {
                TriggerKind::Timer => Phydat { val: [0; 3], unit: 0, scale: 0 },
                _ => {
                    let Some(v) = read(t.sensor) else { continue };
                    v
                }
            };
            let v = value.val[0];
            let fire = match t.kind {
                TriggerKind::Timer => true,
                TriggerKind::Rising => state.last.is_some_and(|p| (p as i32) < t.value && v as i32 >= t.value),
                TriggerKind::Falling => state.last.is_some_and(|p| (p as i32) >= t.value && (v as i32) < t.value),
                TriggerKind::Delta => {
                    state.base.is_some_and(|b| (v as i32 - b as i32).unsigned_abs() >= t.value.unsigned_abs())
                }
            };
            state.last = Some(v);
            if state.base.is_none() || (fire && t.kind == TriggerKind::Delta) {
                state.base = Some(v);
            }
            if fire {
                state.fired = state.fired.saturating_add(1);
                fired.push(Firing {
                    app: app.clone(),
                    index: *index,
                    event: event_bytes(t.kind, *index, t.sensor, now_ms, state.fired, &value),
                });
            }
        }
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name() -> AppName {
        AppName::new(b"a").unwrap()
    }

    fn t(kind: TriggerKind, value: i32, period_ms: u32) -> TriggerRepr {
        TriggerRepr { kind, sensor: 2, period_ms, value, entry: None }
    }

    fn val(v: i16) -> Phydat {
        Phydat { val: [v, 0, 0], unit: 2, scale: -2 }
    }

    /// Polls at `times` with sensor readings `values` (one per poll); returns
    /// the times at which the trigger fired.
    fn run(trigger: TriggerRepr, times: &[u64], values: &[i16]) -> Vec<u64> {
        let ts = [trigger];
        let mut s = Schedule::default();
        s.reset(&name(), 1);
        let mut out = Vec::new();
        for (i, &now) in times.iter().enumerate() {
            let v = values.get(i).copied();
            let f = s.poll(
                now,
                |_| Some(&ts[..]),
                |sensor| {
                    assert_eq!(sensor, 2);
                    v.map(val)
                },
            );
            out.extend(f.iter().map(|_| now));
        }
        out
    }

    #[test]
    fn timer_without_drift_or_burst() {
        let tr = TriggerRepr { kind: TriggerKind::Timer, sensor: 0, period_ms: 100, value: 0, entry: None };
        // Starts one period after the first poll; late polls do not shift the phase.
        assert_eq!(run(tr.clone(), &[0, 50, 100, 130, 199, 200, 305], &[]), [100, 200, 305]);
        // Far too late: one run, then back to a period from now.
        assert_eq!(run(tr.clone(), &[0, 100, 1000, 1050, 1100], &[]), [100, 1000, 1100]);
        let mut s = Schedule::default();
        s.reset(&name(), 1);
        assert!(s.has_unstarted());
        let ts = [tr];
        s.poll(10, |_| Some(&ts[..]), |_| None);
        assert_eq!(s.next_due(), Some(110));
        assert!(!s.has_unstarted());
    }

    #[test]
    fn rising_and_falling() {
        let times: Vec<u64> = (0..8).map(|i| i * 10).collect();
        let values = [2100, 2150, 2200, 2250, 2199, 2200, 2200, 2100];
        // Rising through 2200: at 20 (2150 -> 2200) and at 50 (2199 -> 2200).
        assert_eq!(run(t(TriggerKind::Rising, 2200, 10), &times, &values), [20, 50]);
        // Falling below 2200: at 40 (2250 -> 2199) and 70 (2200 -> 2100).
        assert_eq!(run(t(TriggerKind::Falling, 2200, 10), &times, &values), [40, 70]);
        // Starting above the threshold does not fire rising.
        assert_eq!(run(t(TriggerKind::Rising, 2000, 10), &times, &values), Vec::<u64>::new());
    }

    #[test]
    fn delta_from_the_last_firing() {
        let times: Vec<u64> = (0..6).map(|i| i * 10).collect();
        let values = [100, 140, 149, 151, 120, 99];
        // |v - base| >= 50: 151 (base 100) fires, base 151; 99 (52 below) fires.
        assert_eq!(run(t(TriggerKind::Delta, 50, 10), &times, &values), [30, 50]);
    }

    #[test]
    fn sensor_polling_period_and_read_failures() {
        // Period 100: polls at 0 (baseline), 50 (not due), 100 (read), 150, 200.
        let values = [0, 5000, 5000, 5000, 5000];
        assert_eq!(run(t(TriggerKind::Rising, 10, 100), &[0, 50, 100, 150, 200], &values), [100]);
        // Failed reads fire nothing and keep the previous reading.
        let ts = [t(TriggerKind::Rising, 10, 10)];
        let mut s = Schedule::default();
        s.reset(&name(), 1);
        let readings = [Some(0), None, Some(20)];
        let mut fired = Vec::new();
        for (i, r) in readings.iter().enumerate() {
            fired.extend(s.poll(i as u64 * 10, |_| Some(&ts[..]), |_| r.map(val)));
        }
        assert_eq!(fired.len(), 1);
        let e = &fired[0].event;
        assert_eq!(u32::from_le_bytes(e[0..4].try_into().unwrap()), TriggerKind::Rising as u32);
        assert_eq!(u32::from_le_bytes(e[8..12].try_into().unwrap()), 2);
        assert_eq!(u32::from_le_bytes(e[12..16].try_into().unwrap()), 20);
        assert_eq!(u32::from_le_bytes(e[16..20].try_into().unwrap()), 1);
        assert_eq!(i16::from_le_bytes(e[20..22].try_into().unwrap()), 20);
        assert_eq!(e[27] as i8, -2);
    }

    #[test]
    fn queued_once_and_throttled_beyond_the_share() {
        use alloc::vec;
        let mut s = Schedule::default();
        let a = name();
        let f = |index| Firing { app: a.clone(), index, event: [0; EVENT_LEN] };
        s.enqueue(vec![f(0), f(1), f(0)]);
        s.enqueue(vec![f(1)]);
        assert_eq!(s.pending.len(), 2);
        // A 10 ms share: a 12 ms run uses it up; the next firing is dropped.
        assert_eq!(s.next_firing(0, 10_000), Some(f(0)));
        assert!(s.shares().charge(&a, 0, 12_000, 10_000));
        assert_eq!(s.next_firing(5, 10_000), None);
        assert_eq!(s.shares().throttled(&a), 1);
        assert!(!s.has_pending());
        // A second later the app runs again.
        s.enqueue(vec![f(1)]);
        assert_eq!(s.next_firing(1000, 10_000), Some(f(1)));
        assert!(!s.shares().charge(&a, 1000, 1_000, 10_000));
        s.remove(&a);
        assert_eq!(s.shares().throttled(&a), 0);
    }

    #[test]
    fn reset_and_remove() {
        let mut s = Schedule::default();
        s.reset(&name(), 2);
        s.reset(&AppName::new(b"b").unwrap(), 1);
        assert_eq!(s.states.len(), 3);
        s.reset(&name(), 1);
        assert_eq!(s.states.len(), 2);
        s.remove(&name());
        assert_eq!(s.states.len(), 1);
        // Triggers of apps without declarations are skipped.
        assert!(s.poll(0, |_| None, |_| None).is_empty());
    }
}
