//! The JSON documents of the API (`application/json`, Content-Format 50):
//! app listings, app metadata, sensors. Field names are documented in
//! `docs/coap-api.md`.
//!
//! Written by a fixed writer, [`Json`], not serde: the documents are a
//! handful of flat shapes, and serde_json with the derived serializers cost
//! about 9 KB of flash on a Cortex-M4 (`make bench-size`). The output is
//! what serde_json wrote before, byte for byte: compact, fields in the
//! order below, absent optional fields as documented.

use alloc::vec::Vec;

use alkyl_bindings::helpers::fmt::s16_dfp;
use alkyl_vm::describe::{Describe, Sink};

use crate::app::{App, Cause, LastRun, TrapText};
use crate::device::Device;
use crate::envelope::{TriggerKind, TriggerRepr};
use crate::reports::{Report, Reports};
use crate::runtime::{Runtime, SensorReading};
use crate::storage::Storage;

/// A JSON document being written: values, keys, arrays and objects in
/// document order; commas are placed by the writer.
#[derive(Debug, Default)]
pub struct Json {
    out: Vec<u8>,
    /// A value was written at this level: the next one needs a comma.
    comma: bool,
}

impl Json {
    /// An empty document.
    pub fn new() -> Json {
        Json::default()
    }

    /// The bytes written.
    pub fn into_bytes(self) -> Vec<u8> {
        self.out
    }

    fn sep(&mut self) {
        if core::mem::take(&mut self.comma) {
            self.out.push(b',');
        }
    }

    fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.sep();
        self.out.extend_from_slice(b);
        self.comma = true;
        self
    }

    /// Opens an object (`{`) or an array (`[`).
    pub fn open(&mut self, bracket: u8) -> &mut Self {
        self.sep();
        self.out.push(bracket);
        self
    }

    /// Closes an object (`}`) or an array (`]`).
    pub fn close(&mut self, bracket: u8) -> &mut Self {
        self.out.push(bracket);
        self.comma = true;
        self
    }

    /// An object's key; its value comes next.
    pub fn key(&mut self, k: &str) -> &mut Self {
        self.sep();
        self.out.push(b'"');
        self.out.extend_from_slice(k.as_bytes());
        self.out.extend_from_slice(b"\":");
        self
    }

    /// `null`.
    pub fn null(&mut self) -> &mut Self {
        self.raw(b"null")
    }

    /// An unsigned number.
    pub fn uint(&mut self, v: u64) -> &mut Self {
        self.sep();
        dec(&mut self.out, v);
        self.comma = true;
        self
    }

    /// A signed number.
    pub fn int(&mut self, v: i64) -> &mut Self {
        self.sep();
        if v < 0 {
            self.out.push(b'-');
        }
        dec(&mut self.out, v.unsigned_abs());
        self.comma = true;
        self
    }

    /// A number, or `null`.
    pub fn opt_uint(&mut self, v: Option<u64>) -> &mut Self {
        match v {
            Some(v) => self.uint(v),
            None => self.null(),
        }
    }

    /// A string.
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.text(|t| t.push(s.as_bytes()))
    }

    /// A string of bytes, invalid UTF-8 replaced by U+FFFD (as
    /// `String::from_utf8_lossy`).
    pub fn str_lossy(&mut self, b: &[u8]) -> &mut Self {
        self.text(|t| t.push_lossy(b))
    }

    /// A string of lowercase hex digits.
    pub fn hex(&mut self, bytes: &[u8]) -> &mut Self {
        self.text(|t| {
            for b in bytes {
                t.0.extend_from_slice(&[HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
            }
        })
    }

    /// A string: what `d` describes (its `Display` text).
    pub fn describe(&mut self, d: &dyn Describe) -> &mut Self {
        self.text(|t| d.describe(t))
    }

    /// A string written by `f` (escaped as it goes).
    pub fn text(&mut self, f: impl FnOnce(&mut Escaped<'_>)) -> &mut Self {
        self.sep();
        self.out.push(b'"');
        f(&mut Escaped(&mut self.out));
        self.out.push(b'"');
        self.comma = true;
        self
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `v` in decimal.
pub fn dec(out: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut n = tmp.len();
    loop {
        n -= 1;
        tmp[n] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&tmp[n..]);
}

/// Appends `v` as `0x…` (lowercase, as `{:#x}`).
pub fn hex_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(b"0x");
    let digits = (16 - v.leading_zeros() as usize / 4).max(1);
    for i in (0..digits).rev() {
        out.push(HEX[((v >> (4 * i)) & 15) as usize]);
    }
}

/// The inside of a JSON string: escapes as serde_json does (`"`, `\`, and
/// control characters; `\n`, `\r`, `\t`, `\b`, `\f` by name).
#[derive(Debug)]
pub struct Escaped<'a>(&'a mut Vec<u8>);

impl Escaped<'_> {
    /// Appends UTF-8 text.
    pub fn push(&mut self, s: &[u8]) {
        for &b in s {
            let named = match b {
                b'"' => b'"',
                b'\\' => b'\\',
                b'\n' => b'n',
                b'\r' => b'r',
                b'\t' => b't',
                0x08 => b'b',
                0x0c => b'f',
                0..=0x1f => {
                    self.0.extend_from_slice(b"\\u00");
                    self.0.extend_from_slice(&[HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
                    continue;
                }
                _ => {
                    self.0.push(b);
                    continue;
                }
            };
            self.0.extend_from_slice(&[b'\\', named]);
        }
    }

    /// Appends bytes, invalid UTF-8 replaced by U+FFFD.
    pub fn push_lossy(&mut self, b: &[u8]) {
        for chunk in b.utf8_chunks() {
            self.push(chunk.valid().as_bytes());
            if !chunk.invalid().is_empty() {
                self.push("\u{FFFD}".as_bytes());
            }
        }
    }

    /// Appends a number in decimal.
    pub fn dec(&mut self, v: u64) {
        dec(self.0, v);
    }

    /// Appends a signed number in decimal.
    pub fn int(&mut self, v: i64) {
        if v < 0 {
            self.0.push(b'-');
        }
        dec(self.0, v.unsigned_abs());
    }
}

impl Sink for Escaped<'_> {
    fn text(&mut self, s: &str) {
        self.push(s.as_bytes());
    }
}

/// `GET /apps`: `[{"name","version","size","runs"}, ...]`.
pub fn app_list<'a>(apps: impl Iterator<Item = &'a App>) -> Vec<u8> {
    let mut j = Json::new();
    j.open(b'[');
    for app in apps {
        j.open(b'{');
        j.key("name").str(app.meta().name.as_str());
        j.key("version").uint(app.meta().version.into());
        j.key("size").uint(app.container().len() as u64);
        j.key("runs").uint(app.stats().runs);
        j.close(b'}');
    }
    j.close(b']');
    j.into_bytes()
}

/// A declared trigger: `{"kind", "sensor"?, "period_ms", "value"?,
/// "entry", "spec"}`; `spec` is the command-line form (`alkyl upload
/// --trigger`).
fn trigger(j: &mut Json, t: &TriggerRepr) {
    let sensor_kind = t.kind != TriggerKind::Timer;
    j.open(b'{');
    j.key("kind").str(t.kind.as_str());
    if sensor_kind {
        j.key("sensor").uint(t.sensor.into());
    }
    j.key("period_ms").uint(t.period_ms.into());
    if sensor_kind {
        j.key("value").int(t.value.into());
    }
    j.key("entry");
    match &t.entry {
        Some(e) => j.str(e),
        None => j.null(),
    };
    // As `TriggerRepr`'s Display: `timer:PERIOD[@ENTRY]`,
    // `KIND:SENSOR:VALUE:PERIOD[@ENTRY]`.
    j.key("spec").text(|s| {
        s.push(t.kind.as_str().as_bytes());
        s.push(b":");
        if sensor_kind {
            s.dec(t.sensor.into());
            s.push(b":");
            s.int(t.value.into());
            s.push(b":");
        }
        s.dec(t.period_ms.into());
        if let Some(e) = &t.entry {
            s.push(b"@");
            s.push(e.as_bytes());
        }
    });
    j.close(b'}');
}

/// The last run: `{"at_ms", "cause", "r0"?, "executed"?, "result",
/// "error"?}`; `cause` is `coap` or `trigger N`, `r0` is `0x…` (absent
/// after a trap), `result` what `GET /apps/NAME/result` shows.
fn last_run(j: &mut Json, run: &LastRun) {
    j.open(b'{');
    j.key("at_ms").uint(run.at_ms);
    j.key("cause").text(|s| match run.cause {
        Cause::Coap => s.push(b"coap"),
        Cause::Trigger { index } => {
            s.push(b"trigger ");
            s.dec(index as u64);
        }
    });
    if let Ok(o) = &run.outcome {
        j.key("r0").text(|s| hex_u64(s.0, o.r0));
        j.key("executed").uint(o.executed);
    }
    j.key("result").str_lossy(&run.result_text());
    if let Err(t) = &run.outcome {
        j.key("error").describe(&TrapText { trap: t, kind: run.kind });
    }
    j.close(b'}');
}

/// `GET /apps/NAME`: `{"name", "version", "sequence", "kind", "size"
/// (container bytes), "data_size" (`.data` + `.bss`), "stack_size",
/// "sha256" (of the container, hex), "entries", "open" (entries anyone may
/// run: `*` all, `""` the first instruction; every other entry needs a
/// signed invocation), "triggers", "runs", "traps", "last_run",
/// "last_error" (`{"at_ms", "error"}`: the last trap, kept after later
/// successful runs)}`.
pub fn app_detail(app: &App) -> Vec<u8> {
    let meta = app.meta();
    let stats = app.stats();
    let mut j = Json::new();
    j.open(b'{');
    j.key("name").str(meta.name.as_str());
    j.key("version").uint(meta.version.into());
    j.key("sequence").uint(meta.sequence.into());
    j.key("kind").str(meta.kind.as_str());
    j.key("size").uint(app.container().len() as u64);
    j.key("data_size").uint(app.script().data_size() as u64);
    j.key("stack_size").uint(app.script().stack_size() as u64);
    j.key("sha256").hex(app.hash());
    j.key("entries").open(b'[');
    for n in app.entry_names() {
        j.str_lossy(n);
    }
    j.close(b']');
    j.key("open").open(b'[');
    for o in &meta.open {
        j.str(o);
    }
    j.close(b']');
    j.key("triggers").open(b'[');
    for t in &meta.triggers {
        trigger(&mut j, t);
    }
    j.close(b']');
    j.key("runs").uint(stats.runs);
    j.key("traps").uint(stats.traps);
    j.key("last_run");
    match &stats.last {
        Some(run) => last_run(&mut j, run),
        None => {
            j.null();
        }
    }
    j.key("last_error");
    match &stats.last_error {
        Some((at_ms, t)) => {
            j.open(b'{');
            j.key("at_ms").uint(*at_ms);
            j.key("error").describe(&TrapText { trap: t, kind: meta.kind });
            j.close(b'}');
        }
        None => {
            j.null();
        }
    }
    j.close(b'}');
    j.into_bytes()
}

/// `GET /auth`: who the device trusts and how far each key's commands got:
/// `{"device_id"` (`null`: it has none; reports are then unsigned),
/// `"device_key"` (hex: what a gateway pins to check reports), `"trusted"`
/// (key ids), `"sequences"` (highest signed-command sequence accepted, per
/// key id, in key order), `"unix_ms"` (once the clock is set)`}`.
pub fn auth<S: Storage, D: Device>(rt: &mut Runtime<S, D>) -> Vec<u8> {
    let now = rt.device().now_ms();
    let mut j = Json::new();
    j.open(b'{');
    j.key("device_id");
    match rt.device_id() {
        Some(k) => j.hex(&k.0),
        None => j.null(),
    };
    j.key("device_key");
    match rt.device_public_key() {
        Some(k) => j.hex(&k),
        None => j.null(),
    };
    j.key("trusted").open(b'[');
    for k in rt.authority().key_ids() {
        j.hex(&k.0);
    }
    j.close(b']');
    j.key("sequences").open(b'{');
    for (k, s) in rt.command_sequences() {
        let mut id = [0u8; 16];
        for (d, b) in id.chunks_exact_mut(2).zip(k.0) {
            d.copy_from_slice(&[HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
        }
        j.key(core::str::from_utf8(&id).unwrap_or_default()).uint(s);
    }
    j.close(b'}');
    j.key("unix_ms").opt_uint(rt.unix_ms(now));
    j.close(b'}');
    j.into_bytes()
}

/// One report: `{"sequence", "app", "unix_ms", "payload"` (hex), `"text"`
/// (the payload as text, when it is UTF-8)`}`.
fn report(j: &mut Json, r: &Report) {
    j.open(b'{');
    j.key("sequence").uint(r.sequence);
    j.key("app").str(r.app.as_str());
    j.key("unix_ms").opt_uint(r.unix_ms);
    j.key("payload").hex(&r.payload);
    if let Ok(text) = core::str::from_utf8(&r.payload) {
        j.key("text").str(text);
    }
    j.close(b'}');
}

/// `GET /reports`: the queue and the last reports delivered: `{"pending",
/// "delivered"` (since the device was first started), `"recent"` (the last
/// ones delivered, at most 8, oldest first), `"next_attempt_ms"` (ms since
/// boot, if any is pending)`}`.
pub fn reports(r: &Reports) -> Vec<u8> {
    let mut j = Json::new();
    j.open(b'{');
    j.key("pending").open(b'[');
    r.pending().for_each(|p| report(&mut j, p));
    j.close(b']');
    j.key("delivered").uint(r.delivered_count());
    j.key("recent").open(b'[');
    r.recent().for_each(|p| report(&mut j, p));
    j.close(b']');
    j.key("next_attempt_ms").opt_uint(r.next_attempt());
    j.close(b'}');
    j.into_bytes()
}

/// `GET /sensors`: `[{"index", "name", "class"` (SAUL class, RIOT's
/// numbering), `"kind"` (`sensor` or `actuator`), and when the device can
/// be read `"value"` (`val[0..dims]`), `"scale"`, `"unit"`, `"text"` (the
/// value as text: `21.50`; dimensions separated by `,`)`}, ...]`.
pub fn sensors(readings: &[SensorReading]) -> Vec<u8> {
    let mut j = Json::new();
    j.open(b'[');
    for r in readings {
        j.open(b'{');
        j.key("index").uint(r.index.into());
        j.key("name").str(&r.info.name);
        j.key("class").uint(r.info.class.into());
        j.key("kind").str(if r.info.is_actuator() { "actuator" } else { "sensor" });
        if let Some((p, dims)) = &r.value {
            let vals = &p.val[..(*dims as usize).clamp(1, 3)];
            j.key("value").open(b'[');
            for &v in vals {
                j.int(v.into());
            }
            j.close(b']');
            j.key("scale").int(p.scale.into());
            j.key("unit").int(p.unit.into());
            j.key("text").text(|s| {
                for (i, &v) in vals.iter().enumerate() {
                    if i > 0 {
                        s.push(b",");
                    }
                    match s16_dfp(v, -(p.scale as i32)) {
                        Some(d) => s.push(d.as_bytes()),
                        None => {
                            s.int(v.into());
                            s.push(b"e");
                            s.int(p.scale.into());
                        }
                    }
                }
            });
        }
        j.close(b'}');
    }
    j.close(b']');
    j.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(f: impl FnOnce(&mut Json)) -> String {
        let mut j = Json::new();
        f(&mut j);
        String::from_utf8(j.into_bytes()).unwrap()
    }

    use alloc::string::String;

    #[test]
    fn writes_as_serde_json_did() {
        assert_eq!(
            doc(|j| {
                j.open(b'{').key("a").uint(0).key("b").int(-12).key("c").open(b'[').close(b']');
                j.key("d").null().key("e").open(b'[').uint(u64::MAX).int(i64::MIN).close(b']').close(b'}');
            }),
            "{\"a\":0,\"b\":-12,\"c\":[],\"d\":null,\"e\":[18446744073709551615,-9223372036854775808]}"
        );
        assert_eq!(
            doc(|j| {
                j.str("\"\\\n\r\t\x08\x0c\x01\x1f\x7fé");
            }),
            "\"\\\"\\\\\\n\\r\\t\\b\\f\\u0001\\u001f\x7fé\""
        );
        assert_eq!(
            doc(|j| {
                j.str_lossy(b"a\xffb\xe2\x82");
            }),
            "\"a\u{FFFD}b\u{FFFD}\""
        );
        assert_eq!(
            doc(|j| {
                j.hex(&[0, 0xab, 0x10]);
            }),
            "\"00ab10\""
        );
        for v in [0u64, 1, 0xf, 0x10, 0xdead_beef, u64::MAX] {
            let mut out = Vec::new();
            hex_u64(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), alloc::format!("{v:#x}"));
        }
    }
}
