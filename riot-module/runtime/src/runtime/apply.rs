//! Applying a signed envelope: install/replace, delete, set-triggers.
//!
//! The checks run in this order, each refusing with its own [`Rejection`]
//! and leaving everything unchanged: size, structure, operation and name
//! as the request implies, authentication (before the payload is looked
//! at), the name's sequence counter, payload kind, declared raw size,
//! decompression, triggers against the device's limits, container checks
//! and verification, quotas; then the record is saved, and only then the
//! new app replaces the old one in RAM.

use alloc::vec::Vec;

use alkyl_vm::container::Script;

use crate::app::{App, AppError, AppLimits, AppMeta};
use crate::compress::inflate;
use crate::device::Device;
use crate::envelope::{Envelope, EnvelopeRepr, Operation, PayloadKind, TriggerRepr};
use crate::error::{Expect, Rejection, TriggerProblem};
use crate::kv::Namespace;
use crate::storage::Storage;
use crate::store::{app_key, AppRecord, RETIRED_KEY};

use super::Runtime;

/// What an accepted envelope did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The app was installed (`replaced`: over an older version).
    Installed { version: u32, replaced: bool },
    /// The app was deleted.
    Deleted,
    /// The app's triggers were replaced.
    TriggersSet,
}

impl<S: Storage, D: Device> Runtime<S, D> {
    /// Applies a signed envelope, which must carry `expect`'s operation for
    /// `expect`'s app.
    ///
    /// # Errors
    /// [`Rejection`]; nothing changed then.
    pub fn apply(&mut self, bytes: &[u8], expect: Expect<'_>) -> Result<Applied, Rejection> {
        if bytes.len() > self.config.max_envelope_bytes {
            return Err(Rejection::TooLarge { size: bytes.len(), max: self.config.max_envelope_bytes });
        }
        let envelope = Envelope::new_checked(bytes).map_err(Rejection::Malformed)?;
        if envelope.operation() != Some(expect.operation) || envelope.name() != expect.name.as_str().as_bytes() {
            return Err(Rejection::Mismatch);
        }
        self.authority.check(&envelope).map_err(Rejection::Auth)?;
        let repr = EnvelopeRepr::parse(&envelope).map_err(Rejection::Malformed)?;
        let current = self.store.sequence_of(&repr.name);
        if repr.version <= current {
            return Err(Rejection::NotNewer { version: repr.version, current });
        }
        // The last sequence number is the delete's: an app at it could
        // never be changed or deleted again.
        if repr.version == u32::MAX && repr.operation != Operation::Delete {
            return Err(Rejection::LastSequence);
        }
        match repr.operation {
            Operation::Install => self.install(repr),
            Operation::Delete => self.delete(repr),
            Operation::SetTriggers => self.set_triggers(repr),
        }
    }

    fn check_triggers(&self, triggers: &[TriggerRepr]) -> Result<(), Rejection> {
        let max = self.config.max_triggers;
        if triggers.len() > max {
            return Err(Rejection::Triggers(TriggerProblem::Count { count: triggers.len(), max }));
        }
        let min = self.config.min_period_ms;
        if let Some(index) = triggers.iter().position(|t| t.period_ms < min) {
            return Err(Rejection::Triggers(TriggerProblem::Period { index, min }));
        }
        Ok(())
    }

    fn limits(&self) -> AppLimits {
        AppLimits { max_bytes: self.config.max_app_bytes, max_stack: self.config.max_stack }
    }

    fn install(&mut self, repr: EnvelopeRepr) -> Result<Applied, Rejection> {
        let max = self.config.max_app_bytes;
        if repr.raw_len as usize > max {
            return Err(Rejection::TooLarge { size: repr.raw_len as usize, max });
        }
        let payload: Vec<u8> = if repr.compressed {
            inflate(&repr.payload, repr.raw_len, max).map_err(Rejection::Compression)?
        } else {
            repr.payload
        };
        let prepared = Prepared::of(repr.kind, payload, max)?;
        self.check_triggers(&repr.triggers)?;
        let meta = AppMeta {
            name: repr.name,
            version: repr.version,
            sequence: repr.version,
            kind: repr.kind,
            triggers: repr.triggers,
            // Declared by this version only: nothing carries over.
            open: repr.open.unwrap_or_default(),
        };
        let app = prepared.into_app(meta, self.limits())?;
        self.store.check_fits(&app).map_err(Rejection::StoreFull)?;
        let record = AppRecord::emit(&app.meta, app.container(), app.hash());
        let name = app.meta.name.clone();
        let replacing = self.store.get(&name).is_some();
        if !replacing {
            // A new name starts with an empty namespace (none should be
            // stored; boot removes orphans, this makes sure).
            self.storage.remove(&Namespace::App(name.clone()).storage_key()).map_err(Rejection::Storage)?;
        }
        self.storage.save(&app_key(&name), &record).map_err(Rejection::Storage)?;
        // Committed. Everything below only tidies up.
        let was_retired = self.store.retired.names.contains_key(&name);
        let version = app.meta.version;
        let triggers = app.meta.triggers.len();
        if !replacing {
            self.kv.drop_app(&name);
        }
        let replaced = self.store.put(app).is_some();
        if was_retired {
            // The installed record's sequence already supersedes the entry.
            let _ = self.storage.save(RETIRED_KEY, &self.store.retired.emit());
        }
        self.schedule.reset(&name, triggers);
        Ok(Applied::Installed { version, replaced })
    }

    fn delete(&mut self, repr: EnvelopeRepr) -> Result<Applied, Rejection> {
        let name = repr.name;
        if self.store.get(&name).is_none() {
            return Err(Rejection::NoApp { sequence: self.store.sequence_of(&name) });
        }
        let mut retired = self.store.retired.clone();
        retired.retire(name.clone(), repr.version, self.config.max_retired_names);
        // Deleting frees space: it may use the room held back for it.
        self.storage.save_reserved(RETIRED_KEY, &retired.emit()).map_err(Rejection::Storage)?;
        // Committed: boot treats the app record as deleted from here on.
        self.store.remove(&name, repr.version, self.config.max_retired_names);
        let _ = self.storage.remove(&app_key(&name));
        let _ = self.storage.remove(&Namespace::App(name.clone()).storage_key());
        self.kv.drop_app(&name);
        self.schedule.remove(&name);
        Ok(Applied::Deleted)
    }

    fn set_triggers(&mut self, repr: EnvelopeRepr) -> Result<Applied, Rejection> {
        let name = repr.name;
        self.check_triggers(&repr.triggers)?;
        let Some(app) = self.store.get(&name) else {
            return Err(Rejection::NoApp { sequence: self.store.sequence_of(&name) });
        };
        if let Some(index) = repr
            .triggers
            .iter()
            .position(|t| t.entry.as_ref().is_some_and(|e| app.script().entry(e.as_bytes()).is_none()))
        {
            return Err(Rejection::Triggers(TriggerProblem::Entry { index }));
        }
        let meta = AppMeta { sequence: repr.version, triggers: repr.triggers, ..app.meta.clone() };
        let record = AppRecord::emit(&meta, app.container(), app.hash());
        self.storage.save(&app_key(&name), &record).map_err(Rejection::Storage)?;
        let count = meta.triggers.len();
        if let Some(app) = self.store.apps.get_mut(&name) {
            app.meta = meta;
        }
        self.schedule.reset(&name, count);
        Ok(Applied::TriggersSet)
    }
}

/// What an install's (inflated) payload holds: a container, or for Alkyl
/// IR the module translated into a container on the device and verified
/// there (the container is what gets stored and run).
pub(crate) enum Prepared {
    Container(Vec<u8>),
    Compiled(Script<Vec<u8>>),
}

impl Prepared {
    /// Translates an Alkyl IR payload into at most `max_bytes` of code (the
    /// app quota: the translation stops there, before allocating more); a
    /// container is taken as it is.
    pub(crate) fn of(kind: PayloadKind, payload: Vec<u8>, max_bytes: usize) -> Result<Prepared, Rejection> {
        Ok(match kind {
            PayloadKind::AlkylIr => Prepared::Compiled(translate_ir(&payload, max_bytes)?),
            _ => Prepared::Container(payload),
        })
    }

    /// The app: a container verified (once), a compiled module not again.
    pub(crate) fn into_app(self, meta: AppMeta, limits: AppLimits) -> Result<App, Rejection> {
        match self {
            Prepared::Container(container) => App::new(meta, container, limits),
            Prepared::Compiled(script) => App::from_script(meta, script, limits),
        }
        .map_err(|e| match e {
            AppError::UnknownEntry { trigger } => {
                Rejection::Triggers(TriggerProblem::Entry { index: trigger as usize })
            }
            e => Rejection::Verification(e),
        })
    }
}

/// Translates an Alkyl IR module into a verified container on the device;
/// the container is what gets stored and run.
#[cfg(feature = "ir")]
fn translate_ir(module: &[u8], max_bytes: usize) -> Result<Script<Vec<u8>>, Rejection> {
    alkyl_translator::ir::compile_script_within(module, max_bytes).map_err(Rejection::Ir)
}

/// Without the `ir` feature, IR uploads are refused as not implemented.
#[cfg(not(feature = "ir"))]
fn translate_ir(_: &[u8], _: usize) -> Result<Script<Vec<u8>>, Rejection> {
    Err(Rejection::Unsupported(PayloadKind::AlkylIr))
}
