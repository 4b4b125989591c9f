//! `aryl run`: follows the contract, runs its Aryl script on confirmed
//! events, and delivers the resulting commands to the devices.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use alkyl_protocol::client::Client;
use alkyl_protocol::command::CommandRepr;
use alkyl_protocol::envelope::{EnvelopeRepr, PayloadKind};
use alkyl_protocol::{AppName, KeyId};
use alkyl_translator::ir::{call_input, Module};
use alloy::eips::BlockNumberOrTag;
use alloy::primitives::{keccak256, Address, B256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, Log};
use coap_lite::RequestType;
use ed25519_dalek::{Signer, SigningKey};
use serde::Deserialize;

use serde_json::json;

use crate::script::{Call, Host, Script};
use crate::state::{Cmd, Handled, Op, State, Store, KEEP_HASHES};
use crate::{contract, log, pin, Result};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// JSON-RPC: `ws://host:port` (new heads by subscription) or
    /// `http://host:port` (polled every `poll_ms`).
    pub rpc: String,
    pub contract: Address,
    /// The build output of `aryl build` (for the events' ABI).
    pub artifact: PathBuf,
    /// Blocks on top of an event's before the gateway acts on it.
    #[serde(default = "default_confirmations")]
    pub confirmations: u64,
    /// Event name -> its own confirmation depth (else `confirmations`).
    #[serde(default)]
    pub event_confirmations: BTreeMap<String, u64>,
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
    /// The gateway's Ethereum key: relays device reports. An encrypted JSON
    /// keystore (`aryl keystore`), or a hex secret.
    #[serde(default)]
    pub eth_key: Option<PathBuf>,
    /// The keystore's password, from this file (else `ARYL_ETH_PASSWORD`).
    #[serde(default)]
    pub eth_password_file: Option<PathBuf>,
    /// A report transaction not mined this many blocks after it was sent
    /// is replaced (same nonce, higher fees).
    #[serde(default = "default_bump_blocks")]
    pub bump_blocks: u64,
    /// Where devices send reports (`alkyl-node --gateway coap://ADDR/reports`).
    #[serde(default)]
    pub report_listen: Option<String>,
    /// Device name -> its public key (`alkyl keygen`'s .pub): who may report.
    #[serde(default)]
    pub device_keys: BTreeMap<String, PathBuf>,
    /// The devices' limit on a signed command, in bytes (alkyl-runtime's
    /// `Config::max_command_bytes`): an answer to a request that would not
    /// fit is refused.
    #[serde(default = "default_max_command_bytes")]
    pub max_command_bytes: usize,
    /// `"text"` (default) or `"json"`: one JSON object per log line.
    #[serde(default)]
    pub log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

fn default_max_command_bytes() -> usize {
    1024
}

fn default_confirmations() -> u64 {
    2
}
fn default_bump_blocks() -> u64 {
    3
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
        let extra = c.eth_key.iter_mut().chain(c.eth_password_file.iter_mut()).chain(c.device_keys.values_mut());
        for p in [&mut c.artifact, &mut c.state_dir, &mut c.device_key, &mut c.hpke_key].into_iter().chain(extra) {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(c)
    }

    /// The confirmation depth of event `name`.
    pub fn depth(&self, name: &str) -> u64 {
        self.event_confirmations.get(name).copied().unwrap_or(self.confirmations)
    }

    /// The smallest depth of any event.
    fn min_depth(&self) -> u64 {
        self.event_confirmations.values().copied().fold(self.confirmations, u64::min)
    }
}

/// The gateway's Ethereum signer from `path`: an encrypted JSON keystore
/// (password from `password_file`, else the environment's
/// `ARYL_ETH_PASSWORD`), or a file of 64 hex digits.
pub fn eth_signer(path: &Path, password_file: Option<&Path>) -> Result<alloy::signers::local::PrivateKeySigner> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !text.trim_start().starts_with('{') {
        return Ok(alloy::signers::local::PrivateKeySigner::from_bytes(&B256::from(read_hex32(path)?))?);
    }
    let password = match password_file {
        Some(f) => std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?,
        None => std::env::var("ARYL_ETH_PASSWORD")
            .map_err(|_| format!("{}: a keystore needs eth_password_file or ARYL_ETH_PASSWORD", path.display()))?,
    };
    let password = password.trim_end_matches(['\n', '\r']);
    alloy::signers::local::PrivateKeySigner::decrypt_keystore(path, password)
        .map_err(|e| format!("{}: {e}", path.display()).into())
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

/// With a new-heads subscription, the chain is still read this often (a
/// lost notification costs at most this much).
const RESYNC: Duration = Duration::from_secs(5);

/// The outcome of a step that talks to the node: an I/O error (the state
/// file) stops the gateway; any other (the node unreachable or failing) is
/// logged once and the step is tried again next round (a step changes the
/// persisted state only whole: nothing is half done).
/// `answered`: the step's success proves the node answers (a step with
/// nothing to do does not ask it).
fn node_step<T>(last: &mut Option<String>, r: Result<T>, answered: bool) -> Result<Option<T>> {
    match r {
        Ok(v) => {
            if let Some(e) = last.take_if(|_| answered) {
                log::emit("node", json!({"state": "back"}), &format!("the node answers again (was: {e})"));
            }
            Ok(Some(v))
        }
        Err(e) if e.downcast_ref::<std::io::Error>().is_some() => Err(e),
        Err(e) => {
            let m = e.to_string();
            if last.as_deref() != Some(m.as_str()) {
                log::emit(
                    "node",
                    json!({"state": "failing", "error": m}),
                    &format!("the node fails: {m} (trying again every round)"),
                );
                *last = Some(m);
            }
            Ok(None)
        }
    }
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
    /// The device code's function names (parsed once), or why it does not parse.
    entries: std::result::Result<Vec<String>, String>,
    code_hash: String,
    app: String,
    /// The contract's Aryl script, translated for the VM (or why it is not).
    script: std::result::Result<Script, String>,
    events: Vec<EventDef>,
    /// The contract's view functions a device may ask for.
    views: Vec<crate::requests::ViewFn>,
    /// The contract's functions a script may send a transaction to.
    transactable: Vec<crate::requests::ViewFn>,
    /// The last error sending a transaction (logged once, not every round).
    send_error: Option<String>,
}

/// What a handler asked of the devices and the chain.
struct Asked {
    calls: Vec<Call>,
    /// (function, call data) of each `contract.F(args)`.
    txs: Vec<(String, Vec<u8>)>,
}

impl Gateway {
    pub async fn run(cfg: Config) -> Result<()> {
        let provider = ProviderBuilder::new().connect(&cfg.rpc).await?;
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
        let art: serde_json::Value = serde_json::from_slice(&std::fs::read(&cfg.artifact)?)?;
        let views = crate::requests::views(&art["abi"])?;
        let transactable = crate::requests::transactable(&art["abi"])?;
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
            entries: Module::parse(&embedded.device)
                .map(|m| m.functions.iter().map(|f| f.name.to_string()).collect())
                .map_err(|e| e.to_string()),
            device_code: embedded.device,
            script: Script::compile(&embedded.script).map_err(|e| format!("the contract's script: {e}")),
            events,
            views,
            transactable,
            send_error: None,
            cfg,
        };
        log::emit(
            "start",
            json!({"contract": gw.cfg.contract.to_string(), "chain_id": chain_id, "from_block": gw.state.cursor + 1,
                   "confirmations": gw.cfg.confirmations, "devices": gw.cfg.devices.len(), "code_hash": gw.code_hash}),
            &format!(
                "following {} on chain {chain_id} from block {}, {} confirmations, {} devices, device code {}",
                gw.cfg.contract,
                gw.state.cursor + 1,
                gw.cfg.confirmations,
                gw.cfg.devices.len(),
                gw.code_hash
            ),
        );
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
                let at = socket.local_addr()?.to_string();
                log::emit("reports", json!({"listen": at}), &format!("reports on coap://{at}/reports"));
                Some(crate::reports::serve(socket, keys))
            }
            None => None,
        };
        let relay = match &gw.cfg.eth_key {
            Some(path) => {
                let signer = eth_signer(path, gw.cfg.eth_password_file.as_deref())?;
                let from = signer.address();
                log::emit("account", json!({"address": from.to_string()}), &format!("Ethereum account {from}"));
                Some((alloy::network::EthereumWallet::from(signer), from))
            }
            None => None,
        };
        // New heads by subscription over WebSocket (the chain is read when
        // one arrives, while backfilling, and every RESYNC in case a
        // notification was lost); polling every `poll_ms` over HTTP.
        let mut heads = gw.subscribe(&provider).await;
        let mut follow_now = true;
        let mut last_follow = std::time::Instant::now();
        // The node's last error (None: it answers).
        let mut node: Option<String> = None;
        loop {
            if follow_now || heads.is_none() || last_follow.elapsed() >= RESYNC {
                let r = gw.follow(&provider, chain_id).await;
                follow_now = !node_step(&mut node, r, true)?.unwrap_or(false);
                last_follow = std::time::Instant::now();
            }
            gw.deliver()?;
            if let Some(rx) = &reports {
                gw.take_reports(rx)?;
            }
            let r = gw.answer(&provider).await;
            node_step(&mut node, r, false)?;
            if let Some((wallet, from)) = &relay {
                let r = gw.relay(&provider, wallet, *from, chain_id).await;
                node_step(&mut node, r, false)?;
            }
            let tick = tokio::time::sleep(Duration::from_millis(gw.cfg.poll_ms));
            let Some(sub) = heads.as_mut() else {
                tick.await;
                continue;
            };
            let lost = tokio::select! {
                h = sub.recv() => match h {
                    Ok(_) => {
                        follow_now = true;
                        false
                    }
                    Err(e) => {
                        log::emit(
                            "subscription",
                            json!({"state": "lost", "error": e.to_string()}),
                            &format!("new-heads subscription lost ({e}): subscribing again"),
                        );
                        true
                    }
                },
                _ = tick => false,
            };
            if lost {
                heads = gw.subscribe(&provider).await;
                follow_now = true;
            }
        }
    }

    /// A new-heads subscription when the endpoint is a WebSocket.
    async fn subscribe<P: Provider>(&self, p: &P) -> Option<alloy::pubsub::Subscription<alloy::rpc::types::Header>> {
        if !self.cfg.rpc.starts_with("ws") {
            log::emit("subscription", json!({"state": "polling"}), "polling the head (HTTP endpoint)");
            return None;
        }
        match p.subscribe_blocks().await {
            Ok(s) => {
                log::emit("subscription", json!({"state": "subscribed"}), "subscribed to new heads (eth_subscribe)");
                Some(s)
            }
            Err(e) => {
                log::emit(
                    "subscription",
                    json!({"state": "refused", "error": e.to_string()}),
                    &format!("eth_subscribe refused ({e}): polling the head"),
                );
                None
            }
        }
    }

    /// Answers the oldest request for chain state: reads the contract at
    /// the confirmed head and queues the signed call of the app's entry; the
    /// request leaves the state in the same write that queues the answer
    /// (exactly once). A request that cannot be answered is dropped and
    /// reported; an unreachable node leaves it for the next round.
    async fn answer<P: Provider>(&mut self, p: &P) -> Result<()> {
        use alloy::network::TransactionBuilder;
        let Some(q) = self.state.requests.front().cloned() else { return Ok(()) };
        use crate::requests::{answer_input, fits, head_slots, Refusal};
        let outcome = match self.views.iter().find(|f| f.name == q.function) {
            None => Err(Refusal::NoFunction(q.function.clone())),
            Some(_) if !self.entry_exists(&q.entry) => Err(Refusal::NoEntry(q.entry.clone())),
            Some(f) => match f.call_data(&q.args) {
                Err(e) => Err(e),
                Ok(data) => {
                    let block = p.get_block_number().await?.saturating_sub(self.cfg.confirmations);
                    let call =
                        alloy::rpc::types::TransactionRequest::default().with_to(self.cfg.contract).with_input(data);
                    match p.call(call).block(block.into()).await {
                        Ok(ret) => f.results(&ret).and_then(|v| {
                            let input = answer_input(&v, block)?;
                            fits(&self.app, &q.entry, input.len(), self.cfg.max_command_bytes)?;
                            Ok((input, head_slots(&v), block))
                        }),
                        Err(e) if e.to_string().contains("revert") => Err(Refusal::Reverted(e.to_string())),
                        Err(e) => {
                            log::emit(
                                "request",
                                json!({"request": q.id, "outcome": "retry", "error": e.to_string()}),
                                &format!("request {}: eth_call: {e} (trying again)", q.id),
                            );
                            return Ok(());
                        }
                    }
                }
            },
        };
        self.state.requests.pop_front();
        // Logged once persisted: a logged answer is queued for good.
        let (msg, fields) = match outcome {
            Ok((input, head, block)) => {
                let input_bytes = input.len();
                let slots: Vec<u64> =
                    input.chunks_exact(8).take(head).map(|c| u64::from_le_bytes(c.try_into().unwrap())).collect();
                let msg = format!(
                    "request {}: {}() at block {block}: {} queued (slots {slots:?}, then {} bytes)",
                    q.id,
                    q.function,
                    q.entry,
                    input.len() - 8 * head
                );
                let d = self.state.devices.entry(q.device.clone()).or_default();
                d.queue.push_back(Cmd {
                    id: format!("{}?", q.id),
                    op: Op::Invoke { entry: q.entry.clone(), input: hex::encode(input) },
                    deadline: Some(unix_ms() / 1000 + self.cfg.deadline_secs),
                    sequence: None,
                    signed: None,
                    queued_ms: unix_ms(),
                });
                self.state.answered += 1;
                (msg, json!({"outcome": "queued", "block": block, "input_bytes": input_bytes}))
            }
            Err(e) => {
                let msg = format!("request {}: {}() for {}: dropped: {e}", q.id, q.function, q.entry);
                self.state.dropped.push(msg.clone());
                (msg, json!({"outcome": "dropped", "refusal": format!("{e:?}")}))
            }
        };
        self.store.save(&self.state)?;
        let mut fields = fields;
        fields["request"] = q.id.clone().into();
        fields["function"] = q.function.clone().into();
        fields["entry"] = q.entry.clone().into();
        log::emit("request", fields, &msg);
        Ok(())
    }

    fn entry_exists(&self, entry: &str) -> bool {
        self.entries.as_ref().is_ok_and(|names| names.iter().any(|n| n == entry))
    }

    /// Records verified reports (persisted before the device is told).
    fn take_reports(&mut self, rx: &std::sync::mpsc::Receiver<crate::reports::Incoming>) -> Result<()> {
        let mut acks = Vec::new();
        while let Ok(r) = rx.try_recv() {
            let d = self.state.devices.entry(r.device.clone()).or_default();
            if r.sequence <= d.report_sequence {
                acks.push(r.done);
                continue;
            }
            d.report_sequence = r.sequence;
            if let Some(q) = alkyl_protocol::report::Request::parse(&r.payload) {
                let id = format!("{}#{}", r.device, r.sequence);
                if r.app != self.app {
                    let refusal =
                        crate::requests::Refusal::OtherApp { app: r.app.clone(), contract_app: self.app.clone() };
                    let msg = format!("request {id}: dropped: {refusal}");
                    log::emit(
                        "request",
                        json!({"request": id, "outcome": "dropped", "refusal": format!("{refusal:?}")}),
                        &msg,
                    );
                    self.state.dropped.push(msg);
                } else {
                    log::emit(
                        "request",
                        json!({"request": id, "outcome": "received", "function": q.function, "entry": q.entry}),
                        &format!("request {id}: {}() for {}", q.function, q.entry),
                    );
                    self.state.requests.push_back(crate::state::ChainRequest {
                        id,
                        device: r.device.clone(),
                        function: q.function.into(),
                        entry: q.entry.into(),
                        args: q
                            .args
                            .chunks_exact(8)
                            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                            .collect(),
                    });
                }
            } else {
                log::emit(
                    "report",
                    json!({"report": format!("{}#{}", r.device, r.sequence), "outcome": "received",
                           "device": r.device, "device_id": r.device_id.to_string(), "bytes": r.payload.len()}),
                    &format!("report {}#{} from {}: {} bytes", r.device, r.sequence, r.device_id, r.payload.len()),
                );
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
    /// transaction (the chain takes it once); done when a receipt exists. A
    /// transaction not mined `bump_blocks` after it was sent is replaced:
    /// the same nonce, fees raised by 25 % at least (EIP-1559 replacement),
    /// the new bytes persisted before they leave, the hashes it replaced
    /// kept (any of them may be the one mined).
    async fn relay<P: Provider>(
        &mut self,
        p: &P,
        wallet: &alloy::network::EthereumWallet,
        from: Address,
        chain_id: u64,
    ) -> Result<()> {
        let Some(tx) = self.state.txs.front().cloned() else { return Ok(()) };
        let Some(raw) = tx.raw.clone() else {
            let nonce = match self.state.next_nonce {
                Some(n) => n,
                None => p.get_transaction_count(from).pending().await?,
            };
            let gas_price = p.get_gas_price().await?;
            let head = p.get_block_number().await?;
            let (max_fee, priority) = (gas_price * 2 + 1_000_000_000, 1_000_000_000);
            let (raw, hash) = self.sign_report(&tx, nonce, max_fee, priority, wallet, chain_id).await?;
            let front = self.state.txs.front_mut().unwrap();
            front.nonce = Some(nonce);
            front.raw = Some(hex::encode(&raw));
            front.hash = Some(hash.to_string());
            (front.max_fee, front.priority_fee, front.sent_block) = (max_fee, priority, Some(head));
            self.state.next_nonce = Some(nonce + 1);
            self.store.save(&self.state)?;
            return self.send_raw(p, &tx.id, &raw).await;
        };
        for h in tx.hash.iter().chain(&tx.replaced) {
            let hash: B256 = h.parse()?;
            if let Some(receipt) = p.get_transaction_receipt(hash).await? {
                let ok = receipt.status();
                let block = receipt.block_number.unwrap_or(0);
                let status = if ok { "ok" } else { "reverted" };
                log::emit(
                    "report",
                    json!({"report": tx.id, "outcome": "relayed", "tx": hash.to_string(), "block": block, "status": status}),
                    &format!("{} {} relayed: tx {hash} block {block} {status}", what(&tx), tx.id),
                );
                self.state.txs.pop_front();
                self.state.relayed += 1;
                self.store.save(&self.state)?;
                return Ok(());
            }
        }
        let head = p.get_block_number().await?;
        match tx.sent_block {
            Some(sent) if head >= sent + self.cfg.bump_blocks.max(1) => {
                let base = p
                    .get_block_by_number(BlockNumberOrTag::Latest)
                    .await?
                    .and_then(|b| b.header.base_fee_per_gas)
                    .unwrap_or(0) as u128;
                let priority = tx.priority_fee * 5 / 4 + 1;
                let max_fee = (tx.max_fee * 5 / 4 + 1).max(base * 2 + priority);
                let nonce = tx.nonce.ok_or("a signed transaction without a nonce")?;
                let (raw, hash) = self.sign_report(&tx, nonce, max_fee, priority, wallet, chain_id).await?;
                let front = self.state.txs.front_mut().unwrap();
                front.replaced.extend(front.hash.take());
                front.raw = Some(hex::encode(&raw));
                front.hash = Some(hash.to_string());
                (front.max_fee, front.priority_fee, front.sent_block) = (max_fee, priority, Some(head));
                self.state.bumps += 1;
                self.store.save(&self.state)?;
                log::emit(
                    "report",
                    json!({"report": tx.id, "outcome": "bumped", "replaced": tx.hash, "tx": hash.to_string(),
                           "nonce": nonce, "max_fee_from": tx.max_fee.to_string(), "max_fee_to": max_fee.to_string()}),
                    &format!(
                        "{} {}: not mined {} blocks after it was sent: replaced tx {} by {hash} (nonce {nonce}, max fee {} -> {} wei)",
                        what(&tx),
                        tx.id,
                        head - sent,
                        tx.hash.as_deref().unwrap_or("?"),
                        tx.max_fee,
                        max_fee
                    ),
                );
                self.send_raw(p, &tx.id, &raw).await
            }
            sent => {
                if sent.is_none() {
                    // Signed by a gateway without fee bumping: count from now.
                    self.state.txs.front_mut().unwrap().sent_block = Some(head);
                    self.store.save(&self.state)?;
                }
                // Not mined (yet): (re)send the same bytes; "already known" is fine.
                self.send_raw(p, &tx.id, &hex::decode(raw)?).await
            }
        }
    }

    async fn send_raw<P: Provider>(&mut self, p: &P, id: &str, raw: &[u8]) -> Result<()> {
        let Err(e) = p.send_raw_transaction(raw).await else {
            self.send_error = None;
            return Ok(());
        };
        let m = e.to_string();
        if m.contains("nonce too low") {
            // The nonce is used: by one of ours (mined since the receipts
            // were read: the next round sees it), or by someone else.
            let tx = self.state.txs.front().cloned().unwrap_or_default();
            for h in tx.hash.iter().chain(&tx.replaced) {
                if p.get_transaction_receipt(h.parse()?).await?.is_some() {
                    return Ok(());
                }
            }
            // Someone else's: sign again with a fresh nonce.
            let front = self.state.txs.front_mut().unwrap();
            front.raw = None;
            front.hash = None;
            front.replaced.clear();
            front.sent_block = None;
            self.state.next_nonce = None;
            self.store.save(&self.state)?;
        } else if !m.contains("already") && self.send_error.as_deref() != Some(m.as_str()) {
            log::emit(
                "report",
                json!({"report": id, "outcome": "send_error", "error": m}),
                &format!("report {id}: sending: {m}"),
            );
            self.send_error = Some(m);
        }
        Ok(())
    }

    /// The signed `report(...)` call of `tx` and its hash.
    async fn sign_report(
        &self,
        tx: &crate::state::Tx,
        nonce: u64,
        max_fee: u128,
        priority: u128,
        wallet: &alloy::network::EthereumWallet,
        chain_id: u64,
    ) -> Result<(Vec<u8>, B256)> {
        use alloy::eips::eip2718::Encodable2718;
        use alloy::network::{NetworkTransactionBuilder, TransactionBuilder};
        use alloy::sol_types::SolCall;
        let data = match &tx.data {
            Some(data) => hex::decode(data)?,
            None => {
                let mut id = [0u8; 8];
                id.copy_from_slice(&hex::decode(&tx.device_id)?);
                crate::reportCall {
                    device: id.into(),
                    sequence: tx.sequence,
                    payload: hex::decode(&tx.payload)?.into(),
                }
                .abi_encode()
            }
        };
        let req = alloy::rpc::types::TransactionRequest::default()
            .with_to(self.cfg.contract)
            .with_input(data)
            .with_nonce(nonce)
            .with_chain_id(chain_id)
            .with_gas_limit(300_000)
            .with_max_fee_per_gas(max_fee)
            .with_max_priority_fee_per_gas(priority);
        let env = NetworkTransactionBuilder::<alloy::network::Ethereum>::build(req, wallet)
            .await
            .map_err(|e| format!("signing: {e}"))?;
        Ok((env.encoded_2718(), *env.tx_hash()))
    }

    async fn block_hash<P: Provider>(p: &P, n: u64) -> Result<(B256, u64)> {
        let b = p.get_block_by_number(BlockNumberOrTag::Number(n)).await?.ok_or_else(|| format!("no block {n}"))?;
        Ok((b.header.hash, b.header.timestamp))
    }

    /// One step of following: reorg check, then at most one chunk of
    /// confirmed blocks. Returns whether the cursor reached the confirmed
    /// head (else more blocks wait: backfill).
    async fn follow<P: Provider>(&mut self, p: &P, chain_id: u64) -> Result<bool> {
        // Reorgs: the newest block the gateway stored a hash of (the
        // cursor's, or one whose events it handled) must still be on the
        // chain; a replaced block is forgotten and the next older one
        // checked, down to one that holds.
        let mut rewound = None;
        while let Some((&n, stored)) = self.state.hashes.iter().next_back() {
            let stored = stored.clone();
            let block = p.get_block_by_number(BlockNumberOrTag::Number(n)).await?;
            let now = block.map(|b| b.header.hash.to_string());
            if now.as_deref() == Some(stored.as_str()) {
                break;
            }
            self.state.hashes.remove(&n);
            self.state.reorgs += 1;
            rewound = Some(n);
            self.undo_block(n);
        }
        if let Some(n) = rewound {
            let back = self.state.hashes.keys().next_back().copied().unwrap_or(self.cfg.start_block.saturating_sub(1));
            self.state.cursor = self.state.cursor.min(back);
            log::emit(
                "reorg",
                json!({"block": n, "cursor": self.state.cursor}),
                &format!("reorg at block {n}: rewound the cursor to {}", self.state.cursor),
            );
            self.store.save(&self.state)?;
        }
        let head = p.get_block_number().await?;
        let safe = head.saturating_sub(self.cfg.min_depth());
        if safe <= self.state.cursor {
            return Ok(true);
        }
        let from = self.state.cursor + 1;
        let to = safe.min(from + self.cfg.chunk - 1);
        let filter = Filter::new().address(self.cfg.contract).from_block(from).to_block(to);
        let mut logs = p.get_logs(&filter).await?;
        logs.sort_by_key(|l| (l.block_number, l.log_index));
        let mut stamps: BTreeMap<u64, (B256, u64)> = BTreeMap::new();
        // The cursor stops before an event not yet as deep as its kind asks.
        let mut hold = to;
        for l in &logs {
            let n = l.block_number.unwrap_or(0);
            if let std::collections::btree_map::Entry::Vacant(e) = stamps.entry(n) {
                e.insert(Self::block_hash(p, n).await?);
            }
            if l.block_hash != Some(stamps[&n].0) {
                // The chain moved under us: this chunk again, next step.
                return Ok(false);
            }
            if n + self.event_depth(l) > head {
                hold = hold.min(n - 1);
                continue;
            }
            if self.handle(chain_id, l, stamps[&n].1) {
                self.state.hashes.insert(n, stamps[&n].0.to_string());
            }
        }
        if hold > self.state.cursor {
            let (h, _) = Self::block_hash(p, hold).await?;
            self.state.cursor = hold;
            self.state.hashes.insert(hold, h.to_string());
        }
        while self.state.hashes.len() > KEEP_HASHES {
            let first = *self.state.hashes.keys().next().unwrap_or(&0);
            self.state.hashes.remove(&first);
        }
        self.store.save(&self.state)?;
        Ok(to == safe)
    }

    /// The confirmation depth of a log's event kind.
    fn event_depth(&self, l: &Log) -> u64 {
        let name = l.topics().first().and_then(|t0| self.events.iter().find(|e| e.topic0 == *t0));
        name.map_or(self.cfg.confirmations, |e| self.cfg.depth(&e.name))
    }

    /// Block `n` was replaced: its events are forgotten (handled again if
    /// they reappear); their pending commands are dropped and delivered ones
    /// compensated (docs/aryl.md).
    fn undo_block(&mut self, n: u64) {
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
            // Its transactions not yet signed are dropped (a sent one cannot be undone).
            let prefix = format!("{k}#tx");
            let before = self.state.txs.len();
            self.state.txs.retain(|t| !(t.id.starts_with(&prefix) && t.raw.is_none()));
            let dropped = before - self.state.txs.len();
            let also = if dropped > 0 { format!(", {dropped} unsent transactions dropped") } else { String::new() };
            log::emit(
                "reorg",
                json!({"block": n, "event": h.event, "key": k, "compensated": compensated, "transactions_dropped": dropped}),
                &format!(
                    "reorg: block {n} replaced; event {} {k} undone, {compensated} delivered calls compensated{also}",
                    h.event
                ),
            );
        }
    }

    /// Runs the script's handler for one log (once: the journal). Returns
    /// whether the log has a journal entry (its block's hash is kept).
    fn handle(&mut self, chain_id: u64, l: &Log, timestamp: u64) -> bool {
        if l.address() != self.cfg.contract {
            return false; // another contract's event: never ours
        }
        let tx = l.transaction_hash.unwrap_or_default();
        let key = format!("{chain_id}:{tx}:{}", l.log_index.unwrap_or(0));
        if self.state.journal.contains_key(&key) {
            return true;
        }
        let topics = l.topics();
        let Some(ev) = topics.first().and_then(|t0| self.events.iter().find(|e| e.topic0 == *t0)) else {
            return false;
        };
        let block = l.block_number.unwrap_or(0);
        let name = ev.name.clone();
        let Asked { calls, txs } = match self.run_handler(chain_id, ev, topics, &l.data().data, timestamp) {
            Ok(Some(asked)) => asked,
            Ok(None) => return false, // the script has no handler for it
            Err(e) => {
                log::emit(
                    "event",
                    json!({"event": name, "key": key, "block": block, "outcome": "refused", "error": e.to_string()}),
                    &format!("event {name} {key}: refused: {e}"),
                );
                self.state.refused += 1;
                self.state.journal.insert(key, Handled { block, event: name, commands: 0, calls: Vec::new() });
                return true;
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
        let m = txs.len();
        for (i, (function, data)) in txs.into_iter().enumerate() {
            self.state.txs.push_back(crate::state::Tx {
                id: format!("{key}#tx{i} {function}"),
                data: Some(hex::encode(data)),
                ..Default::default()
            });
        }
        let also = if m > 0 { format!(", {m} transactions") } else { String::new() };
        log::emit(
            "event",
            json!({"event": name, "key": key, "block": block, "outcome": "queued", "calls": n, "transactions": m}),
            &format!("event {name} {key} (block {block}): {n} device calls{also} queued"),
        );
        self.state.journal.insert(key, Handled { block, event: name, commands: n, calls: done });
        true
    }

    fn run_handler(
        &self,
        chain_id: u64,
        ev: &EventDef,
        topics: &[B256],
        data: &[u8],
        timestamp: u64,
    ) -> Result<Option<Asked>> {
        let script = self.script.as_ref().map_err(|e| e.clone())?;
        if !script.has(&ev.name) {
            return Ok(None);
        }
        let entries = self.entries.as_ref().map_err(|e| e.clone())?;
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
        let mut host = Host::new(&self.hpke, &self.transactable);
        host.aad = pin::aad(chain_id, &self.cfg.contract.0 .0, &topic_words, &static_words);
        host.blobs = blobs;
        host.timestamp = timestamp;
        host.devices = self.cfg.devices.keys().cloned().collect();
        host.entries = entries;
        script.run(&ev.name, &args, &mut host)?;
        Ok(Some(Asked { calls: host.calls, txs: host.txs }))
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
                        log::emit(
                            "device",
                            json!({"device": name, "op": describe(&c.op), "outcome": "dropped", "deadline": t}),
                            &msg,
                        );
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
                    let latency = now.saturating_sub(c.queued_ms);
                    log::emit(
                        "device",
                        json!({"device": name, "op": describe(&c.op), "outcome": "acknowledged", "command": c.id,
                               "sequence": c.sequence, "latency_ms": latency}),
                        &format!(
                            "{name}: {} acknowledged (at {now} ms, {latency} ms after it was queued)",
                            describe(&c.op)
                        ),
                    );
                }
                Err((fatal, e)) if fatal => {
                    let msg = format!("{name}: {} refused: {e}", describe(&c.op));
                    log::emit(
                        "device",
                        json!({"device": name, "op": describe(&c.op), "outcome": "refused", "error": e}),
                        &msg,
                    );
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

/// What a queued transaction relays: a device's report or a script's call.
fn what(tx: &crate::state::Tx) -> &'static str {
    if tx.data.is_some() {
        "transaction"
    } else {
        "report"
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eth_key_from_a_keystore_or_hex() {
        let dir = std::env::temp_dir().join(format!("aryl-keystore-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let secret = [7u8; 32];
        let (made, _) = alloy::signers::local::PrivateKeySigner::encrypt_keystore(
            &dir,
            &mut rand08::rngs::OsRng,
            secret,
            "pw",
            Some("key.json"),
        )
        .unwrap();
        std::fs::write(dir.join("pw"), "pw\n").unwrap();
        std::fs::write(dir.join("bad"), "nope\n").unwrap();
        std::fs::write(dir.join("key.hex"), hex::encode(secret)).unwrap();
        let json = std::fs::read_to_string(dir.join("key.json")).unwrap();
        assert!(json.contains("\"crypto\"") && !json.contains(&hex::encode(secret)));
        let opened = eth_signer(&dir.join("key.json"), Some(&dir.join("pw"))).unwrap();
        assert_eq!(opened.address(), made.address());
        assert!(eth_signer(&dir.join("key.json"), Some(&dir.join("bad"))).is_err());
        assert_eq!(eth_signer(&dir.join("key.hex"), None).unwrap().address(), made.address());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn depth_per_event_kind() {
        let mut c: Config = toml::from_str(
            "rpc = \"http://x\"\ncontract = \"0x0000000000000000000000000000000000000001\"\nartifact = \"a\"\n\
             confirmations = 3\nstate_dir = \"s\"\ndevice_key = \"k\"\nhpke_key = \"h\"\n[devices]\n\
             [event_confirmations]\nPaymentEvent = 6\n",
        )
        .unwrap();
        assert_eq!((c.depth("PaymentEvent"), c.depth("LockOutEvent"), c.min_depth()), (6, 3, 3));
        c.event_confirmations.insert("LockOutEvent".into(), 0);
        assert_eq!(c.min_depth(), 0);
        assert_eq!(c.bump_blocks, 3);
    }
}
