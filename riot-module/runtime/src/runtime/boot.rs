//! Starting a runtime from what its storage holds.
//!
//! Writes are ordered so that any prefix of them is consistent, and boot
//! resolves what an interrupted change left:
//! - install/replace/set-triggers: one atomic save of `app.NAME` (old or
//!   new record);
//! - delete: save `retired` (with the name's sequence) first, then remove
//!   `app.NAME` and `kv.NAME`. A record whose sequence is not above its
//!   retired entry was deleted: boot finishes the removal.
//! - `kv.NAME` without an app is an orphan of a deletion: removed.
//!
//! Every app record is checked again (its SHA-256, the container rules,
//! the verifier, the limits) before it runs.

use alkyl_vm::describe::{Describe, Sink};

use crate::exec::RunBuffers;
use alloc::string::String;
use alloc::vec::Vec;

use crate::app::{App, AppError, AppLimits};
use crate::auth::Authority;
use crate::config::Config;
use crate::device::Device;
use crate::kv::{KvRecordError, KvStore, Namespace};
use crate::name::AppName;
use crate::reports::Reports;
use crate::storage::{Storage, StorageError};
use crate::store::{
    AppRecord, AppStore, QuotaError, RecordError, Retired, Sequences, REPORTS_KEY, RETIRED_KEY, SEQUENCES_KEY,
};
use crate::triggers::Schedule;
use crate::upload::Uploads;

use super::Runtime;

/// Why a stored record was not loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BootProblem {
    /// It could not be read.
    Storage(StorageError),
    /// It does not decode (or its hash does not match).
    Record(RecordError),
    /// Its name differs from its key's.
    NameMismatch,
    /// The container no longer loads (e.g. a stricter verifier or limits).
    App(AppError),
    /// It does not fit the (changed) quotas.
    Quota(QuotaError),
    /// A key-value record does not decode.
    Kv(KvRecordError),
    /// A key this runtime does not know.
    UnknownKey,
}

impl Describe for BootProblem {
    fn describe(&self, out: &mut dyn Sink) {
        match self {
            BootProblem::Storage(e) => e.describe(out),
            BootProblem::Record(e) => e.describe(out),
            BootProblem::NameMismatch => out.text("record name differs from its key"),
            BootProblem::App(e) => e.describe(out),
            BootProblem::Quota(e) => e.describe(out),
            BootProblem::Kv(e) => e.describe(out),
            BootProblem::UnknownKey => out.text("unknown record"),
        }
    }
}

alkyl_vm::error_by_describe!(BootProblem);

/// Loads and parses the one record `key` if `keys` lists it; a record that
/// cannot be read or does not parse is noted in `report` and left as it is.
fn load_record<S: Storage, T>(
    storage: &mut S,
    keys: &[String],
    key: &str,
    parse: fn(&[u8]) -> Result<T, RecordError>,
    report: &mut BootReport,
) -> Option<T> {
    if !keys.iter().any(|k| k == key) {
        return None;
    }
    let problem = match storage.load(key) {
        Ok(None) => return None,
        Ok(Some(bytes)) => match parse(&bytes) {
            Ok(record) => return Some(record),
            Err(e) => BootProblem::Record(e),
        },
        Err(e) => BootProblem::Storage(e),
    };
    report.problems.push((key.into(), problem));
    None
}

/// What a boot found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BootReport {
    /// Apps loaded.
    pub apps: usize,
    /// Records left unused, and why (they stay in storage untouched).
    pub problems: Vec<(String, BootProblem)>,
    /// Records removed to finish an interrupted deletion.
    pub cleaned: Vec<String>,
}

impl<S: Storage, D: Device> Runtime<S, D> {
    /// Starts a runtime over `storage`, loading and re-verifying every app
    /// it holds, and the key-value store.
    ///
    /// # Errors
    /// [`StorageError`] when the storage cannot even list its records.
    pub fn new(
        config: Config,
        authority: Authority,
        mut storage: S,
        device: D,
    ) -> Result<(Runtime<S, D>, BootReport), StorageError> {
        let mut report = BootReport::default();
        let mut keys = storage.keys()?;
        // An insertion sort: the keys are a few tens (bounded by the quotas),
        // and it is ~60 bytes of code where `sort_unstable` links ~3 KB.
        for i in 1..keys.len() {
            let mut j = i;
            while j > 0 && keys[j - 1] > keys[j] {
                keys.swap(j - 1, j);
                j -= 1;
            }
        }
        let mut store = AppStore::new(config.max_apps, config.max_total_bytes);
        let mut kv = KvStore::new(config.kv_entries_per_app, config.kv_global_entries);
        let mut schedule = Schedule::default();

        if let Some(retired) = load_record(&mut storage, &keys, RETIRED_KEY, Retired::parse, &mut report) {
            store.retired = retired;
        }
        let sequences =
            load_record(&mut storage, &keys, SEQUENCES_KEY, Sequences::parse, &mut report).unwrap_or_default();
        let reports = load_record(&mut storage, &keys, REPORTS_KEY, Reports::parse, &mut report).unwrap_or_default();
        let limits = AppLimits { max_bytes: config.max_app_bytes, max_stack: config.max_stack };
        for key in keys.iter().filter(|k| k.starts_with("app.")) {
            let record = match storage.load(key) {
                Ok(Some(b)) => b,
                Ok(None) => continue,
                Err(e) => {
                    report.problems.push((key.clone(), BootProblem::Storage(e)));
                    continue;
                }
            };
            let record = match AppRecord::parse(&record) {
                Ok(r) => r,
                Err(e) => {
                    report.problems.push((key.clone(), BootProblem::Record(e)));
                    continue;
                }
            };
            if key[4..] != *record.meta.name.as_str() {
                report.problems.push((key.clone(), BootProblem::NameMismatch));
                continue;
            }
            let name = record.meta.name.clone();
            if record.meta.sequence <= store.retired.sequence_of(&name) {
                // Deleted; the removal was interrupted.
                let _ = storage.remove(key);
                let _ = storage.remove(&Namespace::App(name).storage_key());
                report.cleaned.push(key.clone());
                continue;
            }
            let app = match App::new(record.meta, record.container, limits) {
                Ok(a) => a,
                Err(e) => {
                    report.problems.push((key.clone(), BootProblem::App(e)));
                    continue;
                }
            };
            if let Err(e) = store.check_fits(&app) {
                report.problems.push((key.clone(), BootProblem::Quota(e)));
                continue;
            }
            schedule.reset(&name, app.meta.triggers.len());
            store.put(app);
            report.apps += 1;
        }
        for key in keys.iter().filter(|k| k.starts_with("kv.")) {
            let ns = match &key[3..] {
                "global" => Namespace::Global,
                n => match AppName::new(n.as_bytes()) {
                    Ok(name) if store.get(&name).is_some() => Namespace::App(name),
                    Ok(name) if !keys.iter().any(|k| k[..] == *crate::store::app_key(&name)) => {
                        // An orphan of a deletion.
                        let _ = storage.remove(key);
                        report.cleaned.push(key.clone());
                        continue;
                    }
                    // The app's record is there but did not load: keep its data.
                    _ => continue,
                },
            };
            match storage.load(key) {
                Ok(Some(b)) => {
                    if let Err(e) = kv.decode(&ns, &b) {
                        report.problems.push((key.clone(), BootProblem::Kv(e)));
                    }
                }
                Ok(None) => {}
                Err(e) => report.problems.push((key.clone(), BootProblem::Storage(e))),
            }
        }
        for key in &keys {
            if ![RETIRED_KEY, SEQUENCES_KEY, REPORTS_KEY].contains(&&key[..])
                && !key.starts_with("app.")
                && !key.starts_with("kv.")
            {
                report.problems.push((key.clone(), BootProblem::UnknownKey));
            }
        }
        let uploads = Uploads::new(config.max_uploads, config.max_envelope_bytes, config.upload_timeout_ms)
            .per_peer(config.max_uploads_per_peer);
        let buffers = RunBuffers::new(&config);
        let runtime = Runtime {
            config,
            authority,
            storage,
            device,
            store,
            kv,
            uploads,
            schedule,
            buffers,
            sequences,
            clock: None,
            reports,
            device_key: None,
            peer: 0,
        };
        Ok((runtime, report))
    }
}
