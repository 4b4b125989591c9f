//! The application store: installed apps by name, the retired-names table,
//! and the quotas (app count, bytes).
//!
//! # Invariants
//! - At most `Config::max_apps` apps; the sum of their footprints (container,
//!   `.data` and the fast engine's ops) is at most `Config::max_total_bytes`.
//! - Every name has one sequence counter: an installed app's `sequence`, or
//!   for other names [`Retired::sequence_of`]. A change is accepted only with
//!   a higher number, so versions never go back, even across a delete.

mod record;

pub use record::{AppRecord, RecordError, Retired, Sequences};

use alkyl_vm::describe::{Describe, Sink};

use crate::app::App;
use crate::map::VecMap;
use crate::name::AppName;

/// Storage key of the signed-command sequences record.
pub const SEQUENCES_KEY: &str = "sequences";

/// Storage key of the report queue record.
pub const REPORTS_KEY: &str = "reports";

/// Storage key of the retired-names record.
pub const RETIRED_KEY: &str = "retired";

/// Storage key of an app's record.
pub fn app_key(name: &AppName) -> alloc::string::String {
    alkyl_vm::describe::text(&("app.", name))
}

/// Why an app does not fit the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuotaError {
    /// As many apps as allowed are installed.
    Count { max: usize },
    /// The bytes of all apps would exceed the limit.
    Bytes { needed: usize, max: usize },
}

impl Describe for QuotaError {
    fn describe(&self, out: &mut dyn Sink) {
        match self {
            QuotaError::Count { max } => ("store full: ", max, " apps installed").describe(out),
            QuotaError::Bytes { needed, max } => {
                ("store full: ", needed, " bytes needed, ", max, " allowed").describe(out)
            }
        }
    }
}

alkyl_vm::error_by_describe!(QuotaError);

/// Installed apps and retired names.
#[derive(Debug, Default)]
pub struct AppStore {
    pub(crate) apps: VecMap<AppName, App>,
    pub(crate) retired: Retired,
    max_apps: usize,
    max_bytes: usize,
}

impl AppStore {
    /// An empty store with these quotas.
    pub fn new(max_apps: usize, max_bytes: usize) -> AppStore {
        AppStore { apps: VecMap::new(), retired: Retired::default(), max_apps, max_bytes }
    }

    /// The app named `name`.
    pub fn get(&self, name: &AppName) -> Option<&App> {
        self.apps.get(name)
    }

    /// Installed apps by name.
    pub fn iter(&self) -> impl Iterator<Item = &App> + '_ {
        self.apps.values()
    }

    /// Number of installed apps.
    pub fn len(&self) -> usize {
        self.apps.len()
    }

    /// Whether no app is installed.
    pub fn is_empty(&self) -> bool {
        self.apps.is_empty()
    }

    /// Bytes held by all apps.
    pub fn bytes(&self) -> usize {
        self.apps.values().map(App::footprint).sum()
    }

    /// The number a change to `name` must exceed.
    pub fn sequence_of(&self, name: &AppName) -> u32 {
        match self.apps.get(name) {
            Some(app) => app.meta.sequence.max(self.retired.sequence_of(name)),
            None => self.retired.sequence_of(name),
        }
    }

    /// Checks that `app` fits, replacing the app of the same name if any.
    ///
    /// # Errors
    /// [`QuotaError`].
    pub fn check_fits(&self, app: &App) -> Result<(), QuotaError> {
        let old = self.apps.get(&app.meta.name);
        if old.is_none() && self.apps.len() >= self.max_apps {
            return Err(QuotaError::Count { max: self.max_apps });
        }
        let needed = (self.bytes() - old.map_or(0, App::footprint)).saturating_add(app.footprint());
        if needed > self.max_bytes {
            return Err(QuotaError::Bytes { needed, max: self.max_bytes });
        }
        Ok(())
    }

    /// Puts `app` in place (after [`AppStore::check_fits`]); returns the app
    /// it replaced.
    pub(crate) fn put(&mut self, app: App) -> Option<App> {
        self.retired.names.remove(&app.meta.name);
        self.apps.insert(app.meta.name.clone(), app)
    }

    /// Removes an app, remembering its name at `sequence`; returns it.
    pub(crate) fn remove(&mut self, name: &AppName, sequence: u32, max_retired: usize) -> Option<App> {
        let app = self.apps.remove(name)?;
        self.retired.retire(name.clone(), sequence, max_retired);
        Some(app)
    }
}
