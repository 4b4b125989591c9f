//! `alkyl-node`: serve the Alkyl runtime over CoAP on a host.
//!
//! ```sh
//! alkyl-node --listen 127.0.0.1:5683 (--store DIR | --flash FILE [--flash-size BYTES])
//!     --trusted-key KEY.pub [--sensors FILE] [--allow-unsigned]
//!     [--budget N] [--max-run-ms MS] [--store-quota BYTES]
//!     [--device-key DEVICE.key] [--gateway coap://HOST:PORT/PATH]
//! ```
//!
//! The first line on standard output is `listening on coap://ADDR` (with
//! the real port when `--listen` asks for port 0). SIGINT or SIGTERM stop
//! it cleanly (everything is persisted as it happens).

use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use alkyl_flash::FlashStorage;
use alkyl_node::device::{HostDevice, Stdout};
use alkyl_node::gateway::Gateway;
use alkyl_node::keys::read_key;
use alkyl_node::sensors;
use alkyl_node::server::Server;
use alkyl_node::store::{FileFlash, FileStorage, NodeStorage};
use alkyl_runtime::{Authority, Config, KeyId, Runtime};
use anyhow::{anyhow, Context, Result};
use clap::Parser;

#[derive(Parser)]
#[command(name = "alkyl-node", version, about = "The Alkyl device runtime on a host, served over CoAP (UDP)")]
struct Args {
    /// Address and port to serve on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:5683")]
    listen: String,
    /// Directory of the persistent store (created if missing).
    #[arg(long, required_unless_present = "flash", conflicts_with = "flash")]
    store: Option<PathBuf>,
    /// Keep the records in the device's flash store instead, over this file
    /// holding a NOR flash image (4 KiB pages; created erased if missing).
    #[arg(long)]
    flash: Option<PathBuf>,
    /// Size of the `--flash` image in bytes (a multiple of 4096, at least
    /// 4 pages; an existing file must have this size).
    #[arg(long, default_value_t = 64 * 1024, requires = "flash")]
    flash_size: usize,
    /// Public key (from `alkyl keygen`) whose signed uploads, deletions and
    /// trigger changes are accepted; repeatable. Without any, the node
    /// refuses every change.
    #[arg(long)]
    trusted_key: Vec<PathBuf>,
    /// Simulated sensors and actuators (TOML); default: a temperature sensor
    /// (21.50 °C), a humidity sensor (45.0 %) and an RGB LED.
    #[arg(long)]
    sensors: Option<PathBuf>,
    /// DEVELOPMENT ONLY: also accept unsigned envelopes.
    #[arg(long)]
    allow_unsigned: bool,
    /// The device's own key (an `alkyl keygen` secret key file): signs its
    /// reports and names it (`GET /auth`). Without one, reports go unsigned.
    #[arg(long)]
    device_key: Option<PathBuf>,
    /// Where to deliver the reports scripts queue (`coap://HOST:PORT/PATH`,
    /// path default `/reports`). Without it they stay queued.
    #[arg(long)]
    gateway: Option<String>,
    /// Instructions per run.
    #[arg(long, default_value_t = Config::DEFAULT.budget)]
    budget: u64,
    /// Wall-time limit of one run, in milliseconds (helpers that wait count
    /// their real time).
    #[arg(long, default_value_t = Config::DEFAULT.max_run_ms)]
    max_run_ms: u64,
    /// Most bytes the store's records may take (a device-sized store);
    /// default: as much as the disk holds. (A `--flash` store is bounded
    /// by its size.)
    #[arg(long, conflicts_with = "flash")]
    store_quota: Option<u64>,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("alkyl-node: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<()> {
    let mut authority = Authority::read_only();
    let mut ids = Vec::new();
    for path in &args.trusted_key {
        let key = read_key(path)?;
        authority = authority.trust(&key).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        ids.push(KeyId::of(&key).to_string());
    }
    if args.allow_unsigned {
        authority = authority.allow_unsigned();
    }
    let devices = match &args.sensors {
        Some(p) => sensors::load(p)?,
        None => sensors::default_devices(),
    };
    let (storage, place) = match (&args.store, &args.flash) {
        (Some(dir), _) => {
            let mut files = FileStorage::open(dir).with_context(|| format!("opening store {}", dir.display()))?;
            if let Some(quota) = args.store_quota {
                files = files.with_quota(quota);
            }
            (NodeStorage::First(files), dir.display().to_string())
        }
        (None, Some(file)) => {
            let flash =
                FileFlash::open(file, args.flash_size).with_context(|| format!("opening flash {}", file.display()))?;
            let store = FlashStorage::open(flash).map_err(|e| {
                anyhow!("flash store {}: {e} (remove the file to start with an empty store)", file.display())
            })?;
            (NodeStorage::Second(store), format!("{} (flash)", file.display()))
        }
        (None, None) => unreachable!("clap requires --store or --flash"),
    };
    let config = Config { budget: args.budget, max_run_ms: args.max_run_ms, ..Config::DEFAULT };
    let device = HostDevice::new(devices, Stdout);
    let (mut runtime, report) =
        Runtime::new(config, authority, storage, device).map_err(|e| anyhow!("reading store {place}: {e}"))?;
    if let Some(path) = &args.device_key {
        runtime.set_device_key(read_key(path)?);
    }
    let socket = UdpSocket::bind(&args.listen).with_context(|| format!("binding {}", args.listen))?;
    let mut server = Server::new(socket, runtime);
    if let Some(uri) = &args.gateway {
        server.gateway = Some(Gateway::start(uri)?);
    }

    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).context("installing signal handlers")?;
    }

    println!("listening on coap://{}", server.local_addr()?);
    println!("store {place}: {} app(s) loaded", report.apps);
    for (key, problem) in &report.problems {
        println!("store: {key} not loaded: {problem}");
    }
    for key in &report.cleaned {
        println!("store: {key} removed (finishing an interrupted deletion)");
    }
    if ids.is_empty() && !args.allow_unsigned {
        println!(
            "no --trusted-key: refusing every change (uploads, deletions, trigger changes); serving reads and runs"
        );
    } else if !ids.is_empty() {
        println!("trusted key(s): {}", ids.join(", "));
    }
    match server.runtime.device_id() {
        Some(id) => println!("device key {id}"),
        None => println!("no --device-key: reports are unsigned"),
    }
    if let Some(g) = &server.gateway {
        println!("reports go to {}", g.uri());
    }
    if args.allow_unsigned {
        for _ in 0..3 {
            eprintln!("alkyl-node: WARNING: --allow-unsigned: ANYONE who can reach this port can install and run code");
        }
    }
    server.run(&stop).context("serving")?;
    let s = server.stats;
    println!(
        "stopped: {} requests ({} duplicates, {} malformed datagrams), {} notifications",
        s.requests, s.duplicates, s.malformed, s.notifications
    );
    Ok(())
}
