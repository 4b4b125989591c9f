//! The runtime: an app store with its key-value store, uploads in progress
//! and trigger schedule, over a [`Storage`] and a [`Device`].
//!
//! A device serves it two ways:
//! - CoAP requests, through its `coap_handler::Handler` implementation
//!   (`crate::coap`): RIOT's gcoap via riot-wrappers, or the host node;
//! - [`Runtime::poll`]`(now_ms)` from its main loop, for timers, sensor
//!   triggers and upload expiry; [`Runtime::poll_at`] says when to call it
//!   next (smoltcp's `poll`/`poll_at`).
//!
//! # Guarantees
//! Nothing a client sends or a script does panics the runtime or stops it:
//! every refusal is a [`Rejection`], every script fault a recorded trap.
//! A change is applied completely or not at all: a new app version is fully
//! received, authenticated, decompressed and verified, and its record saved,
//! before it replaces the old one in RAM.

pub(crate) mod apply;
mod boot;
mod command;
mod run;

use alloc::vec::Vec;

pub use apply::Applied;
pub use boot::{BootProblem, BootReport};
pub use command::WallClock;
pub use run::SensorReading;

use crate::app::App;
use crate::auth::Authority;
use crate::config::Config;
use crate::device::Device;
use crate::exec::RunBuffers;
use crate::kv::{KvStore, Namespace};
use crate::name::AppName;
use crate::reports::Reports;
use crate::storage::{Storage, StorageError};
use crate::store::{AppStore, Sequences};
use crate::triggers::Schedule;
use crate::upload::Uploads;
#[allow(unused_imports)] // doc links
use crate::Rejection;

/// The device runtime.
pub struct Runtime<S, D> {
    pub(crate) config: Config,
    pub(crate) authority: Authority,
    pub(crate) storage: S,
    pub(crate) device: D,
    pub(crate) store: AppStore,
    pub(crate) kv: KvStore,
    pub(crate) uploads: Uploads,
    pub(crate) schedule: Schedule,
    /// The stack and CoAP packet buffer every run uses, allocated once.
    pub(crate) buffers: RunBuffers,
    /// The highest signed-command sequence accepted per key (persisted).
    pub(crate) sequences: Sequences,
    /// The wall clock, once a signed command set it (not persisted).
    pub(crate) clock: Option<WallClock>,
    /// Reports queued for the gateway (persisted).
    pub(crate) reports: Reports,
    /// The device's own key: signs reports, names the device.
    pub(crate) device_key: Option<salty::Keypair>,
    /// Who sends the request being handled ([`Runtime::set_peer`]).
    pub(crate) peer: u64,
}

impl<S, D> core::fmt::Debug for Runtime<S, D> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Runtime").field("config", &self.config).field("store", &self.store).finish_non_exhaustive()
    }
}

impl<S: Storage, D: Device> Runtime<S, D> {
    /// Says who sends the requests handled from now on: an id of the
    /// sender's endpoint (e.g. a hash of its address and port) that the
    /// host knows and the CoAP handler interface does not carry. A
    /// block-wise upload belongs to its peer (`upload`); a host that cannot
    /// tell peers apart leaves it at 0 (clients can still keep their
    /// transfers apart with Request-Tag).
    pub fn set_peer(&mut self, peer: u64) {
        self.peer = peer;
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The trusted keys.
    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    /// The device.
    pub fn device(&mut self) -> &mut D {
        &mut self.device
    }

    /// The storage.
    pub fn storage(&mut self) -> &mut S {
        &mut self.storage
    }

    /// The app named `name`.
    pub fn app(&self, name: &AppName) -> Option<&App> {
        self.store.get(name)
    }

    /// Installed apps, by name.
    pub fn apps(&self) -> impl Iterator<Item = &App> + '_ {
        self.store.iter()
    }

    /// The number a change to `name` must exceed (its version or last
    /// command number; for deleted names, the sequence they reached).
    pub fn sequence_of(&self, name: &AppName) -> u32 {
        self.store.sequence_of(name)
    }

    /// Bytes held by installed apps.
    pub fn store_bytes(&self) -> usize {
        self.store.bytes()
    }

    /// A value in the key-value store (`None` app: the global namespace).
    pub fn kv_fetch(&self, app: Option<&AppName>, key: u32) -> Option<u32> {
        let ns = app.map_or(Namespace::Global, |a| Namespace::App(a.clone()));
        self.kv.fetch(&ns, key)
    }

    /// Block-wise uploads in progress.
    pub fn uploads_in_progress(&self) -> usize {
        self.uploads.len()
    }

    /// How many times `name` ran (to notice a new result, e.g. for Observe).
    pub fn result_revision(&self, name: &AppName) -> Option<u64> {
        self.store.get(name).map(|a| a.stats().runs)
    }

    /// When [`Runtime::poll`] should run next (ms since boot): `Some(0)`
    /// when triggers were (re)configured since the last poll, `None` when
    /// nothing is scheduled. (Report delivery has its own time:
    /// `Reports::next_attempt`, for the host's sender.)
    pub fn poll_at(&self) -> Option<u64> {
        if self.schedule.has_unstarted() || self.schedule.has_pending() {
            return Some(0);
        }
        let times = [self.schedule.next_due(), self.uploads.next_expiry()];
        times.into_iter().flatten().min()
    }

    /// Persists changed key-value namespaces (only those: an unchanged
    /// namespace is not rewritten); a failed save stays dirty, retried
    /// after the next run.
    ///
    /// # Errors
    /// The first save that failed.
    pub(crate) fn persist_kv(&mut self) -> Result<(), StorageError> {
        let dirty: Vec<Namespace> = self.kv.take_dirty();
        let mut result = Ok(());
        for ns in dirty {
            if let Namespace::App(name) = &ns {
                if self.store.get(name).is_none() {
                    continue;
                }
            }
            let record = self.kv.encode(&ns);
            if let Err(e) = self.storage.save(&ns.storage_key(), &record) {
                self.kv.mark_dirty(ns);
                result = result.and(Err(e));
            }
        }
        result
    }
}
