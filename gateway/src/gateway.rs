//! `aryl run`: follows the contract, runs its Aryl script on confirmed
//! events, and delivers the resulting commands to the devices.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use alkyl_protocol::client::Client;
use alkyl_protocol::command::CommandRepr;
use alkyl_protocol::envelope::{EnvelopeRepr, PayloadKind};
use alkyl_protocol::{AppName, KeyId};
use alkyl_translator::ir::syscall::fnv1a32;
use alkyl_translator::ir::{call_input, IrTrap, Module};
use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{keccak256, Address, B256};
use alloy::providers::{Provider, ProviderBuilder, WsConnect};
use alloy::rpc::types::{Filter, Log};
use coap_lite::RequestType;
use ed25519_dalek::{Signer, SigningKey};
use serde::Deserialize;

use crate::state::{Cmd, Handled, Op, State, Store, KEEP_HASHES};
use crate::{contract, pin, Result};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// JSON-RPC over WebSocket (`ws://host:port`).
    pub rpc: String,
    pub contract: Address,
    /// The build output of `aryl build` (for the events' ABI).
    pub artifact: PathBuf,
    /// Blocks on top of an event's before the gateway acts on it.
    #[serde(default = "default_confirmations")]
    pub confirmations: u64,
    /// First block to follow from when there is no state yet.
    #[serde(default)]
    pub start_block: u64,
    #[serde(default = "default_chunk")]
    pub chunk: u64,
    #[serde(default = "default_poll_ms")]
    pub poll_ms: u64,
    /// A command is dropped (never applied late) this long after its event's block.
    #[serde(default = "default_deadline")]
    pub deadline_secs: u64,
    pub state_dir: PathBuf,
    /// The Ed25519 seed (hex) the devices trust (`alkyl keygen`).
    pub device_key: PathBuf,
    /// The X25519 HPKE secret (hex) whose public half the contract publishes.
    pub hpke_key: PathBuf,
    /// Entries of the device app anyone may run (the keypad's).
    #[serde(default)]
    pub open: Vec<String>,
    /// Device name -> CoAP URI.
    pub devices: BTreeMap<String, String>,
    /// The gateway's Ethereum key (hex secret): relays device reports.
    #[serde(default)]
    pub eth_key: Option<PathBuf>,
    /// Where devices send reports (`alkyl-node --gateway coap://ADDR/reports`).
    #[serde(default)]
    pub report_listen: Option<String>,
    /// Device name -> its public key (`alkyl keygen`'s .pub): who may report.
    #[serde(default)]
    pub device_keys: BTreeMap<String, PathBuf>,
}

fn default_confirmations() -> u64 {
    2
}
fn default_chunk() -> u64 {
    500
}
fn default_poll_ms() -> u64 {
    200
}
fn default_deadline() -> u64 {
    600
}

impl Config {
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut c: Config = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let extra = c.eth_key.iter_mut().chain(c.device_keys.values_mut());
        for p in [&mut c.artifact, &mut c.state_dir, &mut c.device_key, &mut c.hpke_key].into_iter().chain(extra) {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(c)
    }
}

pub fn read_hex32(path: &Path) -> Result<[u8; 32]> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let b = hex::decode(text.trim().trim_start_matches("0x"))?;
    b.try_into().map_err(|_| format!("{}: expected 64 hex digits", path.display()).into())
}

pub fn unix_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// One event of the ABI the script handles.
struct EventDef {
    name: String,
    topic0: B256,
    /// (type, indexed) of each input.
    inputs: Vec<(String, bool)>,
}

fn events(artifact: &Path) -> Result<Vec<EventDef>> {
    let art: serde_json::Value = serde_json::from_slice(&std::fs::read(artifact)?)?;
    let mut out = Vec::new();
    for e in art["abi"].as_array().ok_or("artifact: no abi")? {
        if e["type"] != "event" {
            continue;
        }
        let name = e["name"].as_str().unwrap_or("").to_string();
        let inputs: Vec<(String, bool)> = e["inputs"]
            .as_array()
            .map(|a| a.iter().map(|i| (i["type"].as_str().unwrap_or("").to_string(), i["indexed"] == true)).collect())
            .unwrap_or_default();
        let sig = format!("{name}({})", inputs.iter().map(|i| i.0.as_str()).collect::<Vec<_>>().join(","));
        out.push(EventDef { topic0: keccak256(sig.as_bytes()), name, inputs });
    }
    Ok(out)
}

/// What a device worker thread finished.
enum Done {
    Sequence(String, std::result::Result<u64, String>),
    Sent(String, Cmd, std::result::Result<String, (bool, String)>),
}

pub struct Gateway {
    done_tx: std::sync::mpsc::Sender<Done>,
    done_rx: std::sync::mpsc::Receiver<Done>,
    /// Devices with a worker out (one at a time per device: its queue is ordered).
    inflight: std::collections::HashSet<String>,
    cfg: Config,
    store: Store,
    pub state: State,
    key: SigningKey,
    hpke: [u8; 32],
    device_code: Vec<u8>,
    code_hash: String,
    app: String,
    script: Vec<u8>,
    events: Vec<EventDef>,
}

/// What a handler asked of the devices.
struct Call {
    device: usize,
    entry: String,
    args: Vec<u64>,
}

impl Gateway {
    pub async fn run(cfg: Config) -> Result<()> {
        let provider = ProviderBuilder::new().connect_ws(WsConnect::new(cfg.rpc.clone())).await?;
        let chain_id = provider.get_chain_id().await?;
        let embedded = contract::read(&provider, cfg.contract).await?;
        let store = Store::new(&cfg.state_dir)?;
        let state = store.load()?.unwrap_or_else(|| State {
            chain_id,
            contract: cfg.contract.to_string(),
            cursor: cfg.start_block.saturating_sub(1),
            ..State::default()
        });
        if state.chain_id != chain_id || state.contract != cfg.contract.to_string() {
            return Err(format!(
                "{}: state of chain {} contract {}, not chain {chain_id} contract {}",
                cfg.state_dir.display(),
                state.chain_id,
                state.contract,
                cfg.contract
            )
            .into());
        }
        let hpke = read_hex32(&cfg.hpke_key)?;
        if pin::public_of(&hpke)?.as_slice() != embedded.hpke_public.as_slice() {
            return Err("the HPKE key is not the one the contract publishes".into());
        }
        let key = SigningKey::from_bytes(&read_hex32(&cfg.device_key)?);
        let code_hash = keccak256(&embedded.device).to_string();
        let events = events(&cfg.artifact)?;
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let mut gw = Gateway {
            done_tx,
            done_rx,
            inflight: Default::default(),
            store,
            state,
            key,
            hpke,
            code_hash,
            app: embedded.app,
            device_code: embedded.device,
            script: embedded.script,
            events,
            cfg,
        };
        gw.log(&format!(
            "following {} on chain {chain_id} from block {}, {} confirmations, {} devices, device code {}",
            gw.cfg.contract,
            gw.state.cursor + 1,
            gw.cfg.confirmations,
            gw.cfg.devices.len(),
            gw.code_hash
        ));
        // Install (or upgrade) the contract's device code where it is not.
        for name in gw.cfg.devices.keys().cloned().collect::<Vec<_>>() {
            let d = gw.state.devices.entry(name).or_default();
            if d.installed != gw.code_hash && !d.queue.iter().any(|c| matches!(c.op, Op::Install)) {
                d.queue.push_front(Cmd {
                    id: "install".into(),
                    op: Op::SetTime,
                    deadline: None,
                    sequence: None,
                    signed: None,
                    queued_ms: unix_ms(),
                });
                d.queue.push_front(Cmd {
                    id: "install".into(),
                    op: Op::Install,
                    deadline: None,
                    sequence: None,
                    signed: None,
                    queued_ms: unix_ms(),
                });
            }
        }
        gw.store.save(&gw.state)?;
        let reports = match &gw.cfg.report_listen {
            Some(addr) => {
                let socket = std::net::UdpSocket::bind(addr)?;
                let mut keys = std::collections::HashMap::new();
                for (name, path) in &gw.cfg.device_keys {
                    let k = read_hex32(path)?;
                    let vk = ed25519_dalek::VerifyingKey::from_bytes(&k)?;
                    keys.insert(KeyId::of(&k), (name.clone(), vk));
                }
                gw.log(&format!("reports on coap://{}/reports", socket.local_addr()?));
                Some(crate::reports::serve(socket, keys))
            }
            None => None,
        };
        let relay = match &gw.cfg.eth_key {
            Some(path) => {
                let signer = alloy::signers::local::PrivateKeySigner::from_bytes(&B256::from(read_hex32(path)?))?;
                let from = signer.address();
                Some((alloy::network::EthereumWallet::from(signer), from))
            }
            None => None,
        };
        loop {
            gw.follow(&provider, chain_id).await?;
            gw.deliver()?;
            if let Some(rx) = &reports {
                gw.take_reports(rx)?;
            }
            if let Some((wallet, from)) = &relay {
                gw.relay(&provider, wallet, *from, chain_id).await?;
            }
            tokio::time::sleep(Duration::from_millis(gw.cfg.poll_ms)).await;
        }
    }

    /// Records verified reports (persisted before the device is told).
    fn take_reports(&mut self, rx: &std::sync::mpsc::Receiver<crate::reports::Incoming>) -> Result<()> {
        let mut acks = Vec::new();
        while let Ok(r) = rx.try_recv() {
            let d = self.state.devices.entry(r.device.clone()).or_default();
            if r.sequence > d.report_sequence {
                d.report_sequence = r.sequence;
                self.log(&format!(
                    "report {}#{} from {}: {} bytes",
                    r.device,
                    r.sequence,
                    r.device_id,
                    r.payload.len()
                ));
                self.state.txs.push_back(crate::state::Tx {
                    id: format!("{}#{}", r.device, r.sequence),
                    device_id: hex::encode(r.device_id.0),
                    sequence: r.sequence,
                    payload: hex::encode(&r.payload),
                    ..Default::default()
                });
            }
            acks.push(r.done);
        }
        if !acks.is_empty() {
            self.store.save(&self.state)?;
            for a in acks {
                let _ = a.send(true);
            }
        }
        Ok(())
    }

    /// Sends the oldest pending report transaction: a nonce and a signature
    /// are given and persisted first, so a resend after a crash is the same
    /// transaction (the chain takes it once); done when its receipt exists.
    async fn relay<P: Provider>(
        &mut self,
        p: &P,
        wallet: &alloy::network::EthereumWallet,
        from: Address,
        chain_id: u64,
    ) -> Result<()> {
        use alloy::eips::eip2718::Encodable2718;
        use alloy::network::{NetworkTransactionBuilder, TransactionBuilder};
        use alloy::sol_types::SolCall;
        let Some(tx) = self.state.txs.front().cloned() else { return Ok(()) };
        let (raw, hash) = match (&tx.raw, &tx.hash) {
            (Some(r), Some(h)) => (hex::decode(r)?, h.parse::<B256>()?),
            _ => {
                let nonce = match self.state.next_nonce {
                    Some(n) => n,
                    None => p.get_transaction_count(from).pending().await?,
                };
                let mut id = [0u8; 8];
                id.copy_from_slice(&hex::decode(&tx.device_id)?);
                let data = crate::reportCall {
                    device: id.into(),
                    sequence: tx.sequence,
                    payload: hex::decode(&tx.payload)?.into(),
                }
                .abi_encode();
                let gas_price = p.get_gas_price().await?;
                let req = alloy::rpc::types::TransactionRequest::default()
                    .with_to(self.cfg.contract)
                    .with_input(data)
                    .with_nonce(nonce)
                    .with_chain_id(chain_id)
                    .with_gas_limit(300_000)
                    .with_max_fee_per_gas(gas_price * 2 + 1_000_000_000)
                    .with_max_priority_fee_per_gas(1_000_000_000);
                let env = NetworkTransactionBuilder::<alloy::network::Ethereum>::build(req, wallet)
                    .await
                    .map_err(|e| format!("signing: {e}"))?;
                let raw = env.encoded_2718();
                let hash = *env.tx_hash();
                let front = self.state.txs.front_mut().unwrap();
                front.nonce = Some(nonce);
                front.raw = Some(hex::encode(&raw));
                front.hash = Some(hash.to_string());
                self.state.next_nonce = Some(nonce + 1);
                self.store.save(&self.state)?;
                (raw, hash)
            }
        };
        if let Some(receipt) = p.get_transaction_receipt(hash).await? {
            let ok = receipt.status();
            self.log(&format!(
                "report {} relayed: tx {hash} block {} {}",
                tx.id,
                receipt.block_number.unwrap_or(0),
                if ok { "ok" } else { "reverted" }
            ));
            self.state.txs.pop_front();
            self.state.relayed += 1;
            self.store.save(&self.state)?;
            return Ok(());
        }
        // Not mined (yet): (re)send the same bytes; "already known" is fine.
        if let Err(e) = p.send_raw_transaction(&raw).await {
            let m = e.to_string();
            if m.contains("nonce too low") {
                // Someone else used the nonce: sign again with a fresh one.
                let front = self.state.txs.front_mut().unwrap();
                front.raw = None;
                front.hash = None;
                self.state.next_nonce = None;
                self.store.save(&self.state)?;
            } else if !m.contains("already") {
                self.log(&format!("report {}: sending: {m}", tx.id));
            }
        }
        Ok(())
    }

    fn log(&self, msg: &str) {
        eprintln!("aryl: {msg}");
    }

    async fn block_hash<P: Provider>(p: &P, n: u64) -> Result<(B256, u64)> {
        let b = p.get_block_by_number(BlockNumberOrTag::Number(n)).await?.ok_or_else(|| format!("no block {n}"))?;
        Ok((b.header.hash, b.header.timestamp))
    }

    /// One step of following: reorg check, then at most one chunk of
    /// confirmed blocks.
    async fn follow<P: Provider>(&mut self, p: &P, chain_id: u64) -> Result<()> {
        // Reorgs: the last handled block must still be on the chain.
        while self.state.cursor > 0 {
            let Some(stored) = self.state.hashes.get(&self.state.cursor).cloned() else { break };
            let (now, _) = Self::block_hash(p, self.state.cursor).await?;
            if now.to_string() == stored {
                break;
            }
            let n = self.state.cursor;
            self.state.hashes.remove(&n);
            self.state.cursor = n - 1;
            self.state.reorgs += 1;
            // Events of the dropped block: their pending commands are
            // dropped; delivered ones are compensated (docs/aryl.md).
            let gone: Vec<String> =
                self.state.journal.iter().filter(|(_, h)| h.block == n).map(|(k, _)| k.clone()).collect();
            for k in &gone {
                let Some(h) = self.state.journal.remove(k) else { continue };
                let mut compensated = 0;
                for (i, (dev, entry, len)) in h.calls.iter().enumerate() {
                    let id = format!("{k}#{i}");
                    let Some(d) = self.state.devices.get_mut(dev) else { continue };
                    let before = d.queue.len();
                    d.queue.retain(|c| c.id != id || c.sequence.is_some());
                    if d.queue.len() < before {
                        continue; // never sent: nothing to undo
                    }
                    // Sent (or in flight): the same entry with zero
                    // arguments (the lock: SetPin(0, 0) revokes the PIN).
                    d.queue.push_back(Cmd {
                        id: format!("{id}!undo"),
                        op: Op::Invoke { entry: entry.clone(), input: "00".repeat(*len) },
                        deadline: None,
                        sequence: None,
                        signed: None,
                        queued_ms: unix_ms(),
                    });
                    compensated += 1;
                }
                self.log(&format!(
                    "reorg: block {n} replaced; event {} {k} undone, {compensated} delivered calls compensated",
                    h.event
                ));
            }
            self.log(&format!("reorg at block {n}: rewound the cursor to {}", n - 1));
            self.store.save(&self.state)?;
        }
        let head = p.get_block_number().await?;
        let safe = head.saturating_sub(self.cfg.confirmations);
        if safe <= self.state.cursor {
            return Ok(());
        }
        let from = self.state.cursor + 1;
        let to = safe.min(from + self.cfg.chunk - 1);
        let filter = Filter::new().address(self.cfg.contract).from_block(from).to_block(to);
        let mut logs = p.get_logs(&filter).await?;
        logs.sort_by_key(|l| (l.block_number, l.log_index));
        let mut stamps: BTreeMap<u64, (B256, u64)> = BTreeMap::new();
        for l in &logs {
            let n = l.block_number.unwrap_or(0);
            if let std::collections::btree_map::Entry::Vacant(e) = stamps.entry(n) {
                e.insert(Self::block_hash(p, n).await?);
            }
            if l.block_hash != Some(stamps[&n].0) {
                // The chain moved under us: this chunk again, next step.
                return Ok(());
            }
            self.handle(chain_id, l, stamps[&n].1);
        }
        let (h, _) = Self::block_hash(p, to).await?;
        self.state.cursor = to;
        self.state.hashes.insert(to, h.to_string());
        while self.state.hashes.len() > KEEP_HASHES {
            let first = *self.state.hashes.keys().next().unwrap_or(&0);
            self.state.hashes.remove(&first);
        }
        self.store.save(&self.state)?;
        Ok(())
    }

    /// Runs the script's handler for one log (once: the journal).
    fn handle(&mut self, chain_id: u64, l: &Log, timestamp: u64) {
        if l.address() != self.cfg.contract {
            return; // another contract's event: never ours
        }
        let tx = l.transaction_hash.unwrap_or_default();
        let key = format!("{chain_id}:{tx}:{}", l.log_index.unwrap_or(0));
        if self.state.journal.contains_key(&key) {
            return;
        }
        let topics = l.topics();
        let Some(ev) = topics.first().and_then(|t0| self.events.iter().find(|e| e.topic0 == *t0)) else { return };
        let block = l.block_number.unwrap_or(0);
        let name = ev.name.clone();
        let calls = match self.run_handler(chain_id, ev, topics, &l.data().data, timestamp) {
            Ok(Some(calls)) => calls,
            Ok(None) => return, // the script has no handler for it
            Err(e) => {
                self.log(&format!("event {name} {key}: refused: {e}"));
                self.state.refused += 1;
                self.state.journal.insert(key, Handled { block, event: name, commands: 0, calls: Vec::new() });
                return;
            }
        };
        let names: Vec<String> = self.cfg.devices.keys().cloned().collect();
        let deadline = timestamp + self.cfg.deadline_secs;
        let n = calls.len() as u32;
        let mut done = Vec::new();
        for c in calls {
            let Some(dev) = names.get(c.device) else { continue };
            let bytes = call_input(&c.args, &[]);
            done.push((dev.clone(), c.entry.clone(), bytes.len()));
            let input = hex::encode(bytes);
            let d = self.state.devices.entry(dev.clone()).or_default();
            d.queue.push_back(Cmd {
                id: format!("{key}#{}", done.len() - 1),
                op: Op::Invoke { entry: c.entry, input },
                deadline: Some(deadline),
                sequence: None,
                signed: None,
                queued_ms: unix_ms(),
            });
        }
        self.log(&format!("event {name} {key} (block {block}): {n} device calls queued"));
        self.state.journal.insert(key, Handled { block, event: name, commands: n, calls: done });
    }

    fn run_handler(
        &self,
        chain_id: u64,
        ev: &EventDef,
        topics: &[B256],
        data: &[u8],
        timestamp: u64,
    ) -> Result<Option<Vec<Call>>> {
        let script = Module::parse(&self.script)?;
        let Some((index, _)) = script.function(&ev.name) else { return Ok(None) };
        let validated = alkyl_translator::ir::validate(script)?;
        let device = Module::parse(&self.device_code)?;
        let entries: Vec<String> = device.functions.iter().map(|f| f.name.to_string()).collect();
        // Arguments: the non-indexed inputs in order; dynamic ones (bytes,
        // string) become handles into `blobs`.
        let word = |i: usize| -> Result<[u8; 32]> {
            data.get(i * 32..i * 32 + 32).and_then(|w| w.try_into().ok()).ok_or_else(|| "short event data".into())
        };
        let mut args = Vec::new();
        let mut blobs: Vec<Vec<u8>> = Vec::new();
        let mut static_words = Vec::new();
        for (slot, (ty, _)) in ev.inputs.iter().filter(|(_, indexed)| !indexed).enumerate() {
            let w = word(slot)?;
            if ty == "bytes" || ty == "string" {
                let off = u64::from_be_bytes(w[24..].try_into()?) as usize;
                let len_w = data.get(off..off + 32).ok_or("bad offset")?;
                let len = u64::from_be_bytes(len_w[24..].try_into()?) as usize;
                let b = data.get(off + 32..off + 32 + len).ok_or("bad length")?.to_vec();
                args.push(blobs.len() as u64);
                blobs.push(b);
            } else {
                static_words.push(w);
                args.push(u64::from_be_bytes(w[24..].try_into()?));
            }
        }
        let topic_words: Vec<[u8; 32]> = topics[1..].iter().map(|t| t.0).collect();
        let aad = pin::aad(chain_id, &self.cfg.contract.0 .0, &topic_words, &static_words);
        let mut calls = Vec::new();
        let mut pending = Vec::new();
        let mut secrets: Vec<u64> = Vec::new();
        let devices = self.cfg.devices.len() as u64;
        let mut failure: Option<String> = None;
        let mut inst = alkyl_translator::ir::Instance::new(&validated, 0);
        let mut platform = alkyl_bindings::SimPlatform::default();
        let input = call_input(&args, &[]);
        let r = inst.call_gateway(&validated, index, &input, &mut platform, 1_000_000, &mut |sc, a| {
            match sc.name {
                "gw_decrypt" => {
                    let blob = blobs.get(a[0] as usize).ok_or(IrTrap::Syscall { id: sc.id })?;
                    match pin::open(&self.hpke, &aad, blob) {
                        Ok(p) if p.len() <= 8 => {
                            let mut v = [0u8; 8];
                            v[..p.len()].copy_from_slice(&p);
                            let v = u64::from_le_bytes(v);
                            secrets.push(v);
                            Ok(v)
                        }
                        Ok(_) => {
                            failure = Some("the PIN is longer than 8 bytes".into());
                            Err(IrTrap::Syscall { id: sc.id })
                        }
                        Err(e) => {
                            failure = Some(e.to_string());
                            Err(IrTrap::Syscall { id: sc.id })
                        }
                    }
                }
                "gw_block_timestamp" => Ok(timestamp),
                "gw_device_count" => Ok(devices),
                "gw_arg" => {
                    pending.push(a[0]);
                    Ok(0)
                }
                "gw_call" => {
                    let entry = entries
                        .iter()
                        .find(|e| fnv1a32(e.as_bytes()) == a[1] as u32)
                        .ok_or(IrTrap::Syscall { id: sc.id })?;
                    calls.push(Call {
                        device: a[0] as usize,
                        entry: entry.clone(),
                        args: std::mem::take(&mut pending),
                    });
                    Ok(0)
                }
                "gw_log" => {
                    // A decrypted value is never logged.
                    if secrets.contains(&a[0]) {
                        eprintln!("aryl: script: <secret>");
                    } else {
                        eprintln!("aryl: script: {}", a[0]);
                    }
                    Ok(0)
                }
                _ => Err(IrTrap::Syscall { id: sc.id }),
            }
        });
        match r {
            Ok(_) => Ok(Some(calls)),
            Err(t) => Err(failure.unwrap_or_else(|| format!("the script trapped: {t:?}")).into()),
        }
    }

    /// One delivery round: the head command of every ready device, in
    /// parallel; sequences are given and persisted before anything is sent,
    /// so a resend after a crash is the same envelope (the device's replay
    /// check makes it exactly once).
    pub fn deliver(&mut self) -> Result<()> {
        self.collect()?;
        let now = unix_ms();
        let mut work = Vec::new();
        let public = self.key.verifying_key().to_bytes();
        let mut changed = false;
        for (name, d) in self.state.devices.iter_mut() {
            if self.inflight.contains(name) {
                continue;
            }
            // Expired commands are dropped, never applied late.
            while let Some(c) = d.queue.front() {
                match c.deadline {
                    Some(t) if t * 1000 <= now => {
                        let msg = format!("{name}: {} dropped: deadline {t} passed", describe(&c.op));
                        eprintln!("aryl: {msg}");
                        self.state.dropped.push(msg);
                        d.queue.pop_front();
                        changed = true;
                    }
                    _ => break,
                }
            }
            let Some(uri) = self.cfg.devices.get(name) else { continue };
            if d.queue.is_empty() || d.retry_at_ms > now {
                continue;
            }
            // A device that was unreachable may have restarted without its
            // clock: set it again before the next call.
            // (Only before an unsigned head: a signed one keeps its place in
            // the device's sequence order.)
            let head_unsigned = d.queue.front().is_some_and(|c| c.signed.is_none());
            if !d.clock_set && head_unsigned && matches!(d.queue.front().map(|c| &c.op), Some(Op::Invoke { .. })) {
                d.queue.push_front(Cmd {
                    id: "clock".into(),
                    op: Op::SetTime,
                    deadline: None,
                    sequence: None,
                    signed: None,
                    queued_ms: unix_ms(),
                });
                changed = true;
            }
            work.push((name.clone(), uri.clone(), d.sequence, d.queue.front().cloned().unwrap()));
        }
        if changed {
            self.store.save(&self.state)?;
        }
        let kid = KeyId::of(&public);
        let mut signed_any = false;
        let mut spawn = Vec::new();
        for (name, uri, seq, _) in work {
            let d = self.state.devices.get_mut(&name).unwrap();
            let Some(c) = d.queue.front_mut() else { continue };
            if !matches!(c.op, Op::Install) && c.signed.is_none() {
                let Some(last) = seq else {
                    // Ask the device its sequence first (a worker thread).
                    let tx = self.done_tx.clone();
                    self.inflight.insert(name.clone());
                    std::thread::spawn(move || {
                        let _ = tx.send(Done::Sequence(name, auth_last(&uri, kid).map_err(|e| e.to_string())));
                    });
                    continue;
                };
                let seq = last + 1;
                let mut repr = match &c.op {
                    Op::SetTime => CommandRepr::set_time(unix_ms(), seq),
                    Op::Invoke { entry, input } => {
                        CommandRepr::invoke(&self.app, Some(entry), hex::decode(input).unwrap_or_default(), seq)
                    }
                    Op::Install => unreachable!(),
                };
                repr.expires = c.deadline;
                let bytes =
                    repr.to_signed_bytes(&public, |m| self.key.sign(m).to_bytes()).map_err(|e| format!("{e:?}"))?;
                c.sequence = Some(seq);
                c.signed = Some(hex::encode(bytes));
                d.sequence = Some(seq);
                signed_any = true;
            }
            spawn.push((name, uri, c.clone()));
        }
        // Signed commands are persisted before they leave.
        if signed_any {
            self.store.save(&self.state)?;
        }
        let version = self.state.version + 1;
        for (n, u, c) in spawn {
            let (app, code, open, key) =
                (self.app.clone(), self.device_code.clone(), self.cfg.open.clone(), self.key.clone());
            let tx = self.done_tx.clone();
            self.inflight.insert(n.clone());
            std::thread::spawn(move || {
                let r = send(&u, &c, &app, &code, &open, &key, version, kid);
                let _ = tx.send(Done::Sent(n, c, r));
            });
        }
        Ok(())
    }

    /// Applies what the device workers finished.
    fn collect(&mut self) -> Result<()> {
        let mut any = false;
        let version = self.state.version + 1;
        let mut results = Vec::new();
        while let Ok(done) = self.done_rx.try_recv() {
            any = true;
            match done {
                Done::Sequence(n, r) => {
                    self.inflight.remove(&n);
                    match r {
                        Ok(last) => self.state.devices.get_mut(&n).unwrap().sequence = Some(last),
                        Err(e) => {
                            let d = self.state.devices.get_mut(&n).unwrap();
                            d.failures += 1;
                            d.clock_set = false;
                            let base = 100u64 << d.failures.min(7);
                            d.retry_at_ms = unix_ms() + base.min(10_000) + rand::random::<u64>() % (base / 2 + 1);
                            d.last_error = Some(format!("GET /auth (attempt {}): {e}", d.failures));
                        }
                    }
                }
                Done::Sent(n, c, r) => {
                    self.inflight.remove(&n);
                    results.push((n, c, r));
                }
            }
        }
        for (name, c, r) in results {
            let d = self.state.devices.get_mut(&name).unwrap();
            match r {
                Ok(what) => {
                    if let Op::Install = c.op {
                        d.installed = self.code_hash.clone();
                        self.state.version = self.state.version.max(what.parse().unwrap_or(version));
                    }
                    if let Op::SetTime = c.op {
                        d.clock_set = true;
                    }
                    d.queue.pop_front();
                    d.acked += 1;
                    d.failures = 0;
                    d.retry_at_ms = 0;
                    d.last_ack = Some(format!("{} at {}", describe(&c.op), unix_ms()));
                    let now = unix_ms();
                    eprintln!(
                        "aryl: {name}: {} acknowledged (at {now} ms, {} ms after it was queued)",
                        describe(&c.op),
                        now.saturating_sub(c.queued_ms)
                    );
                }
                Err((fatal, e)) if fatal => {
                    let msg = format!("{name}: {} refused: {e}", describe(&c.op));
                    eprintln!("aryl: {msg}");
                    d.queue.pop_front();
                    d.last_error = Some(msg.clone());
                    self.state.dropped.push(msg);
                }
                Err((_, e)) if e.starts_with("4.12") => {
                    // Refused unapplied (no sequence advance): set the
                    // clock, then sign the command again.
                    if let Some(h) = d.queue.front_mut() {
                        h.signed = None;
                        h.sequence = None;
                    }
                    d.clock_set = false;
                    d.last_error = Some(format!("{}: {e}", describe(&c.op)));
                }
                Err((_, e)) => {
                    d.failures += 1;
                    d.clock_set = false;
                    // Exponential backoff with jitter: 100 ms .. 10 s.
                    let base = 100u64 << d.failures.min(7);
                    let jitter = rand::random::<u64>() % (base / 2 + 1);
                    d.retry_at_ms = unix_ms() + base.min(10_000) + jitter;
                    d.last_error = Some(format!("{} (attempt {}): {e}", describe(&c.op), d.failures));
                }
            }
        }
        if any {
            self.store.save(&self.state)?;
        }
        Ok(())
    }
}

fn describe(op: &Op) -> String {
    match op {
        Op::Install => "install".into(),
        Op::SetTime => "set-time".into(),
        Op::Invoke { entry, .. } => entry.clone(), // never the arguments (a PIN)
    }
}

/// The first CoAP retransmission timeout (doubling, 5 transmissions: a
/// device that does not answer takes a worker ~6 s).
const COAP_TIMEOUT_MS: u64 = 200;

fn client(uri: &str) -> Result<Client> {
    Ok(Client::new(uri, Duration::from_millis(COAP_TIMEOUT_MS)).map_err(|e| format!("{uri}: {e:?}"))?)
}

/// The highest sequence the device accepted from `kid`.
fn auth_last(uri: &str, kid: KeyId) -> Result<u64> {
    let reply = client(uri)?.get("auth").map_err(|e| format!("{e:?}"))?;
    if !reply.ok() {
        return Err(format!("GET /auth: {}", reply.code_text()).into());
    }
    let doc: serde_json::Value = serde_json::from_slice(&reply.packet.payload)?;
    Ok(doc["sequences"][kid.to_string()].as_u64().unwrap_or(0))
}

/// Sends one command. Err((true, _)): refused for good (dropped); Err((false,
/// _)): try again later.
#[allow(clippy::too_many_arguments)]
fn send(
    uri: &str,
    c: &Cmd,
    app: &str,
    code: &[u8],
    open: &[String],
    key: &SigningKey,
    version: u32,
    kid: KeyId,
) -> std::result::Result<String, (bool, String)> {
    let soft = |e: String| (false, e);
    let mut cl = client(uri).map_err(|e| soft(e.to_string()))?;
    match &c.op {
        Op::Install => {
            let name = AppName::new(app.as_bytes()).map_err(|e| (true, format!("{e:?}")))?;
            let current = match cl.get(&format!("apps/{app}")) {
                Ok(r) if r.ok() => serde_json::from_slice::<serde_json::Value>(&r.packet.payload)
                    .ok()
                    .and_then(|d| d["sequence"].as_u64())
                    .unwrap_or(0) as u32,
                Ok(r) => r
                    .text()
                    .rsplit_once("(sequence ")
                    .and_then(|(_, n)| n.trim_end_matches(')').parse().ok())
                    .unwrap_or(0),
                Err(e) => return Err(soft(format!("{e:?}"))),
            };
            let v = version.max(current + 1);
            let mut repr = EnvelopeRepr::install(name, v, PayloadKind::AlkylIr, code.to_vec());
            if !open.is_empty() {
                repr.open = Some(open.to_vec());
            }
            let public = key.verifying_key().to_bytes();
            let env =
                repr.to_signed_bytes(&public, |m| key.sign(m).to_bytes()).map_err(|e| (true, format!("{e:?}")))?;
            let r = cl
                .send_blockwise(RequestType::Put, &format!("apps/{app}"), &env, 6, |_| {})
                .map_err(|e| soft(format!("{e:?}")))?;
            if r.ok() {
                Ok(v.to_string())
            } else {
                Err((r.code_text().starts_with("4."), format!("{} {}", r.code_text(), r.text())))
            }
        }
        Op::SetTime | Op::Invoke { .. } => {
            let bytes = hex::decode(c.signed.as_deref().unwrap_or("")).map_err(|e| (true, e.to_string()))?;
            let path = if matches!(c.op, Op::SetTime) { "time" } else { "invoke" };
            let r = cl.request(RequestType::Post, path, &[], &bytes).map_err(|e| soft(format!("{e:?}")))?;
            if r.ok() {
                return Ok(String::new());
            }
            // A replay of our own sequence: it was applied before a crash.
            if r.code_text() == "4.09" || r.code_text() == "4.06" {
                if let (Ok(last), Some(seq)) = (auth_last(uri, kid), c.sequence) {
                    if last >= seq {
                        return Ok(String::new());
                    }
                }
            }
            let code = r.code_text();
            // 4.12: expired on the device's clock, or it has none (it
            // restarted): not final while our deadline holds (see deliver).
            Err((code.starts_with("4.") && code != "4.12", format!("{code} {}", r.text())))
        }
    }
}
