//! The gateway's log (docs/aryl.md, "Logs"): one line per happening on
//! stderr. As text, `aryl: MESSAGE`; with `log_format = "json"`, one JSON
//! object per line: `ts_ms` (Unix milliseconds), `kind` (what happened),
//! the happening's fields (`device`, `entry`, `event`, `block`, `tx`…) and
//! the text as `msg`. Never a call's arguments (a PIN among them): device
//! calls are logged by entry name, a script's decrypted value as
//! `<secret>`.

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Map, Value};

static JSON: AtomicBool = AtomicBool::new(false);

/// Selects the format: JSON lines, else text.
pub fn set_json(json: bool) {
    JSON.store(json, Ordering::Relaxed);
}

/// One line: `kind`, `fields` (a JSON object) and the text `msg`.
pub fn emit(kind: &str, fields: Value, msg: &str) {
    eprintln!("{}", line(kind, fields, msg, JSON.load(Ordering::Relaxed)));
}

fn line(kind: &str, fields: Value, msg: &str, json: bool) -> String {
    if !json {
        return format!("aryl: {msg}");
    }
    let mut o = Map::new();
    o.insert("ts_ms".into(), crate::gateway::unix_ms().into());
    o.insert("kind".into(), kind.into());
    if let Value::Object(f) = fields {
        o.extend(f);
    }
    o.insert("msg".into(), msg.into());
    Value::Object(o).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_or_json_lines() {
        let f = serde_json::json!({"device": "lock1", "entry": "SetPin", "latency_ms": 82});
        assert_eq!(line("ack", f.clone(), "lock1: SetPin acknowledged", false), "aryl: lock1: SetPin acknowledged");
        let j: Value = serde_json::from_str(&line("ack", f, "lock1: SetPin acknowledged", true)).unwrap();
        assert_eq!(
            (j["kind"].as_str(), j["device"].as_str(), j["latency_ms"].as_u64()),
            (Some("ack"), Some("lock1"), Some(82))
        );
        assert_eq!(j["msg"], "lock1: SetPin acknowledged");
        assert!(j["ts_ms"].as_u64().unwrap() > 1_600_000_000_000);
    }
}
