//! The device commands: `keygen`, `upload`, `ls`, `rm`, `invoke`,
//! `sensors`, `triggers`, `result`, `time`, `reports` — a CoAP client of the API in
//! `docs/coap-api.md` (envelopes and the client are `alkyl_protocol`'s).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use alkyl_protocol::client::{Client, CoapOption, Reply, RequestType};
use alkyl_protocol::command::CommandRepr;
use alkyl_protocol::envelope::{EnvelopeRepr, Operation, PayloadKind, TriggerRepr};
use alkyl_protocol::{AppName, Block, KeyId};
use alkyl_vm::container::ContainerRepr;
use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use ed25519_dalek::{Signer, SigningKey};

use crate::program::{load_as, load_script, Loaded};

/// Where the device is.
#[derive(Args, Clone)]
pub struct DeviceArgs {
    /// The device: coap://HOST[:PORT]; IPv6 in brackets, with a zone for
    /// link-local addresses: coap://[fe80::1%25tap0] (or %tap0).
    #[arg(long, default_value = "coap://127.0.0.1:5683")]
    pub device: String,
    /// Initial retransmission timeout in milliseconds (doubles on each of 4
    /// retries: 31 s in all by default; an ICMP error, such as nothing
    /// listening on the port, ends the wait at once).
    #[arg(long, default_value_t = 1000)]
    pub timeout_ms: u64,
}

impl DeviceArgs {
    fn client(&self) -> Result<Client> {
        Ok(Client::new(&self.device, Duration::from_millis(self.timeout_ms))?)
    }
}

/// How a change is authenticated.
#[derive(Args, Clone)]
#[group(required = true, multiple = false)]
pub struct SignArgs {
    /// Secret key file from `alkyl keygen` (NAME.key).
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// Send it unsigned (accepted only by a node started with --allow-unsigned).
    #[arg(long)]
    pub unsigned: bool,
}

#[derive(Args)]
pub struct UploadArgs {
    /// App name (a-z, 0-9, `_`, `-`; at most 32 bytes).
    pub name: String,
    /// A clang -target bpf object (.o, packed here), a container (.rbf), or
    /// eBPF assembler (.s) / raw bytecode (wrapped in a container).
    pub file: PathBuf,
    #[command(flatten)]
    pub sign: SignArgs,
    /// App version; must exceed what the device has seen for this name
    /// [default: the device's current sequence + 1].
    #[arg(long)]
    pub version: Option<u32>,
    /// Trigger: timer:PERIOD_MS[@ENTRY] or rising|falling|delta:SENSOR:VALUE:PERIOD_MS[@ENTRY]; repeatable.
    #[arg(long = "trigger")]
    pub triggers: Vec<TriggerRepr>,
    /// Declare this calling convention in the container (see `alkyl pack`).
    #[arg(long, value_enum)]
    pub convention: Option<crate::program::ConventionArg>,
    /// An entry anyone may run without a signature (repeatable): an entry
    /// name, `*` for every entry, `-` for the first instruction (the default
    /// entry). Every other entry needs `alkyl invoke --key`. The declaration
    /// is signed with the app and holds for this version only.
    #[arg(long = "open")]
    pub open: Vec<String>,
    /// Send the container uncompressed.
    #[arg(long)]
    pub no_compress: bool,
    /// Block1 block size in bytes (16..1024, a power of two).
    #[arg(long, default_value_t = 256)]
    pub block_size: usize,
    /// Write the signed envelope to this file instead of uploading it (for
    /// any CoAP client: `coap-client-notls -m put -f FILE coap://.../apps/NAME`);
    /// needs --version.
    #[arg(long, requires = "version")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub device: DeviceArgs,
}

/// Reads a secret key file.
fn signing_key(path: &Path) -> Result<SigningKey> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    // Both files of `alkyl keygen` hold 64 hex digits: tell them apart by
    // the name, or by the secret key's file mode (0600).
    if path.extension().is_some_and(|e| e == "pub") {
        bail!(
            "{} is a public key (NAME.pub, for a device's --trusted-key); --key takes the secret key, NAME.key",
            path.display()
        );
    }
    let seed: [u8; 32] = hex::decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .with_context(|| format!("{}: expected 64 hex digits (a key from `alkyl keygen`)", path.display()))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Emits `repr` (unsigned), signed with the key in `sign` (or unsigned).
fn seal(repr: EnvelopeRepr, sign: &SignArgs) -> Result<Vec<u8>> {
    let bytes = match &sign.key {
        Some(path) => {
            let key = signing_key(path)?;
            repr.to_signed_bytes(&key.verifying_key().to_bytes(), |m| key.sign(m).to_bytes())
        }
        None => repr.to_bytes(),
    };
    Ok(bytes?)
}

/// `alkyl keygen --out NAME`: writes NAME.key (secret seed, mode 0600) and NAME.pub.
pub fn keygen(out: &Path, json: bool) -> Result<()> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow!("no randomness: {e}"))?;
    let key = SigningKey::from_bytes(&seed);
    let public = key.verifying_key().to_bytes();
    let secret_path = out.with_extension("key");
    let public_path = out.with_extension("pub");
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&secret_path)
            .with_context(|| format!("creating {} (it must not exist yet)", secret_path.display()))?;
        writeln!(f, "{}", hex::encode(seed))?;
    }
    std::fs::write(&public_path, format!("{}\n", hex::encode(public)))
        .with_context(|| format!("writing {}", public_path.display()))?;
    if json {
        let doc = serde_json::json!({
            "secret": secret_path.display().to_string(),
            "public": public_path.display().to_string(),
            "key_id": KeyId::of(&public).to_string(),
        });
        println!("{doc}");
    } else {
        println!("wrote {} and {} (key id {})", secret_path.display(), public_path.display(), KeyId::of(&public));
    }
    Ok(())
}

/// The number the device requires a change to `name` to exceed.
fn current_sequence(client: &mut Client, name: &str) -> Result<u32> {
    let reply = client.get(&format!("apps/{name}"))?;
    if reply.ok() {
        let doc: serde_json::Value = serde_json::from_slice(&reply.packet.payload).context("app metadata")?;
        return doc["sequence"].as_u64().and_then(|s| u32::try_from(s).ok()).context("no sequence in metadata");
    }
    // 4.04 "no such app (sequence N)"
    let text = reply.text();
    text.rsplit_once("(sequence ")
        .and_then(|(_, n)| n.trim_end_matches(')').parse().ok())
        .ok_or_else(|| anyhow!("{} {text}", reply.code_text()))
}

/// What to upload for `file`: Alkyl IR modules (`.air` text or binary) go
/// as IR, which the device translates and verifies itself; everything else
/// as a container.
fn payload_of(file: &Path, convention: Option<crate::program::ConventionArg>) -> Result<(PayloadKind, Vec<u8>)> {
    if crate::ir::is_ir(file)? && convention.is_none() {
        let module = crate::ir::load(file)?;
        // The device's own checks, before anything is sent.
        crate::ir::compile(&module).with_context(|| file.display().to_string())?;
        return Ok((PayloadKind::AlkylIr, module));
    }
    Ok((PayloadKind::Container, container_of(file, convention)?))
}

/// The container to upload for `file`.
fn container_of(file: &Path, convention: Option<crate::program::ConventionArg>) -> Result<Vec<u8>> {
    let bytes = match load_as(file, convention.map(Into::into))? {
        Loaded::Container(bytes) => bytes,
        Loaded::Code(text) => {
            let repr = ContainerRepr { text: &text, ..ContainerRepr::default() };
            let mut bytes = vec![0; repr.buffer_len()];
            repr.emit(&mut bytes)?;
            bytes
        }
    };
    // The device's own checks, before anything is sent.
    load_script(&bytes)?;
    Ok(bytes)
}

/// Sends a signed envelope block-wise with a progress bar.
fn send_envelope(client: &mut Client, method: RequestType, path: &str, envelope: &[u8], szx: u8) -> Result<Reply> {
    // Drawn (on a terminal) once the transfer has taken a second: a quick
    // upload prints nothing but its result.
    let bar =
        indicatif::ProgressBar::with_draw_target(Some(envelope.len() as u64), indicatif::ProgressDrawTarget::hidden());
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(path.to_string());
    let start = std::time::Instant::now();
    let mut shown = false;
    let reply = client.send_blockwise(method, path, envelope, szx, |done| {
        if !shown && start.elapsed() >= Duration::from_secs(1) {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            shown = true;
        }
        bar.set_position(done as u64)
    });
    bar.finish_and_clear();
    Ok(reply?)
}

/// `alkyl upload`.
pub fn upload(args: &UploadArgs) -> Result<()> {
    let name = AppName::new(args.name.as_bytes()).map_err(|e| anyhow!("app {e}"))?;
    let szx = Block::szx_of_size(args.block_size).context("--block-size must be a power of two in 16..=1024")?;
    let (kind, container) = payload_of(&args.file, args.convention)?;
    let version = match args.version {
        Some(v) => v,
        None => {
            let mut client = args.device.client()?;
            current_sequence(&mut client, name.as_str())?.checked_add(1).context("sequence exhausted")?
        }
    };
    u32::try_from(container.len()).context("container too large")?;
    let mut repr = EnvelopeRepr::install(name.clone(), version, kind, container.clone());
    repr.triggers = args.triggers.clone();
    if !args.open.is_empty() {
        let open = args.open.iter().map(|e| if e == "-" { String::new() } else { e.clone() });
        repr.open = Some(open.collect());
    }
    if !args.no_compress {
        // Compressed only when it is smaller.
        let z = repr.clone().compress()?;
        if z.payload.len() < repr.payload.len() {
            repr = z;
        }
    }
    let is_compressed = repr.compressed;
    let envelope = seal(repr, &args.sign)?;
    if let Some(out) = &args.out {
        return write_out(out, &envelope, &format!("{name} version {version}"));
    }
    let mut client = args.device.client()?;
    let reply = send_envelope(&mut client, RequestType::Put, &format!("apps/{name}"), &envelope, szx)?.success()?;
    let what = if kind == PayloadKind::AlkylIr { "Alkyl IR module" } else { "container" };
    println!(
        "{} {} ({} bytes sent for a {}-byte {what}{})",
        reply.code_text(),
        reply.text(),
        envelope.len(),
        container.len(),
        if is_compressed { ", heatshrink-compressed" } else { "" }
    );
    Ok(())
}

/// A signed command to one app on a device (`rm`, `triggers`).
#[derive(Args)]
pub struct SignedCommand {
    pub name: String,
    #[command(flatten)]
    pub sign: SignArgs,
    /// Sequence number of the command [default: the device's + 1].
    #[arg(long)]
    pub version: Option<u32>,
    /// Write the signed envelope to this file instead of sending it (for
    /// any CoAP client: `coap-client-notls -m delete|put -f FILE
    /// .../apps/NAME[/triggers]`); needs --version.
    #[arg(long, requires = "version")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub device: DeviceArgs,
}

/// `alkyl rm`.
pub fn rm(command: &SignedCommand) -> Result<()> {
    send_command(Operation::Delete, Vec::new(), command)
}

/// `alkyl triggers`.
pub fn triggers(triggers: Vec<TriggerRepr>, command: &SignedCommand) -> Result<()> {
    send_command(Operation::SetTriggers, triggers, command)
}

fn send_command(operation: Operation, triggers: Vec<TriggerRepr>, command: &SignedCommand) -> Result<()> {
    let SignedCommand { name, sign, version, out, device } = command;
    let name = AppName::new(name.as_bytes()).map_err(|e| anyhow!("app {e}"))?;
    let version = match *version {
        Some(v) => v,
        None => {
            let mut client = device.client()?;
            current_sequence(&mut client, name.as_str())?.checked_add(1).context("sequence exhausted")?
        }
    };
    let repr = EnvelopeRepr::command(operation, name.clone(), version, triggers);
    let envelope = seal(repr, sign)?;
    if let Some(out) = out {
        return write_out(out, &envelope, &format!("{name} sequence {version}"));
    }
    let mut client = device.client()?;
    let (method, path) = match operation {
        Operation::Delete => (RequestType::Delete, format!("apps/{name}")),
        _ => (RequestType::Put, format!("apps/{name}/triggers")),
    };
    let reply = client.send_blockwise(method, &path, &envelope, 6, |_| {})?.success()?;
    println!("{} {}", reply.code_text(), reply.text());
    Ok(())
}

/// Writes an envelope or command for another CoAP client.
fn write_out(out: &Path, bytes: &[u8], what: &str) -> Result<()> {
    std::fs::write(out, bytes).with_context(|| format!("writing {}", out.display()))?;
    println!("wrote {} ({} bytes: {what})", out.display(), bytes.len());
    Ok(())
}

/// How a signed command (`invoke --key`, `time set`) is made.
#[derive(Args, Clone)]
pub struct CommandArgs {
    /// Secret key file from `alkyl keygen` (NAME.key): sign the call, so it
    /// may run protected entries (`POST /invoke`).
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// Sequence number [default: the last the device accepted from this
    /// key + 1, read from GET /auth].
    #[arg(long)]
    pub sequence: Option<u64>,
    #[command(flatten)]
    pub expiry: Expiry,
    /// Address the call to the device with this key id (16 hex digits)
    /// [default: the device's, from GET /auth; with --out: any device].
    #[arg(long)]
    pub device_id: Option<String>,
    /// Write the signed command to this file instead of sending it (for any
    /// CoAP client: `coap-client-notls -m post -f FILE coap://.../invoke`);
    /// needs --sequence.
    #[arg(long, requires = "sequence")]
    pub out: Option<PathBuf>,
}

/// When a signed command expires: at a Unix time or after a time to live.
#[derive(Args, Clone)]
pub struct Expiry {
    /// The device refuses the call after this Unix time (seconds).
    #[arg(long, conflicts_with = "ttl")]
    pub expires: Option<u64>,
    /// The device refuses the call after this many seconds from now (this
    /// host's clock).
    #[arg(long)]
    pub ttl: Option<u64>,
}

impl Expiry {
    /// The expiry in Unix seconds (`None`: the command does not expire).
    fn unix_secs(&self) -> Result<Option<u64>> {
        Ok(match (self.expires, self.ttl) {
            (Some(e), _) => Some(e),
            (None, Some(ttl)) => Some(unix_now()?.as_secs() + ttl),
            (None, None) => None,
        })
    }
}

/// What `GET /auth` says about `key` and the device.
fn auth_state(client: &mut Client, key: KeyId) -> Result<(u64, Option<KeyId>)> {
    let reply = client.get("auth")?.success()?;
    let doc: serde_json::Value = serde_json::from_slice(&reply.packet.payload).context("GET /auth")?;
    let last = doc["sequences"][key.to_string()].as_u64().unwrap_or(0);
    let device = doc["device_id"].as_str().map(parse_key_id).transpose()?;
    Ok((last, device))
}

fn parse_key_id(text: &str) -> Result<KeyId> {
    let bytes: [u8; 8] = hex::decode(text)
        .ok()
        .and_then(|b| b.try_into().ok())
        .with_context(|| format!("{text}: a key id is 16 hex digits"))?;
    Ok(KeyId(bytes))
}

fn unix_now() -> Result<Duration> {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).context("the system clock is before 1970")
}

/// Signs `repr` with `args`' key, filling in the sequence, expiry and
/// device; writes it to `--out` (returning `None`) or returns it with a
/// client for sending.
fn seal_command(mut repr: CommandRepr, args: &CommandArgs, device: &DeviceArgs) -> Result<Option<(Vec<u8>, Client)>> {
    let path = args.key.as_ref().context("a signed command needs --key")?;
    let key = signing_key(path)?;
    let public = key.verifying_key().to_bytes();
    repr.expires = args.expiry.unix_secs()?;
    repr.device_id = args.device_id.as_deref().map(parse_key_id).transpose()?;
    let mut client = None;
    repr.sequence = match args.sequence {
        Some(s) => s,
        None => {
            let mut c = device.client()?;
            let (last, device_id) = auth_state(&mut c, KeyId::of(&public))?;
            repr.device_id = repr.device_id.or(device_id);
            client = Some(c);
            last.checked_add(1).context("sequence exhausted")?
        }
    };
    let bytes = repr.to_signed_bytes(&public, |m| key.sign(m).to_bytes())?;
    if let Some(out) = &args.out {
        write_out(out, &bytes, &format!("sequence {}", repr.sequence))?;
        return Ok(None);
    }
    let client = match client {
        Some(c) => c,
        None => device.client()?,
    };
    Ok(Some((bytes, client)))
}

/// `alkyl time set`: sets the device's wall clock (signed) to this host's
/// time or `unix_ms`.
pub fn time_set(unix_ms: Option<u64>, args: &CommandArgs, device: &DeviceArgs) -> Result<()> {
    let unix_ms = match unix_ms {
        Some(t) => t,
        None => u64::try_from(unix_now()?.as_millis()).context("time out of range")?,
    };
    let Some((bytes, mut client)) = seal_command(CommandRepr::set_time(unix_ms, 0), args, device)? else {
        return Ok(());
    };
    let reply = client.request(RequestType::Post, "time", &[], &bytes)?.success()?;
    println!("{} clock set to {} (Unix ms)", reply.code_text(), reply.text());
    Ok(())
}

/// `alkyl time`: the device's wall clock (Unix ms), or why it has none.
pub fn time_get(device: &DeviceArgs) -> Result<()> {
    let reply = device.client()?.get("time")?.success()?;
    println!("{}", reply.text());
    Ok(())
}

/// `alkyl reports`: the device's pending and delivered reports.
pub fn reports(device: &DeviceArgs, json: bool) -> Result<()> {
    let Some(doc) = get_json(device, "reports", json, "report list")? else { return Ok(()) };
    let show = |title: &str, list: &serde_json::Value| {
        let list = list.as_array().map(Vec::as_slice).unwrap_or(&[]);
        println!("{title}: {}", list.len());
        for r in list {
            let body = match r["text"].as_str() {
                Some(t) => format!("{t:?}"),
                None => format!("0x{}", r["payload"].as_str().unwrap_or("")),
            };
            println!("  #{:<6} {:<16} {body}", r["sequence"].as_u64().unwrap_or(0), r["app"].as_str().unwrap_or("?"));
        }
    };
    show("pending", &doc["pending"]);
    println!("delivered: {} in all", doc["delivered"].as_u64().unwrap_or(0));
    show("last delivered", &doc["recent"]);
    Ok(())
}

/// GETs a JSON resource: with `raw`, prints it as the device sent it and
/// returns `None`; else returns it parsed (`what` names it in errors).
fn get_json(device: &DeviceArgs, path: &str, raw: bool, what: &str) -> Result<Option<serde_json::Value>> {
    let reply = device.client()?.get(path)?.success()?;
    if raw {
        println!("{}", reply.text());
        return Ok(None);
    }
    Ok(Some(serde_json::from_slice(&reply.packet.payload).context(what.to_string())?))
}

/// `alkyl ls`.
pub fn ls(device: &DeviceArgs, json: bool) -> Result<()> {
    let Some(apps) = get_json(device, "apps", json, "app list")? else { return Ok(()) };
    let apps = apps.as_array().context("app list is not a JSON array")?;
    println!("{:<32} {:>8} {:>7} {:>8}", "NAME", "VERSION", "SIZE", "RUNS");
    for a in apps {
        println!(
            "{:<32} {:>8} {:>7} {:>8}",
            a["name"].as_str().unwrap_or("?"),
            a["version"].as_u64().unwrap_or(0),
            a["size"].as_u64().unwrap_or(0),
            a["runs"].as_u64().unwrap_or(0)
        );
    }
    Ok(())
}

/// Largest run input `invoke` sends (one CoAP message of at most 1152 bytes
/// with room for the header and options).
const MAX_RUN_INPUT: usize = 1024;

/// `alkyl invoke`: prints the response payload; a refusal or trap fails.
/// With `--key` (or `--out`) the call is a signed command to `POST /invoke`
/// and may run protected entries; without, a plain `POST /apps/NAME/run`,
/// which the device runs only for open entries.
pub fn invoke(
    name: &str,
    entry: Option<&str>,
    payload: &[u8],
    json: bool,
    signed: &CommandArgs,
    device: &DeviceArgs,
) -> Result<()> {
    let path = match entry {
        Some(e) => format!("apps/{name}/run/{e}"),
        None => format!("apps/{name}/run"),
    };
    // A run's input is one message (the device refuses block-wise runs).
    if payload.len() > MAX_RUN_INPUT {
        bail!("a payload of {} bytes does not fit one CoAP message (at most {MAX_RUN_INPUT})", payload.len());
    }
    let reply = if signed.key.is_some() || signed.out.is_some() {
        AppName::new(name.as_bytes()).map_err(|e| anyhow!("app {e}"))?;
        let repr = CommandRepr::invoke(name, entry, payload.to_vec(), 0);
        let Some((bytes, mut client)) = seal_command(repr, signed, device)? else { return Ok(()) };
        client.request(RequestType::Post, "invoke", &[], &bytes)?
    } else {
        device.client()?.request(RequestType::Post, &path, &[], payload)?
    };
    if !reply.ok() {
        bail!("{} {}", reply.code_text(), reply.text());
    }
    if json {
        let payload = &reply.packet.payload;
        println!(
            "{}",
            serde_json::json!({
                "code": reply.code_text(),
                "result": reply.text(),
                "payload_hex": payload.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            })
        );
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    out.write_all(&reply.packet.payload)?;
    if !reply.packet.payload.ends_with(b"\n") {
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// How a run ended, as `GET /apps/NAME/result` says it: a trap is
/// reported as `error: …`.
fn is_trap(text: &str) -> bool {
    text.starts_with("error: ")
}

/// Prints a result: as it is (one line), or with `json` as
/// `{"result": TEXT, "trapped": BOOL}`. Returns whether it is a trap.
fn print_result(text: &str, json: bool) -> bool {
    let text = text.strip_suffix('\n').unwrap_or(text);
    if json {
        println!("{}", serde_json::json!({ "result": text, "trapped": is_trap(text) }));
    } else if is_trap(text) {
        eprintln!("{text}");
    } else {
        println!("{text}");
    }
    is_trap(text)
}

/// `alkyl result NAME [--watch N]`: the app's last result; with `--watch`,
/// observes it (RFC 7641) and prints N notifications. Returns false when
/// the (last) result is a trap.
pub fn result(name: &str, watch: usize, json: bool, device: &DeviceArgs) -> Result<bool> {
    let mut client = device.client()?;
    let path = format!("apps/{name}/result");
    if watch == 0 {
        let reply = client.get(&path)?.success()?;
        return Ok(!print_result(&reply.text(), json));
    }
    let first = client.request(RequestType::Get, &path, &[(CoapOption::Observe, vec![])], b"")?.success()?;
    if first.packet.get_first_option(CoapOption::Observe).is_none() {
        bail!("the device does not support Observe on {path}");
    }
    let mut trapped = print_result(&first.text(), json);
    for _ in 0..watch {
        let n = client.notification(Duration::from_secs(3600))?;
        if !n.ok() {
            bail!("{} {}", n.code_text(), n.text());
        }
        trapped = print_result(&n.text(), json);
    }
    Ok(!trapped)
}

/// `alkyl info NAME`: one app's metadata (`GET /apps/NAME`), as a table
/// or, with `json`, the device's JSON.
pub fn info(name: &str, json: bool, device: &DeviceArgs) -> Result<()> {
    let reply = device.client()?.get(&format!("apps/{name}"))?.success()?;
    if json {
        println!("{}", reply.text());
        return Ok(());
    }
    let doc: serde_json::Value = serde_json::from_slice(&reply.packet.payload).context("app metadata")?;
    let obj = doc.as_object().context("app metadata is not a JSON object")?;
    for (key, value) in obj {
        let shown = match value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => "-".into(),
            serde_json::Value::Array(a) if a.iter().all(|v| v.is_string()) => {
                a.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
            other => other.to_string(),
        };
        println!("{key:<12} {shown}");
    }
    Ok(())
}

/// `alkyl sensors`.
pub fn sensors(device: &DeviceArgs, json: bool) -> Result<()> {
    let Some(list) = get_json(device, "sensors", json, "sensor list")? else { return Ok(()) };
    println!("{:<3} {:<16} {:<9} {:<6} VALUE", "#", "NAME", "KIND", "CLASS");
    for s in list.as_array().context("sensor list is not a JSON array")? {
        println!(
            "{:<3} {:<16} {:<9} {:<6} {}",
            s["index"].as_u64().unwrap_or(0),
            s["name"].as_str().unwrap_or("?"),
            s["kind"].as_str().unwrap_or("?"),
            format!("{:#04x}", s["class"].as_u64().unwrap_or(0)),
            s["text"].as_str().unwrap_or("-")
        );
    }
    Ok(())
}
