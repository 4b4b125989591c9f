//! Simulated SAUL-like sensors and actuators, from a TOML file.
//!
//! ```toml
//! [[sensor]]
//! name = "temperature"
//! class = "temp"          # a SAUL class name (below) or its number
//! unit = "celsius"        # a unit name (below) or RIOT's number
//! scale = -2              # values are val * 10^scale
//! source = { kind = "sine", mean = 2150, amplitude = 150, period_ms = 20000 }
//!
//! [[actuator]]
//! name = "led"
//! class = "led_rgb"
//! ```
//!
//! Sources (values are the raw `val[0]`, an `i16`):
//! - `{ kind = "constant", value = 450 }`
//! - `{ kind = "sine", mean, amplitude, period_ms }`
//! - `{ kind = "random_walk", start, step, min, max, period_ms, seed }`: one
//!   step of `±step` per elapsed period, kept in `[min, max]`, reproducible
//!   from `seed`;
//! - `{ kind = "csv", file, period_ms }`: one row per period, looping; a row
//!   holds one to three comma-separated values (dimensions); `#` comments.
//!   `file` is relative to the TOML file.
//!
//! Devices are numbered in file order: sensors first, then actuators (the
//! SAUL position scripts pass to `saul_reg_find_nth`). Actuators keep the
//! last value written and report every change on the node's log.

use std::path::Path;

use alkyl_bindings::generated as g;
use alkyl_bindings::Phydat;
use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;

/// The file's shape.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensorsFile {
    #[serde(default)]
    pub sensor: Vec<SensorSpec>,
    #[serde(default)]
    pub actuator: Vec<ActuatorSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensorSpec {
    pub name: String,
    pub class: Named<u8>,
    #[serde(default)]
    pub unit: Option<Named<i8>>,
    #[serde(default)]
    pub scale: i8,
    pub source: SourceSpec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActuatorSpec {
    pub name: String,
    pub class: Named<u8>,
}

/// A class ([`CLASSES`], `N` = `u8`) or a unit ([`UNITS`], `i8`), by name
/// or number.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Named<N> {
    Number(N),
    Name(String),
}

impl<N: Copy + TryFrom<u32>> Named<N> {
    /// The number, a name looked up in `table` (`what` it holds, for errors).
    fn number(&self, table: &[(&str, u32)], what: &str) -> Result<N> {
        match self {
            Named::Number(n) => Ok(*n),
            Named::Name(name) => {
                let known = || table.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ");
                let (_, v) = table
                    .iter()
                    .find(|(n, _)| n == name)
                    .ok_or_else(|| anyhow!("unknown {what} `{name}` (known: {})", known()))?;
                N::try_from(*v).map_err(|_| anyhow!("{what} `{name}`: {v} is out of range"))
            }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceSpec {
    Constant { value: i16 },
    Sine { mean: i16, amplitude: i16, period_ms: u64 },
    RandomWalk { start: i16, step: i16, min: i16, max: i16, period_ms: u64, seed: u64 },
    Csv { file: String, period_ms: u64 },
}

/// SAUL class names accepted in the file.
const CLASSES: &[(&str, u32)] = &[
    ("temp", g::ALKYL_SAUL_SENSE_TEMP),
    ("hum", g::ALKYL_SAUL_SENSE_HUM),
    ("light", g::ALKYL_SAUL_SENSE_LIGHT),
    ("btn", g::ALKYL_SAUL_SENSE_BTN),
    ("sense_any", g::ALKYL_SAUL_SENSE_ANY),
    ("led_rgb", g::ALKYL_SAUL_ACT_LED_RGB),
    ("switch", g::ALKYL_SAUL_ACT_SWITCH),
    ("act_any", g::ALKYL_SAUL_ACT_ANY),
];

/// Unit names accepted in the file.
const UNITS: &[(&str, u32)] = &[
    ("undef", g::ALKYL_UNIT_UNDEF),
    ("none", g::ALKYL_UNIT_NONE),
    ("celsius", g::ALKYL_UNIT_TEMP_C),
    ("fahrenheit", g::ALKYL_UNIT_TEMP_F),
    ("kelvin", g::ALKYL_UNIT_TEMP_K),
    ("lux", g::ALKYL_UNIT_LUX),
];

/// Where a sensor's values come from.
#[derive(Clone, Debug)]
pub enum Source {
    Constant(i16),
    Sine { mean: f64, amplitude: f64, period_ms: u64 },
    RandomWalk { value: i16, step: i16, min: i16, max: i16, period_ms: u64, state: u64, steps_done: u64 },
    Rows { rows: Vec<Vec<i16>>, period_ms: u64 },
}

impl Source {
    /// The value at `now_ms` and its dimensions.
    pub fn sample(&mut self, now_ms: u64) -> ([i16; 3], u8) {
        match self {
            Source::Constant(v) => ([*v, 0, 0], 1),
            Source::Sine { mean, amplitude, period_ms } => {
                let phase = (now_ms % *period_ms) as f64 / *period_ms as f64;
                let v = *mean + *amplitude * (phase * std::f64::consts::TAU).sin();
                ([v.round().clamp(i16::MIN as f64, i16::MAX as f64) as i16, 0, 0], 1)
            }
            Source::RandomWalk { value, step, min, max, period_ms, state, steps_done } => {
                let due = now_ms / *period_ms;
                // Bounded catch-up: a long pause does not loop for ages.
                while *steps_done < due {
                    *steps_done = (*steps_done + 1).max(due.saturating_sub(10_000));
                    // xorshift64
                    *state ^= *state << 13;
                    *state ^= *state >> 7;
                    *state ^= *state << 17;
                    let delta = if *state & 1 == 0 { *step } else { step.saturating_neg() };
                    *value = value.saturating_add(delta).clamp(*min, *max);
                }
                ([*value, 0, 0], 1)
            }
            Source::Rows { rows, period_ms } => {
                let row = &rows[((now_ms / *period_ms) % rows.len() as u64) as usize];
                let mut v = [0i16; 3];
                v[..row.len()].copy_from_slice(row);
                (v, row.len() as u8)
            }
        }
    }
}

/// A simulated device.
#[derive(Clone, Debug)]
pub struct SimDevice {
    pub name: String,
    pub class: u8,
    pub kind: SimKind,
}

#[derive(Clone, Debug)]
pub enum SimKind {
    Sensor {
        source: Source,
        unit: i8,
        scale: i8,
    },
    /// The last value written and the dimensions used.
    Actuator {
        state: Phydat,
        dims: u8,
    },
}

fn parse_rows(text: &str, what: &str) -> Result<Vec<Vec<i16>>> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let row = line
            .split(',')
            .map(|v| v.trim().parse::<i16>())
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("{what} line {}: values must be integers in -32768..=32767", i + 1))?;
        if row.is_empty() || row.len() > 3 {
            bail!("{what} line {}: 1 to 3 values per row", i + 1);
        }
        rows.push(row);
    }
    if rows.is_empty() {
        bail!("{what}: no rows");
    }
    Ok(rows)
}

/// Reads a sensors file; CSV paths are relative to it.
///
/// # Errors
/// Unreadable or invalid files, with the reason.
pub fn load(path: &Path) -> Result<Vec<SimDevice>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file: SensorsFile = toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    build(file, path.parent().unwrap_or(Path::new(".")))
}

/// Builds the devices of a parsed file.
///
/// # Errors
/// Invalid values or unreadable CSV files.
pub fn build(file: SensorsFile, base: &Path) -> Result<Vec<SimDevice>> {
    let mut out = Vec::new();
    for s in file.sensor {
        let class = s.class.number(CLASSES, "class").with_context(|| format!("sensor `{}`", s.name))?;
        let unit = s.unit.as_ref().map_or(Ok(g::ALKYL_UNIT_UNDEF as i8), |u| u.number(UNITS, "unit"));
        let unit = unit.with_context(|| format!("sensor `{}`", s.name))?;
        let positive =
            |p: u64| if p == 0 { Err(anyhow!("sensor `{}`: period_ms must be positive", s.name)) } else { Ok(p) };
        let source = match s.source {
            SourceSpec::Constant { value } => Source::Constant(value),
            SourceSpec::Sine { mean, amplitude, period_ms } => {
                Source::Sine { mean: mean as f64, amplitude: amplitude as f64, period_ms: positive(period_ms)? }
            }
            SourceSpec::RandomWalk { start, step, min, max, period_ms, seed } => {
                if min > max || !(min..=max).contains(&start) {
                    bail!("sensor `{}`: need min <= start <= max", s.name);
                }
                Source::RandomWalk {
                    value: start,
                    step,
                    min,
                    max,
                    period_ms: positive(period_ms)?,
                    state: seed | 1,
                    steps_done: 0,
                }
            }
            SourceSpec::Csv { file, period_ms } => {
                let p = base.join(&file);
                let text = std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
                Source::Rows { rows: parse_rows(&text, &p.display().to_string())?, period_ms: positive(period_ms)? }
            }
        };
        out.push(SimDevice { name: s.name, class, kind: SimKind::Sensor { source, unit, scale: s.scale } });
    }
    for a in file.actuator {
        let class = a.class.number(CLASSES, "class").with_context(|| format!("actuator `{}`", a.name))?;
        let state = Phydat { val: [0; 3], unit: 0, scale: 0 };
        out.push(SimDevice { name: a.name, class, kind: SimKind::Actuator { state, dims: 1 } });
    }
    if out.len() > u8::MAX as usize {
        bail!("at most 255 devices");
    }
    Ok(out)
}

/// The devices `alkyl-node` simulates without `--sensors`: the ones `alkyl
/// run` simulates (a temperature sensor at 21.50 °C, humidity 45.0 %, an
/// RGB LED), with constant values.
pub fn default_devices() -> Vec<SimDevice> {
    let file: SensorsFile = toml::from_str(
        r#"
        [[sensor]]
        name = "temperature"
        class = "temp"
        unit = "celsius"
        scale = -2
        source = { kind = "constant", value = 2150 }
        [[sensor]]
        name = "humidity"
        class = "hum"
        unit = "none"
        scale = -1
        source = { kind = "constant", value = 450 }
        [[actuator]]
        name = "led"
        class = "led_rgb"
        "#,
    )
    .unwrap_or_default();
    build(file, Path::new(".")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<SimDevice>> {
        build(toml::from_str(text)?, Path::new("."))
    }

    fn sample(d: &mut SimDevice, ms: u64) -> i16 {
        match &mut d.kind {
            SimKind::Sensor { source, .. } => source.sample(ms).0[0],
            SimKind::Actuator { .. } => panic!("not a sensor"),
        }
    }

    #[test]
    fn sources() {
        let mut d = parse(
            r#"
            [[sensor]]
            name = "s"
            class = "temp"
            source = { kind = "sine", mean = 1000, amplitude = 100, period_ms = 400 }
            [[sensor]]
            name = "w"
            class = 130
            unit = 2
            source = { kind = "random_walk", start = 0, step = 5, min = -10, max = 10, period_ms = 100, seed = 3 }
            [[sensor]]
            name = "c"
            class = "light"
            source = { kind = "constant", value = -7 }
            "#,
        )
        .unwrap();
        assert_eq!([0, 100, 200, 300].map(|t| sample(&mut d[0], t)), [1000, 1100, 1000, 900]);
        let walk: Vec<i16> = (0..50).map(|i| sample(&mut d[1], i * 100)).collect();
        assert!(walk.iter().all(|v| (-10..=10).contains(v)));
        assert!(walk.windows(2).all(|w| (w[0] - w[1]).abs() <= 5));
        assert!(walk.iter().any(|&v| v != 0));
        // Reproducible.
        let mut again = parse(
            r#"[[sensor]]
            name = "w"
            class = 130
            source = { kind = "random_walk", start = 0, step = 5, min = -10, max = 10, period_ms = 100, seed = 3 }"#,
        )
        .unwrap();
        assert_eq!((0..50).map(|i| sample(&mut again[0], i * 100)).collect::<Vec<_>>(), walk);
        assert_eq!(sample(&mut d[2], 12345), -7);
    }

    #[test]
    fn csv_rows() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.csv"), "# replay\n2100\n2200, 5\n\n2300\n").unwrap();
        std::fs::write(
            dir.path().join("s.toml"),
            "[[sensor]]\nname = \"t\"\nclass = \"temp\"\nsource = { kind = \"csv\", file = \"t.csv\", period_ms = 10 }\n",
        )
        .unwrap();
        let mut d = load(&dir.path().join("s.toml")).unwrap();
        let SimKind::Sensor { source, .. } = &mut d[0].kind else { panic!() };
        assert_eq!(source.sample(0), ([2100, 0, 0], 1));
        assert_eq!(source.sample(15), ([2200, 5, 0], 2));
        assert_eq!(source.sample(29), ([2300, 0, 0], 1));
        assert_eq!(source.sample(30), ([2100, 0, 0], 1));
        std::fs::write(dir.path().join("t.csv"), "1,2,3,4\n").unwrap();
        assert!(load(&dir.path().join("s.toml")).is_err());
        std::fs::write(dir.path().join("t.csv"), "99999\n").unwrap();
        assert!(load(&dir.path().join("s.toml")).is_err());
    }

    #[test]
    fn bad_files() {
        for bad in [
            "[[sensor]]\nname = \"x\"\nclass = \"nope\"\nsource = { kind = \"constant\", value = 1 }",
            "[[sensor]]\nname = \"x\"\nclass = \"temp\"\nsource = { kind = \"sine\", mean = 1, amplitude = 1, period_ms = 0 }",
            "[[sensor]]\nname = \"x\"\nclass = \"temp\"\nsource = { kind = \"warp\" }",
            "[[sensor]]\nname = \"x\"\nclass = \"temp\"\nextra = 1\nsource = { kind = \"constant\", value = 1 }",
            "[[sensor]]\nname = \"x\"\nclass = \"temp\"\nunit = \"parsec\"\nsource = { kind = \"constant\", value = 1 }",
            "[[sensor]]\nname = \"x\"\nclass = \"temp\"\nsource = { kind = \"random_walk\", start = 50, step = 1, min = 0, max = 10, period_ms = 1, seed = 1 }",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_match_alkyl_run() {
        let mut d = default_devices();
        assert_eq!(d.len(), 3);
        assert_eq!(sample(&mut d[0], 0), 2150);
        assert!(matches!(d[2].kind, SimKind::Actuator { .. }));
    }
}
