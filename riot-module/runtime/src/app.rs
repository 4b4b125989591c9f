//! An installed app: its verified script, owning its container, with
//! feature `fast` together with its translation for the fast engine
//! (verified once and translated once, at install or boot reload), its
//! `.data` state, its metadata and run statistics.
//!
//! # Invariants
//! An [`App`] exists only for a container that passed `Script::load` with
//! the helpers the runtime implements, whose stack and `.data` needs fit the
//! configured limits. Its `.data` buffer is exactly `data_size()` bytes.
//! With `fast`, its ops are the translation of its program (made by
//! `FastScript::translate` from the same, owned, container).

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use alkyl_bindings::ALL_HELPERS;
use alkyl_vm::container::{LoadError, Script};
use alkyl_vm::describe::{text, Describe, Hex, Sink};
#[cfg(feature = "fast")]
use alkyl_vm::fast::{FastScript, Op, TranslateError};
use alkyl_vm::{Entry, Runnable, Trap};
use sha2::{Digest, Sha256};

use crate::envelope::{PayloadKind, TriggerRepr};
use crate::name::AppName;

/// An installed app's program: the verified script owning its container
/// and, with `fast`, the ops translated from it.
#[cfg(feature = "fast")]
pub(crate) struct Loaded(FastScript<Vec<u8>, alloc::boxed::Box<[Op]>>);

/// An installed app's program: the verified script owning its container.
#[cfg(not(feature = "fast"))]
pub(crate) struct Loaded(Script<Vec<u8>>);

impl Loaded {
    /// Translates (with `fast`) a verified script: no verification here.
    fn new(script: Script<Vec<u8>>) -> Result<Loaded, AppError> {
        #[cfg(feature = "fast")]
        return FastScript::translate_boxed(script).map(Loaded).map_err(AppError::Translate);
        #[cfg(not(feature = "fast"))]
        Ok(Loaded(script))
    }

    /// The verified script.
    pub fn script(&self) -> &Script<Vec<u8>> {
        #[cfg(feature = "fast")]
        return self.0.script();
        #[cfg(not(feature = "fast"))]
        &self.0
    }

    /// What runs: the translation with `fast`, else the verified program
    /// (one engine linked, chosen when the runtime is built).
    pub fn executable(&self) -> &(impl Runnable + '_) {
        &self.0
    }

    /// Bytes held: the container and the translated ops.
    fn len(&self) -> usize {
        #[cfg(feature = "fast")]
        return self.script().container().len() + self.0.ops_bytes();
        #[cfg(not(feature = "fast"))]
        self.script().container().len()
    }
}

/// Why a container could not become an app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppError {
    /// The container is malformed or fails verification.
    Load(LoadError),
    /// The fast engine could not translate the verified program (a broken
    /// invariant of the VM, reported rather than trusted).
    #[cfg(feature = "fast")]
    Translate(TranslateError),
    /// The script declares more stack than the device grants.
    Stack { needed: usize, max: usize },
    /// Container plus `.data`/`.bss` exceed the per-app limit.
    TooLarge { needed: usize, max: usize },
    /// A trigger names an entry point the container does not have.
    UnknownEntry { trigger: u8 },
}

impl Describe for AppError {
    fn describe(&self, out: &mut dyn Sink) {
        match self {
            AppError::Load(LoadError::Verify(v)) => v.describe(out),
            AppError::Load(e) => e.describe(out),
            #[cfg(feature = "fast")]
            AppError::Translate(e) => e.describe(out),
            AppError::Stack { needed, max } => ("stack of ", needed, " bytes exceeds the limit of ", max).describe(out),
            AppError::TooLarge { needed, max } => {
                ("container and .data need ", needed, " bytes, the limit is ", max).describe(out)
            }
            AppError::UnknownEntry { trigger } => {
                ("trigger ", trigger, " names no entry point of the container").describe(out)
            }
        }
    }
}

alkyl_vm::error_by_describe!(AppError);

/// What started a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// A CoAP request (`POST /apps/NAME/run`).
    Coap,
    /// Trigger `index` of the app's declared triggers.
    Trigger { index: u8 },
}

/// What a successful run produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOutput {
    /// The return value.
    pub r0: u64,
    /// Instructions executed.
    pub executed: u64,
    /// The CoAP response the script built, if it built one.
    pub response: Option<BuiltResponse>,
}

/// A CoAP response built by a script with the CoAP helpers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuiltResponse {
    /// Response code (class << 5 | detail).
    pub code: u8,
    /// The Content-Format option, if the script added one.
    pub content_format: Option<u16>,
    pub payload: Vec<u8>,
}

/// The record of the last run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastRun {
    /// When it started (`Device::now_ms`).
    pub at_ms: u64,
    pub cause: Cause,
    /// What it produced, or the trap that ended it.
    pub outcome: Result<RunOutput, Trap>,
    /// How the app was uploaded: traps of Alkyl IR apps are also reported
    /// in IR terms.
    pub kind: PayloadKind,
}

/// A trap as the device reports it: the VM's trap, and for an app uploaded
/// as Alkyl IR (with the `ir` feature), what it means in the IR, e.g.
/// `trap at instruction 91: memory fault: … (Alkyl IR: REVERT 0xac7)`.
#[derive(Clone, Copy, Debug)]
pub struct TrapText<'a> {
    pub trap: &'a Trap,
    pub kind: PayloadKind,
}

impl Describe for TrapText<'_> {
    // One copy for the JSON documents and the text responses.
    #[inline(never)]
    fn describe(&self, out: &mut dyn Sink) {
        self.trap.describe(out);
        #[cfg(feature = "ir")]
        if self.kind == PayloadKind::AlkylIr {
            if let Some(ir) = alkyl_translator::ir::IrTrap::from_vm(self.trap) {
                (" (Alkyl IR: ", ir, ")").describe(out);
            }
        }
    }
}

alkyl_vm::display_by_describe!(TrapText<'_>);

impl LastRun {
    /// What `GET /apps/NAME/result` shows: the payload the script built,
    /// else `r0` as `0x…`; for a trap, `error: …`.
    pub fn result_text(&self) -> Vec<u8> {
        match &self.outcome {
            Ok(RunOutput { response: Some(r), .. }) => r.payload.clone(),
            Ok(out) => text(&Hex(out.r0)).into_bytes(),
            Err(trap) => text(&("error: ", TrapText { trap, kind: self.kind })).into_bytes(),
        }
    }
}

/// Runs and errors so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunStats {
    pub runs: u64,
    pub traps: u64,
    pub last: Option<LastRun>,
    /// The last trap, kept when later runs succeed.
    pub last_error: Option<(u64, Trap)>,
}

/// The metadata of an installed app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppMeta {
    pub name: AppName,
    /// The installed version.
    pub version: u32,
    /// The highest sequence accepted for this name (the version, or a later
    /// trigger command's number).
    pub sequence: u32,
    pub kind: PayloadKind,
    pub triggers: Vec<TriggerRepr>,
    /// Entries anyone may run with a plain `POST /apps/NAME/run[/ENTRY]`,
    /// as the signed upload declared them: entry names, `"*"` (every entry)
    /// or `""` (the first instruction). Every other entry needs a signed
    /// invocation; local events (triggers) run any entry.
    pub open: Vec<String>,
}

impl AppMeta {
    /// Whether `entry` (`None`: the first instruction) is open to anyone.
    pub fn is_open(&self, entry: Option<&[u8]>) -> bool {
        let wanted = entry.unwrap_or(b"");
        self.open.iter().any(|o| o == "*" || o.as_bytes() == wanted)
    }
}

/// An installed app.
pub struct App {
    pub(crate) meta: AppMeta,
    hash: [u8; 32],
    loaded: Loaded,
    /// `.data` and `.bss`, kept across runs (Femto-Container semantics).
    pub(crate) data: Vec<u8>,
    pub(crate) stats: RunStats,
}

impl fmt::Debug for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("App").field("meta", &self.meta).field("size", &self.container().len()).finish_non_exhaustive()
    }
}

/// Limits an app must fit.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AppLimits {
    pub max_bytes: usize,
    pub max_stack: usize,
}

impl App {
    /// Loads and verifies `container`, checks the limits and that every
    /// trigger names an existing entry, and initialises `.data`.
    ///
    /// # Errors
    /// [`AppError`].
    pub(crate) fn new(meta: AppMeta, container: Vec<u8>, limits: AppLimits) -> Result<App, AppError> {
        let script = Script::load(container, &ALL_HELPERS).map_err(AppError::Load)?;
        App::from_script(meta, script, limits)
    }

    /// [`App::new`] from a script already loaded (verified) from its
    /// container, e.g. by the Alkyl IR compiler: not verified again; with
    /// `fast`, translated here, once.
    ///
    /// # Errors
    /// [`AppError`], except `Load`.
    pub(crate) fn from_script(meta: AppMeta, script: Script<Vec<u8>>, limits: AppLimits) -> Result<App, AppError> {
        let hash: [u8; 32] = Sha256::digest(script.container().as_bytes()).into();
        let loaded = Loaded::new(script)?;
        let s = loaded.script();
        let stack = s.stack_size();
        if stack > limits.max_stack {
            return Err(AppError::Stack { needed: stack, max: limits.max_stack });
        }
        let needed = loaded.len().saturating_add(s.data_size());
        if needed > limits.max_bytes {
            return Err(AppError::TooLarge { needed, max: limits.max_bytes });
        }
        for (i, t) in meta.triggers.iter().enumerate() {
            if let Some(e) = &t.entry {
                if s.entry(e.as_bytes()).is_none() {
                    return Err(AppError::UnknownEntry { trigger: i as u8 });
                }
            }
        }
        let mut data = vec![0u8; s.data_size()];
        s.init_data(&mut data);
        Ok(App { meta, hash, loaded, data, stats: RunStats::default() })
    }

    /// The verified script.
    pub fn script(&self) -> &Script<Vec<u8>> {
        self.loaded.script()
    }

    /// The container bytes.
    pub fn container(&self) -> &[u8] {
        self.script().container().as_bytes()
    }

    /// Bytes this app holds: container, `.data`/`.bss` and (feature
    /// `fast`) the translated ops, 8 bytes per instruction slot.
    pub fn footprint(&self) -> usize {
        self.loaded.len() + self.data.len()
    }

    /// SHA-256 of the container.
    pub fn hash(&self) -> &[u8; 32] {
        &self.hash
    }

    /// Metadata.
    pub fn meta(&self) -> &AppMeta {
        &self.meta
    }

    /// Run statistics.
    pub fn stats(&self) -> &RunStats {
        &self.stats
    }

    /// Names of the entry points, in table order.
    pub fn entry_names(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.script().entries().map(|(f, _)| f.name)
    }

    /// The entry named `name`, or the first instruction for `None`.
    pub fn entry(&self, name: Option<&[u8]>) -> Option<Entry> {
        match name {
            Some(n) => self.script().entry(n),
            None => Some(self.script().program().main()),
        }
    }

    /// The script and its `.data`, for a run.
    pub(crate) fn run_parts(&mut self) -> (&Loaded, &mut [u8]) {
        (&self.loaded, &mut self.data)
    }

    /// Records a run's outcome.
    pub(crate) fn record(&mut self, run: LastRun) {
        self.stats.runs = self.stats.runs.saturating_add(1);
        if let Err(trap) = &run.outcome {
            self.stats.traps = self.stats.traps.saturating_add(1);
            self.stats.last_error = Some((run.at_ms, *trap));
        }
        self.stats.last = Some(run);
    }
}

#[cfg(test)]
mod install_time {
    extern crate std;

    use super::*;
    use crate::envelope::PayloadKind;
    use crate::name::AppName;
    use crate::runtime::apply::Prepared;
    use std::time::Instant;

    /// Median time of `n` installs (verify, translate, `.data`) of `payload`
    /// as an app of `kind`: what an upload or a boot reload costs the
    /// device besides signature and storage. Run with
    /// `cargo test --release -p alkyl-runtime --lib install_time -- --ignored --nocapture`.
    fn median_install_ns(kind: PayloadKind, payload: &[u8], n: usize) -> u128 {
        let limits = AppLimits { max_bytes: 1 << 20, max_stack: 4096 };
        let mut times: Vec<u128> = (0..n)
            .map(|_| {
                let meta = AppMeta {
                    name: AppName::new(b"timed").unwrap(),
                    version: 1,
                    sequence: 1,
                    kind,
                    triggers: Vec::new(),
                    open: Vec::new(),
                };
                let payload = payload.to_vec();
                let start = Instant::now();
                let app = Prepared::of(kind, payload, limits.max_bytes)
                    .and_then(|p| p.into_app(meta, limits))
                    .expect("installs");
                let t = start.elapsed().as_nanos();
                drop(app);
                t
            })
            .collect();
        times.sort_unstable();
        times[n / 2]
    }

    #[test]
    #[ignore = "a measurement: run in release with --nocapture"]
    fn install_time() {
        let fletcher = crate::testkit::container(include_str!("../../../apps/asm/fletcher32.s"), &[("fletcher32", 0)]);
        let n = 2001;
        let f = median_install_ns(PayloadKind::Container, &fletcher, n);
        std::println!("install fletcher32 (container, {} B): median {f} ns over {n}", fletcher.len());
        #[cfg(feature = "ir")]
        {
            let lock = alkyl_translator::ir::text::assemble(include_str!("../../../apps/ir/smartlock.air")).unwrap();
            let l = median_install_ns(PayloadKind::AlkylIr, &lock, n);
            std::println!("install smart lock (Alkyl IR, {} B): median {l} ns over {n}", lock.len());
        }
    }
}
