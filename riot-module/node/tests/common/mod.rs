//! Shared by the integration tests: a real `alkyl-node` process on a free
//! loopback port, the real clients (`coap-client-notls`, `alkyl`), signed
//! envelopes, example apps compiled with clang, the protocol crate's CoAP
//! client, and a raw UDP socket for what well-behaved clients never send.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use alkyl_protocol::client::{self, Client, Reply};
use alkyl_protocol::envelope::{EnvelopeRepr, Operation, PayloadKind, TriggerRepr};
use alkyl_protocol::AppName;
use alkyl_testkit::clang::compile_bpf;
use alkyl_vm::container::ContainerRepr;
use coap_lite::{CoapOption, Packet, RequestType};
use ed25519_dalek::{Signer, SigningKey};

/// The counter of `apps/asm/counter.s`: returns 1, 2, 3... (key 1 of its namespace).
pub const COUNTER_ASM: &str = include_str!("../../../../apps/asm/counter.s");

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

pub fn node_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_alkyl-node"))
}

/// The `alkyl` binary of this build (built here if `cargo test` did not
/// build it, e.g. `cargo test -p alkyl-node`).
pub fn alkyl_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = node_bin().parent().unwrap().to_path_buf();
        let bin = dir.join("alkyl");
        let release = dir.ends_with("release");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(repo()).args(["build", "--quiet", "-p", "alkyl-cli", "--bin", "alkyl"]);
        if release {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("running cargo to build the alkyl binary");
        assert!(status.success(), "building the alkyl binary failed");
        assert!(bin.exists(), "{} missing after cargo build", bin.display());
        bin
    })
    .clone()
}

/// libcoap's command-line client; `make test` installs it (libcoap3-bin).
pub fn coap_client_bin() -> &'static str {
    static FOUND: OnceLock<()> = OnceLock::new();
    FOUND.get_or_init(|| {
        let ok = Command::new("coap-client-notls").arg("-h").output().is_ok();
        assert!(ok, "coap-client-notls not found: `apt install libcoap3-bin` (`make test` installs it)");
    });
    "coap-client-notls"
}

/// A running `alkyl-node`.
pub struct Node {
    child: Option<Child>,
    pub addr: SocketAddr,
    pub lines: Arc<Mutex<Vec<String>>>,
}

impl Node {
    /// Starts a node on a free loopback port over `store`, with `args`.
    pub fn start(store: &Path, args: &[&str]) -> Node {
        let mut all = vec![std::ffi::OsStr::new("--store"), store.as_os_str()];
        all.extend(args.iter().map(std::ffi::OsStr::new));
        Node::spawn(&all)
    }

    /// Starts a node on a free loopback port with `args` (which name its
    /// store: `--store DIR` or `--flash FILE`).
    pub fn spawn(args: &[&std::ffi::OsStr]) -> Node {
        let mut child = Command::new(node_bin())
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting alkyl-node");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(a) = line.strip_prefix("listening on coap://") {
                    let _ = tx.send(a.to_string());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(format!("stderr: {line}"));
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(a) => a.parse().unwrap(),
            Err(_) => {
                let _ = child.kill();
                panic!("alkyl-node did not start: {:?}", lines.lock().unwrap());
            }
        };
        Node { child: Some(child), addr, lines }
    }

    pub fn uri(&self) -> String {
        format!("coap://{}", self.addr)
    }

    pub fn log(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits until a log line contains `text`.
    pub fn wait_for_line(&self, text: &str, timeout: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if self.log().iter().any(|l| l.contains(text)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// SIGKILL, no chance to clean up.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait; returns the exit status's success.
    pub fn stop(&mut self) -> bool {
        let Some(mut c) = self.child.take() else { return false };
        let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(s)) = c.try_wait() {
                return s.success();
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                let _ = c.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Output of a command as text (stdout + stderr) and its success.
pub fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// Runs `coap-client-notls` with `args` (a timeout keeps a dead node from
/// hanging the test).
pub fn coap_client(args: &[&str]) -> Output {
    Command::new(coap_client_bin()).args(["-B", "10"]).args(args).output().expect("running coap-client-notls")
}

/// Runs `alkyl` with `args`.
pub fn alkyl(args: &[&str]) -> Output {
    Command::new(alkyl_bin()).current_dir(repo()).args(args).output().expect("running alkyl")
}

/// Compiles apps/c/NAME.c into `dir`; returns the object path.
pub fn compile_app(name: &str, dir: &Path) -> PathBuf {
    let out = dir.join(format!("{name}.o"));
    compile_bpf(Path::new(&format!("apps/c/{name}.c")), &out, &[]).unwrap_or_else(|e| panic!("{e}"));
    out
}

/// A container from assembler text (instruction 0 is the entry).
pub fn asm_container(asm: &str) -> Vec<u8> {
    let text = alkyl_asm::assemble(asm).unwrap();
    ContainerRepr { text: &text, ..ContainerRepr::default() }.to_bytes().unwrap()
}

/// A signing key from a fixed seed, and its files in `dir` (KEY.key, KEY.pub).
pub fn test_key(dir: &Path, seed: u8) -> (SigningKey, PathBuf, PathBuf) {
    let key = SigningKey::from_bytes(&[seed; 32]);
    let secret = dir.join(format!("key{seed}.key"));
    let public = dir.join(format!("key{seed}.pub"));
    std::fs::write(&secret, format!("{}\n", hex::encode([seed; 32]))).unwrap();
    std::fs::write(&public, format!("{}\n", hex::encode(key.verifying_key().to_bytes()))).unwrap();
    (key, secret, public)
}

/// A node's store (`DIR/store`, or with [`Trusted::on_flash`] the flash
/// store in the file `DIR/flash`) and the key it trusts ([`test_key`] of a
/// seed): starts, and restarts, nodes on that store that trust that key.
pub struct Trusted {
    pub key: SigningKey,
    pub store: PathBuf,
    public: String,
    flash: Option<PathBuf>,
}

impl Trusted {
    /// A fresh temporary directory (the test keeps it while it runs) with
    /// the key files of `seed` and room for the store.
    pub fn new(seed: u8) -> (tempfile::TempDir, Trusted) {
        let dir = tempfile::tempdir().unwrap();
        let (key, _, public) = test_key(dir.path(), seed);
        let trusted =
            Trusted { key, store: dir.path().join("store"), public: public.to_str().unwrap().into(), flash: None };
        (dir, trusted)
    }

    /// The same nodes keeping their records in the flash store over the
    /// file `DIR/flash` (`--flash`, 64 KiB) instead of `DIR/store`.
    #[allow(dead_code)]
    pub fn on_flash(mut self) -> Trusted {
        self.flash = Some(self.store.with_file_name("flash"));
        self
    }

    /// A node on the store, trusting the key, with `extra` arguments.
    pub fn start(&self, extra: &[&str]) -> Node {
        let mut args = vec!["--trusted-key", self.public.as_str()];
        args.extend_from_slice(extra);
        match &self.flash {
            None => Node::start(&self.store, &args),
            Some(file) => {
                let mut all = vec![std::ffi::OsStr::new("--flash"), file.as_os_str()];
                all.extend(args.iter().map(std::ffi::OsStr::new));
                Node::spawn(&all)
            }
        }
    }
}

/// An install envelope of `container`, compressed, signed by `key` (or
/// unsigned), with every entry declared open (plain runs work; the tests
/// of protected entries declare less).
pub fn install(name: &str, version: u32, container: &[u8], key: Option<&SigningKey>) -> Vec<u8> {
    install_with(name, version, container, Vec::new(), key)
}

pub fn install_with(
    name: &str,
    version: u32,
    container: &[u8],
    triggers: Vec<TriggerRepr>,
    key: Option<&SigningKey>,
) -> Vec<u8> {
    let name = AppName::new(name.as_bytes()).unwrap();
    let mut repr = EnvelopeRepr::install(name, version, PayloadKind::Container, container.to_vec());
    repr.triggers = triggers;
    repr.open = Some(vec!["*".into()]);
    seal(repr.compress().unwrap(), key)
}

/// A delete command.
pub fn delete(name: &str, version: u32, key: Option<&SigningKey>) -> Vec<u8> {
    let repr = EnvelopeRepr::command(Operation::Delete, AppName::new(name.as_bytes()).unwrap(), version, Vec::new());
    seal(repr, key)
}

/// Emits `repr` signed by `key` (or unsigned).
pub fn seal(repr: EnvelopeRepr, key: Option<&SigningKey>) -> Vec<u8> {
    match key {
        Some(k) => repr.to_signed_bytes(&k.verifying_key().to_bytes(), |m| k.sign(m).to_bytes()),
        None => repr.to_bytes(),
    }
    .unwrap()
}

/// The store directory's files and contents.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
        .collect()
}

/// A raw UDP socket for hand-made datagrams, and the protocol crate's
/// client (the CLI's) for well-formed requests: its `Reply` gives the
/// code (`code_text`) and the text (`text`) as the CLI prints them.
pub struct Raw {
    pub socket: UdpSocket,
    pub node: SocketAddr,
    pub client: Client,
}

impl Raw {
    pub fn new(node: SocketAddr) -> Raw {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let client = Client::connect(node, Duration::from_secs(2)).unwrap();
        Raw { socket, node, client }
    }

    /// Sends bytes; returns the reply, if one comes within `wait`.
    pub fn send_bytes(&self, bytes: &[u8], wait: Duration) -> Option<Vec<u8>> {
        self.socket.set_read_timeout(Some(wait)).unwrap();
        self.socket.send_to(bytes, self.node).unwrap();
        let mut buf = [0u8; 2048];
        match self.socket.recv_from(&mut buf) {
            Ok((n, _)) => Some(buf[..n].to_vec()),
            Err(_) => None,
        }
    }

    /// Reads and drops whatever is queued on the socket.
    pub fn drain(&self) {
        std::thread::sleep(Duration::from_millis(200));
        self.socket.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 2048];
        while self.socket.recv_from(&mut buf).is_ok() {}
        self.socket.set_nonblocking(false).unwrap();
    }

    /// Installs `asm`, assembled, as app `name` at `version`, signed with
    /// `key`: a PUT of the envelope to `apps/NAME` through the client.
    pub fn install(&mut self, name: &str, version: u32, asm: &str, key: &SigningKey) -> Reply {
        let envelope = install(name, version, &asm_container(asm), Some(key));
        self.client.request(RequestType::Put, &format!("apps/{name}"), &[], &envelope).unwrap()
    }

    /// Whether the node answers a GET /apps with 2.05.
    pub fn alive(&mut self) -> bool {
        self.client.request(RequestType::Get, "apps", &[], b"").is_ok_and(|r| r.code == 0x45)
    }
}

/// A CON request with message id `mid` (token `a1 MID`), to send by hand.
pub fn request_packet(
    mid: u16,
    method: RequestType,
    path: &str,
    options: &[(CoapOption, Vec<u8>)],
    payload: &[u8],
) -> Packet {
    client::request_packet(mid, &[0xa1, mid as u8], method, path, options, payload)
}

pub fn code(p: &Packet) -> String {
    client::code_text(u8::from(p.header.code))
}

/// The payload as text, without the newline the device's plain-text
/// answers end with (`any_client.rs` checks that they do).
pub fn payload_text(p: &Packet) -> String {
    let text = String::from_utf8_lossy(&p.payload);
    text.strip_suffix('\n').unwrap_or(&text).to_string()
}
