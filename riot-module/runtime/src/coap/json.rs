//! The JSON documents of the API (`application/json`, Content-Format 50):
//! app listings, app metadata, sensors. Field names are documented in
//! `docs/coap-api.md`.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use alkyl_bindings::helpers::fmt::s16_dfp;
use serde::Serialize;

use crate::app::{App, Cause, LastRun, TrapText};
use crate::device::Device;
use crate::envelope::{TriggerKind, TriggerRepr};
use crate::reports::{Report, Reports};
use crate::runtime::{Runtime, SensorReading};
use crate::storage::Storage;

/// One entry of `GET /apps`.
#[derive(Debug, Serialize)]
pub struct AppSummary<'a> {
    pub name: &'a str,
    pub version: u32,
    pub size: usize,
    pub runs: u64,
}

impl<'a> AppSummary<'a> {
    pub fn of(app: &'a App) -> Self {
        AppSummary {
            name: app.meta().name.as_str(),
            version: app.meta().version,
            size: app.container().len(),
            runs: app.stats().runs,
        }
    }
}

/// A declared trigger.
#[derive(Debug, Serialize)]
pub struct TriggerJson<'a> {
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensor: Option<u8>,
    pub period_ms: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<i32>,
    pub entry: Option<&'a str>,
    /// The command-line form (`alkyl upload --trigger`).
    pub spec: String,
}

impl<'a> TriggerJson<'a> {
    pub fn of(t: &'a TriggerRepr) -> Self {
        let sensor_kind = t.kind != TriggerKind::Timer;
        TriggerJson {
            kind: t.kind.as_str(),
            sensor: sensor_kind.then_some(t.sensor),
            period_ms: t.period_ms,
            value: sensor_kind.then_some(t.value),
            entry: t.entry.as_deref(),
            spec: format!("{t}"),
        }
    }
}

/// The last run.
#[derive(Debug, Serialize)]
pub struct RunJson {
    pub at_ms: u64,
    /// `coap`, or `trigger N`.
    pub cause: String,
    /// `r0` as `0x…` (absent after a trap).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub r0: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executed: Option<u64>,
    /// What `GET /apps/NAME/result` shows.
    pub result: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RunJson {
    pub fn of(run: &LastRun) -> Self {
        let cause = match run.cause {
            Cause::Coap => String::from("coap"),
            Cause::Trigger { index } => format!("trigger {index}"),
        };
        let result = String::from_utf8_lossy(&run.result_text()).into_owned();
        match &run.outcome {
            Ok(o) => RunJson {
                at_ms: run.at_ms,
                cause,
                r0: Some(format!("{:#x}", o.r0)),
                executed: Some(o.executed),
                result,
                error: None,
            },
            Err(t) => {
                let error = Some(format!("{}", TrapText { trap: t, kind: run.kind }));
                RunJson { at_ms: run.at_ms, cause, r0: None, executed: None, result, error }
            }
        }
    }
}

/// The last trap, kept after later successful runs.
#[derive(Debug, Serialize)]
pub struct ErrorJson {
    pub at_ms: u64,
    pub error: String,
}

/// `GET /apps/NAME`.
#[derive(Debug, Serialize)]
pub struct AppDetail<'a> {
    pub name: &'a str,
    pub version: u32,
    pub sequence: u32,
    pub kind: &'static str,
    /// Container bytes.
    pub size: usize,
    /// `.data` + `.bss` bytes.
    pub data_size: usize,
    pub stack_size: usize,
    /// SHA-256 of the container, hex.
    pub sha256: String,
    pub entries: Vec<String>,
    /// Entries anyone may run (`*`: all; `""`: the first instruction);
    /// every other entry needs a signed invocation.
    pub open: &'a [String],
    pub triggers: Vec<TriggerJson<'a>>,
    pub runs: u64,
    pub traps: u64,
    pub last_run: Option<RunJson>,
    pub last_error: Option<ErrorJson>,
}

impl<'a> AppDetail<'a> {
    pub fn of(app: &'a App) -> Self {
        let meta = app.meta();
        let stats = app.stats();
        AppDetail {
            name: meta.name.as_str(),
            version: meta.version,
            sequence: meta.sequence,
            kind: meta.kind.as_str(),
            size: app.container().len(),
            data_size: app.script().data_size(),
            stack_size: app.script().stack_size(),
            sha256: app.hash().iter().map(|b| format!("{b:02x}")).collect(),
            entries: app.entry_names().map(|n| String::from_utf8_lossy(n).into_owned()).collect(),
            open: &meta.open,
            triggers: meta.triggers.iter().map(TriggerJson::of).collect(),
            runs: stats.runs,
            traps: stats.traps,
            last_run: stats.last.as_ref().map(RunJson::of),
            last_error: stats
                .last_error
                .map(|(at_ms, t)| ErrorJson { at_ms, error: format!("{}", TrapText { trap: &t, kind: meta.kind }) }),
        }
    }
}

/// `GET /auth`: who the device trusts and how far each key's commands got.
#[derive(Debug, Serialize)]
pub struct AuthJson {
    /// The id of the device's own key (`null`: it has none; reports are
    /// then unsigned).
    pub device_id: Option<String>,
    /// The device's public key, hex (what a gateway pins to check reports).
    pub device_key: Option<String>,
    /// Ids of the trusted keys.
    pub trusted: Vec<String>,
    /// Highest signed-command sequence accepted, per key id.
    pub sequences: BTreeMap<String, u64>,
    /// Unix milliseconds, once the clock is set.
    pub unix_ms: Option<u64>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl AuthJson {
    pub fn of<S: Storage, D: Device>(rt: &mut Runtime<S, D>) -> Self {
        let now = rt.device().now_ms();
        AuthJson {
            device_id: rt.device_id().map(|k| format!("{k}")),
            device_key: rt.device_public_key().map(|k| hex(&k)),
            trusted: rt.authority().key_ids().map(|k| format!("{k}")).collect(),
            sequences: rt.command_sequences().map(|(k, s)| (format!("{k}"), s)).collect(),
            unix_ms: rt.unix_ms(now),
        }
    }
}

/// One report of `GET /reports`.
#[derive(Debug, Serialize)]
pub struct ReportJson<'a> {
    pub sequence: u64,
    pub app: &'a str,
    pub unix_ms: Option<u64>,
    /// The payload, hex.
    pub payload: String,
    /// The payload as text, when it is UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<&'a str>,
}

impl<'a> ReportJson<'a> {
    fn of(r: &'a Report) -> Self {
        ReportJson {
            sequence: r.sequence,
            app: r.app.as_str(),
            unix_ms: r.unix_ms,
            payload: hex(&r.payload),
            text: core::str::from_utf8(&r.payload).ok(),
        }
    }
}

/// `GET /reports`: the queue and the last reports delivered.
#[derive(Debug, Serialize)]
pub struct ReportsJson<'a> {
    pub pending: Vec<ReportJson<'a>>,
    /// Reports delivered since the device was first started.
    pub delivered: u64,
    /// The last ones delivered (at most 8), oldest first.
    pub recent: Vec<ReportJson<'a>>,
    /// When the next attempt is due (ms since boot), if any is pending.
    pub next_attempt_ms: Option<u64>,
}

impl<'a> ReportsJson<'a> {
    pub fn of(r: &'a Reports) -> Self {
        ReportsJson {
            pending: r.pending().map(ReportJson::of).collect(),
            delivered: r.delivered_count(),
            recent: r.recent().map(ReportJson::of).collect(),
            next_attempt_ms: r.next_attempt(),
        }
    }
}

/// One device of `GET /sensors`.
#[derive(Debug, Serialize)]
pub struct SensorJson<'a> {
    pub index: u32,
    pub name: &'a str,
    /// SAUL class (RIOT's numbering).
    pub class: u8,
    /// `sensor` or `actuator`.
    pub kind: &'static str,
    /// `val[0..dims]` (absent when the device cannot be read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Vec<i16>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale: Option<i8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<i8>,
    /// The value as text (`21.50`; dimensions separated by `,`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl<'a> SensorJson<'a> {
    pub fn of(r: &'a SensorReading) -> Self {
        let (value, scale, unit, text) = match &r.value {
            Some((p, dims)) => {
                let vals: Vec<i16> = p.val[..(*dims as usize).clamp(1, 3)].to_vec();
                let text = vals
                    .iter()
                    .map(|&v| {
                        s16_dfp(v, -(p.scale as i32))
                            .map(|d| String::from_utf8_lossy(d.as_bytes()).into_owned())
                            .unwrap_or_else(|| format!("{v}e{}", p.scale))
                    })
                    .collect::<Vec<_>>()
                    .join(",");
                (Some(vals), Some(p.scale), Some(p.unit), Some(text))
            }
            None => (None, None, None, None),
        };
        SensorJson {
            index: r.index,
            name: &r.info.name,
            class: r.info.class,
            kind: if r.info.is_actuator() { "actuator" } else { "sensor" },
            value,
            scale,
            unit,
            text,
        }
    }
}

/// Serializes a document (cannot fail for these types; an empty object
/// otherwise).
pub fn to_vec<T: Serialize>(doc: &T) -> Vec<u8> {
    serde_json::to_vec(doc).unwrap_or_else(|_| b"{}".to_vec())
}
