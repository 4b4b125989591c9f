//! Trigger records: what, besides CoAP requests, runs an app.
//!
//! ```text
//! kind (1) | sensor (1) | entry_len (1) | reserved (1) | period_ms (4) | value (4, i32) | entry name
//! ```

#[cfg(feature = "alloc")]
use alloc::string::String;
#[cfg(feature = "alloc")]
use core::fmt;

use super::error::{EnvelopeError, EnvelopeErrorKind as Kind};
use crate::le;
use crate::name::check_entry_name;

/// Byte offsets inside one trigger record.
pub mod field {
    use core::ops::Range;
    /// `u8`: [`super::TriggerKind`].
    pub const KIND: usize = 0;
    /// `u8`: SAUL position of the sensor (0 for timers).
    pub const SENSOR: usize = 1;
    /// `u8`: length of the entry name (0: the program's first instruction).
    pub const ENTRY_LEN: usize = 2;
    /// `u8`: zero.
    pub const RESERVED: usize = 3;
    /// `u32`: timer period, or sensor polling period, in milliseconds.
    pub const PERIOD_MS: Range<usize> = 4..8;
    /// `i32`: threshold (rising, falling) or delta, in raw `val[0]` units.
    pub const VALUE: Range<usize> = 8..12;
    /// Start of the entry name; size of a record without it.
    pub const ENTRY: usize = 12;
}

wire_codes! {
    /// What fires a trigger.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub enum TriggerKind {
        /// Every `period_ms`.
        Timer = 1 => "timer",
        /// The sensor's value rose from below `value` to `value` or above.
        Rising = 2 => "rising",
        /// The sensor's value fell from `value` or above to below it.
        Falling = 3 => "falling",
        /// The sensor's value moved by at least `value` since the trigger
        /// last fired (or since the first sample).
        Delta = 4 => "delta",
    }
}

/// One checked trigger record, borrowed from the bytes it was read from
/// (what a checked [`super::Envelope`] yields, without allocating).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Trigger<'a> {
    pub kind: TriggerKind,
    /// SAUL position of the sensor (0 for timers).
    pub sensor: u8,
    /// Period in milliseconds (timer period, or how often the sensor is read).
    pub period_ms: u32,
    /// Threshold or delta, compared with the sensor's raw `val[0]`.
    pub value: i32,
    /// Entry point to run (an identifier); `None`: the program's first
    /// instruction.
    pub entry: Option<&'a str>,
}

impl<'a> Trigger<'a> {
    /// Parses and checks the record at the start of `bytes` (at envelope
    /// offset `at`, the `index`-th record); returns it and its length.
    ///
    /// # Errors
    /// [`EnvelopeError`] with the offset of the broken field.
    pub fn parse(bytes: &'a [u8], at: usize, index: u8) -> Result<(Trigger<'a>, usize), EnvelopeError> {
        let err = |off: usize, kind| EnvelopeError { offset: at + off, kind };
        let fixed: &[u8; field::ENTRY] = bytes
            .get(..field::ENTRY)
            .and_then(|b| b.try_into().ok())
            .ok_or(err(0, Kind::Truncated { needed: (at + field::ENTRY) as u64 }))?;
        let kind = TriggerKind::from_code(fixed[field::KIND])
            .ok_or(err(field::KIND, Kind::TriggerKind { index, kind: fixed[field::KIND] }))?;
        let sensor = fixed[field::SENSOR];
        let entry_len = fixed[field::ENTRY_LEN] as usize;
        if fixed[field::RESERVED] != 0 {
            return Err(err(field::RESERVED, Kind::TriggerReserved { index }));
        }
        let period_ms = u32::from_le_bytes(le(fixed, field::PERIOD_MS));
        let value = i32::from_le_bytes(le(fixed, field::VALUE));
        if period_ms == 0 {
            return Err(err(field::PERIOD_MS.start, Kind::TriggerPeriod { index }));
        }
        match kind {
            TriggerKind::Timer if sensor != 0 => return Err(err(field::SENSOR, Kind::TriggerSensor { index })),
            TriggerKind::Timer if value != 0 => return Err(err(field::VALUE.start, Kind::TriggerValue { index })),
            TriggerKind::Delta if value <= 0 => return Err(err(field::VALUE.start, Kind::TriggerValue { index })),
            _ => {}
        }
        let entry = if entry_len == 0 {
            None
        } else {
            let name = bytes
                .get(field::ENTRY..field::ENTRY + entry_len)
                .ok_or(err(0, Kind::Truncated { needed: (at + field::ENTRY + entry_len) as u64 }))?;
            check_entry_name(name).map_err(|error| err(field::ENTRY, Kind::TriggerEntry { index, error }))?;
            // An identifier is ASCII, hence UTF-8.
            Some(core::str::from_utf8(name).map_err(|_| {
                err(field::ENTRY, Kind::TriggerEntry { index, error: crate::name::NameError::Char { index: 0 } })
            })?)
        };
        Ok((Trigger { kind, sensor, period_ms, value, entry }, field::ENTRY + entry_len))
    }

    /// The owned form.
    #[cfg(feature = "alloc")]
    pub fn to_repr(&self) -> TriggerRepr {
        TriggerRepr {
            kind: self.kind,
            sensor: self.sensor,
            period_ms: self.period_ms,
            value: self.value,
            entry: self.entry.map(String::from),
        }
    }
}

/// One declared trigger, owned.
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TriggerRepr {
    pub kind: TriggerKind,
    /// SAUL position of the sensor (0 for timers).
    pub sensor: u8,
    /// Period in milliseconds (timer period, or how often the sensor is read).
    pub period_ms: u32,
    /// Threshold or delta, compared with the sensor's raw `val[0]`.
    pub value: i32,
    /// Entry point to run; `None`: the program's first instruction.
    pub entry: Option<String>,
}

#[cfg(feature = "alloc")]
impl TriggerRepr {
    /// Bytes of this record.
    pub fn buffer_len(&self) -> usize {
        field::ENTRY + self.entry.as_ref().map_or(0, String::len)
    }

    /// Writes the record into `out` (exactly [`TriggerRepr::buffer_len`] bytes).
    /// Lengths are not checked here; the envelope's emit checks the result.
    ///
    /// # Panics
    /// If `out` is shorter than [`field::ENTRY`].
    pub fn emit(&self, out: &mut [u8]) {
        let entry = self.entry.as_deref().unwrap_or("").as_bytes();
        out[field::KIND] = self.kind as u8;
        out[field::SENSOR] = self.sensor;
        out[field::ENTRY_LEN] = entry.len().min(255) as u8;
        out[field::RESERVED] = 0;
        out[field::PERIOD_MS].copy_from_slice(&self.period_ms.to_le_bytes());
        out[field::VALUE].copy_from_slice(&self.value.to_le_bytes());
        let n = entry.len().min(out.len() - field::ENTRY);
        out[field::ENTRY..field::ENTRY + n].copy_from_slice(&entry[..n]);
    }

    /// Parses and checks the record at the start of `bytes` (at envelope
    /// offset `at`); returns it and its length. See [`Trigger::parse`].
    ///
    /// # Errors
    /// [`EnvelopeError`] with the offset of the broken field.
    pub fn parse(bytes: &[u8], at: usize, index: u8) -> Result<(TriggerRepr, usize), EnvelopeError> {
        Trigger::parse(bytes, at, index).map(|(t, len)| (t.to_repr(), len))
    }
}

#[cfg(feature = "alloc")]
impl fmt::Display for TriggerRepr {
    /// The command-line syntax: `timer:PERIOD[@ENTRY]`,
    /// `KIND:SENSOR:VALUE:PERIOD[@ENTRY]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TriggerKind::Timer => write!(f, "timer:{}", self.period_ms)?,
            k => write!(f, "{}:{}:{}:{}", k.as_str(), self.sensor, self.value, self.period_ms)?,
        }
        if let Some(e) = &self.entry {
            write!(f, "@{e}")?;
        }
        Ok(())
    }
}

alkyl_vm::error_by_texts! {
    /// Why a trigger's command-line text was refused.
    pub struct TriggerSyntaxError => "expected timer:PERIOD_MS[@ENTRY] or rising|falling|delta:SENSOR:VALUE:PERIOD_MS[@ENTRY]";
}

#[cfg(feature = "alloc")]
impl core::str::FromStr for TriggerRepr {
    type Err = TriggerSyntaxError;

    /// Parses the syntax [`TriggerRepr`]'s `Display` writes.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (spec, entry) = match s.split_once('@') {
            Some((spec, entry)) => {
                check_entry_name(entry.as_bytes()).map_err(|_| TriggerSyntaxError)?;
                (spec, Some(String::from(entry)))
            }
            None => (s, None),
        };
        let mut parts = spec.split(':');
        let kind = parts.next().and_then(TriggerKind::from_name).ok_or(TriggerSyntaxError)?;
        let mut next = || parts.next().ok_or(TriggerSyntaxError);
        let t = match kind {
            TriggerKind::Timer => {
                let period_ms = next()?.parse().map_err(|_| TriggerSyntaxError)?;
                TriggerRepr { kind, sensor: 0, period_ms, value: 0, entry }
            }
            _ => {
                let sensor = next()?.parse().map_err(|_| TriggerSyntaxError)?;
                let value = next()?.parse().map_err(|_| TriggerSyntaxError)?;
                let period_ms = next()?.parse().map_err(|_| TriggerSyntaxError)?;
                TriggerRepr { kind, sensor, period_ms, value, entry }
            }
        };
        if parts.next().is_some() || t.period_ms == 0 || (kind == TriggerKind::Delta && t.value <= 0) {
            return Err(TriggerSyntaxError);
        }
        Ok(t)
    }
}
