//! The gateway's persisted state: one JSON file, replaced atomically (write,
//! fsync, rename, fsync the directory), so a kill -9 leaves the old or the
//! new state, never a mix. The cursor, the journal of handled events and
//! the device queues change together in one write: an event's commands are
//! queued exactly when its journal entry exists.

use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Result;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    pub chain_id: u64,
    pub contract: String,
    /// The last block whose logs are handled (0: none).
    pub cursor: u64,
    /// Hashes of the handled blocks the gateway checks for reorgs (the last
    /// `KEEP_HASHES`).
    pub hashes: BTreeMap<u64, String>,
    /// Handled events by `chain id:tx hash:log index`.
    pub journal: BTreeMap<String, Handled>,
    pub devices: BTreeMap<String, DeviceState>,
    /// The last upload version the gateway used (persisted, increasing).
    pub version: u32,
    pub reorgs: u64,
    /// Commands dropped because their deadline passed (the newest last).
    pub dropped: Vec<String>,
    /// Events the script refused (a PIN that does not open, a trap).
    pub refused: u64,
    /// Device reports to relay as transactions, in order.
    pub txs: VecDeque<Tx>,
    /// The next nonce of the gateway's account (None: ask the node).
    pub next_nonce: Option<u64>,
    /// Relayed reports (transactions mined).
    pub relayed: u64,
    /// Devices' requests for chain state to answer, in order.
    #[serde(default)]
    pub requests: VecDeque<ChainRequest>,
    /// Requests answered (the answer queued for the device).
    #[serde(default)]
    pub answered: u64,
    /// Fee bumps of pending transactions.
    #[serde(default)]
    pub bumps: u64,
}

/// A device's request for chain state (docs/aryl.md): call `function` of
/// the contract with `args`, then invoke `entry` with the results.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ChainRequest {
    /// `device#report sequence`.
    pub id: String,
    pub device: String,
    pub function: String,
    pub entry: String,
    pub args: Vec<u64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Tx {
    /// `device#report sequence`.
    pub id: String,
    pub device_id: String,
    pub sequence: u64,
    pub payload: String,
    pub nonce: Option<u64>,
    /// The signed transaction (resent verbatim) and its hash.
    pub raw: Option<String>,
    pub hash: Option<String>,
    /// Hashes of the transactions this one replaced (same nonce, lower
    /// fees): any of them may be the one mined.
    #[serde(default)]
    pub replaced: Vec<String>,
    /// The fees of `raw` (wei).
    #[serde(default)]
    pub max_fee: u128,
    #[serde(default)]
    pub priority_fee: u128,
    /// The head when `raw` was first sent (a bump is due `bump_blocks` later).
    #[serde(default)]
    pub sent_block: Option<u64>,
    /// The call data of a script's transaction (`contract.F(args)`, hex);
    /// None: a device report (`report(device, sequence, payload)`).
    #[serde(default)]
    pub data: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Handled {
    pub block: u64,
    pub event: String,
    /// Commands queued for it.
    pub commands: u32,
    /// (device, entry, input bytes) of each call, for compensation.
    #[serde(default)]
    pub calls: Vec<(String, String, usize)>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct DeviceState {
    pub queue: VecDeque<Cmd>,
    /// The highest command sequence used with this device (None: ask it).
    pub sequence: Option<u64>,
    /// keccak256 of the installed device code.
    pub installed: String,
    pub clock_set: bool,
    pub acked: u64,
    pub last_ack: Option<String>,
    pub last_error: Option<String>,
    pub failures: u32,
    /// Unix ms before which the head is not retried (backoff).
    pub retry_at_ms: u64,
    /// The highest report sequence accepted from the device.
    pub report_sequence: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Op {
    Install,
    SetTime,
    Invoke { entry: String, input: String },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Cmd {
    /// What it is for (the event's journal key and the call's number).
    pub id: String,
    pub op: Op,
    /// Unix seconds after which it is dropped (and the device refuses it).
    pub deadline: Option<u64>,
    /// The signed bytes once a sequence was given (resent verbatim).
    pub sequence: Option<u64>,
    pub signed: Option<String>,
    /// Unix ms when it was queued (for the latency in the log).
    #[serde(default)]
    pub queued_ms: u64,
}

pub const KEEP_HASHES: usize = 256;

pub struct Store {
    path: PathBuf,
}

impl Store {
    pub fn new(dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(dir)?;
        Ok(Store { path: dir.join("state.json") })
    }

    pub fn load(&self) -> Result<Option<State>> {
        match std::fs::read(&self.path) {
            Ok(b) => Ok(Some(serde_json::from_slice(&b)?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub fn save(&self, s: &State) -> Result<()> {
        let tmp = self.path.with_extension("json.tmp");
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&serde_json::to_vec(s)?)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}
