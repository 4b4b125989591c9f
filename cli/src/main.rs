//! `alkyl`: the command-line tool for Alkyl scripts.

mod conformance;
mod device;
mod exec;
mod hex;
mod host;
mod ir;
mod lang;
mod pack;
mod program;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use alkyl_vm::DEFAULT_BUDGET;
use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::exec::{execute_on, ConformanceHelpers, Engine};

#[derive(Parser)]
#[command(name = "alkyl", version, about = "Alkyl: verified eBPF scripts for tiny IoT devices")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Assemble eBPF text (the bpf_conformance syntax) into bytecode.
    Asm {
        /// Assembler source.
        file: PathBuf,
        /// Output file [default: FILE with extension .bin].
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Print a program as assembler text: raw bytecode, assembler (a round
    /// trip), a clang -target bpf object, a container or Alkyl IR (their
    /// .text, functions as labels).
    Disasm {
        /// Program, any form `run` takes.
        file: PathBuf,
    },
    /// Run the preflight verifier: prints `ok` or the first rule broken.
    Verify {
        /// Program: raw bytecode, assembler text (.s/.asm), a clang -target
        /// bpf object (.o), Alkyl IR (.air text or a binary module) or a
        /// container (.rbf).
        file: PathBuf,
        /// Also check that this named entry point exists.
        #[arg(long)]
        entry: Option<String>,
        /// Declare this calling convention (objects, IR, containers with a trailer).
        #[arg(long, value_enum)]
        convention: Option<program::ConventionArg>,
        /// Print {"ok": true, "instructions": N} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Pack a clang -target bpf object into a container (.rbf).
    Pack(pack::PackArgs),
    /// Verify and run a program; prints r0 in hex.
    Run(RunArgs),
    /// The plugin protocol of the bpf_conformance runner: program hex on
    /// stdin (or --program), memory hex as first argument; prints r0 in hex.
    BpfConformancePlugin {
        /// Input memory as hex.
        memory: Option<String>,
        /// Runner options (ignored, accepted for compatibility).
        options: Option<String>,
        /// Program as hex instead of stdin.
        #[arg(long)]
        program: Option<String>,
        /// Interpreter to run the program on.
        #[arg(long, value_enum, default_value_t = Engine::Reference)]
        engine: Engine,
    },
    /// Alkyl IR: assemble, disassemble, validate, translate to eBPF, run.
    #[command(subcommand)]
    Ir(ir::IrCommand),
    /// Compile Alkyl source (.alkyl) into an IR module, IR text or a container.
    Build(lang::BuildArgs),
    /// Run every test of a bpf_conformance checkout (developer tool).
    Conformance {
        /// Directory holding the suite's .data files.
        dir: PathBuf,
        /// Also list passing tests.
        #[arg(short, long)]
        verbose: bool,
        /// Interpreter to run the tests on.
        #[arg(long, value_enum, default_value_t = Engine::Reference)]
        engine: Engine,
        /// Print the counts as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Create an Ed25519 signing key: NAME.key (secret) and NAME.pub (for a device's --trusted-key).
    Keygen {
        /// Path and base name of the two files.
        #[arg(long)]
        out: PathBuf,
        /// Print {"secret", "public", "key_id"} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Pack, compress, sign and upload an app to a device (block-wise).
    Upload(device::UploadArgs),
    /// List the apps on a device.
    Ls {
        /// Print the device's JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        device: device::DeviceArgs,
    },
    /// Delete an app from a device (signed).
    Rm(device::SignedCommand),
    /// Run an app on a device over CoAP; prints the response payload. With
    /// --key the call is signed and may run protected entries; without, the
    /// device runs only the entries the app declared open.
    Invoke {
        name: String,
        /// Entry point [default: the first instruction].
        entry: Option<String>,
        /// Request payload from a file (the script gets it in r1/r2).
        #[arg(long, conflicts_with = "payload")]
        payload_file: Option<PathBuf>,
        /// Request payload as text.
        #[arg(long)]
        payload: Option<String>,
        /// An argument, as an 8-byte little-endian slot before the payload
        /// (decimal, 0x hex or 'c'; repeat in order): how Alkyl IR functions
        /// receive their parameters.
        #[arg(long = "arg")]
        args: Vec<String>,
        /// Print the reply as JSON: {"code", "result" (the payload as text), "payload_hex"}.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        signed: device::CommandArgs,
        #[command(flatten)]
        device: device::DeviceArgs,
    },
    /// Replace an app's triggers (signed); no --trigger removes them all.
    Triggers {
        /// timer:PERIOD_MS[@ENTRY] or rising|falling|delta:SENSOR:VALUE:PERIOD_MS[@ENTRY]; repeatable.
        #[arg(long = "trigger")]
        triggers: Vec<alkyl_protocol::envelope::TriggerRepr>,
        #[command(flatten)]
        command: device::SignedCommand,
    },
    /// Print an app's last result; --watch N observes it and prints N
    /// changes. Exits non-zero when the (last) result is a trap.
    Result {
        name: String,
        #[arg(long, default_value_t = 0)]
        watch: usize,
        /// One JSON object per result: {"result": TEXT, "trapped": BOOL}.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        device: device::DeviceArgs,
    },
    /// Print one app's metadata (version, size, entries, triggers, runs, last run).
    Info {
        name: String,
        /// Print the device's JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        device: device::DeviceArgs,
    },
    /// List a device's sensors and actuators with their values.
    Sensors {
        /// Print the device's JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        device: device::DeviceArgs,
    },
    /// Show a device's wall clock (Unix ms); `time set --key K` sets it (signed).
    Time {
        #[command(subcommand)]
        action: Option<TimeAction>,
        #[command(flatten)]
        device: device::DeviceArgs,
    },
    /// Show a device's reports: pending (queued for the gateway) and delivered.
    Reports {
        /// Print the device's JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        device: device::DeviceArgs,
    },
}

#[derive(Subcommand)]
enum TimeAction {
    /// Set the device's clock to this host's time (or --unix-ms), signed.
    Set {
        /// The time to set, Unix milliseconds [default: now].
        #[arg(long)]
        unix_ms: Option<u64>,
        #[command(flatten)]
        signed: device::CommandArgs,
        #[command(flatten)]
        device: device::DeviceArgs,
    },
}

#[derive(Args)]
struct RunArgs {
    /// Program: raw bytecode, assembler text (.s/.asm), a clang -target bpf
    /// object (.o), Alkyl IR (.air text or a binary module) or a container
    /// (.rbf).
    file: PathBuf,
    /// Entry point (a function name of a container, object or IR module).
    #[arg(long)]
    entry: Option<String>,
    /// An argument, as an 8-byte little-endian slot at the start of the
    /// input (decimal, 0x hex or 'c'; repeat in order): how Alkyl IR
    /// functions receive their parameters.
    #[arg(long = "arg")]
    args: Vec<String>,
    /// What r1 points to: the input, a {address, length} context, or a
    /// CoAP request whose response is printed.
    #[arg(long, value_enum, default_value_t = host::Context::Input)]
    context: host::Context,
    /// Input memory as hex (after the --arg slots); mapped read-write,
    /// address in r1, length in r2.
    #[arg(long, conflicts_with = "mem_file")]
    mem: Option<String>,
    /// Input memory from a file.
    #[arg(long)]
    mem_file: Option<PathBuf>,
    /// Instruction budget.
    #[arg(long, default_value_t = DEFAULT_BUDGET)]
    budget: u64,
    /// Print the number of executed instructions on stderr.
    #[arg(long)]
    stats: bool,
    /// Interpreter to run the program on.
    #[arg(long, value_enum, default_value_t = Engine::Reference)]
    engine: Engine,
    /// Print the result as one JSON object: {"r0", "executed", "coap"?}.
    #[arg(long)]
    json: bool,
    /// Run it by this calling convention, as if declared in its container
    /// (`femto-container`: Femto-Container CoAP handlers, with --context coap).
    #[arg(long, value_enum)]
    convention: Option<program::ConventionArg>,
}

/// A run's input: the `--arg` values as 8-byte slots, then `data`.
fn call_input(args: &[String], data: &[u8]) -> Result<Vec<u8>> {
    let slots = args.iter().map(|a| ir::parse_arg(a)).collect::<Result<Vec<u64>>>()?;
    Ok(alkyl_translator::ir::call_input(&slots, data))
}

fn main() -> ExitCode {
    match dispatch(Cli::parse_from(runner_order(std::env::args_os().collect())).command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The subcommand the bpf_conformance runner's `--plugin_options` names.
const PLUGIN_COMMAND: &str = "bpf-conformance-plugin";

/// The bpf_conformance runner starts its plugin as `PLUGIN MEMORY-HEX
/// OPTIONS...` (the memory hex, when the test has any, before the
/// `--plugin_options` words), so `--plugin_path alkyl --plugin_options
/// bpf-conformance-plugin` reaches us as `alkyl 01ff.. bpf-conformance-plugin
/// [--engine fast]`. Puts the subcommand first; leaves every other command
/// line as it is.
fn runner_order(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let Some(at) = args.iter().position(|a| a == PLUGIN_COMMAND) else { return args };
    let before_is_hex = args[1..at].iter().all(|a| a.to_str().is_some_and(|a| hex::parse(a).is_ok()));
    if at > 1 && before_is_hex {
        let command = args.remove(at);
        args.insert(1, command);
    }
    args
}

fn dispatch(command: Command) -> Result<ExitCode> {
    match command {
        Command::Asm { file, output } => {
            let code = program::load_assembly(&file)?;
            let output = output.unwrap_or_else(|| file.with_extension("bin"));
            std::fs::write(&output, &code).with_context(|| format!("writing {}", output.display()))?;
            eprintln!("wrote {} ({} instructions)", output.display(), code.len() / 8);
        }
        Command::Disasm { file } => {
            let text = program::disassemble(&file)?;
            std::io::stdout().write_all(text.as_bytes())?;
        }
        Command::Verify { file, entry, convention, json } => {
            let loaded = program::load_as(&file, convention.map(Into::into))?;
            pack::verify(&loaded, entry.as_deref())?;
            if json {
                let code_len = match &loaded {
                    program::Loaded::Code(code) => code.len(),
                    program::Loaded::Container(bytes) => {
                        alkyl_vm::container::Container::new_checked(&bytes[..]).map_or(0, |c| c.parts().text.len())
                    }
                };
                println!("{}", serde_json::json!({ "ok": true, "instructions": code_len / 8 }));
            } else {
                println!("ok");
            }
        }
        Command::Pack(args) => pack::pack_command(&args)?,
        Command::Run(args) => return run(args),
        Command::Ir(command) => return ir::dispatch(command),
        Command::Build(args) => lang::build(&args)?,
        Command::BpfConformancePlugin { memory, options: _, program, engine } => {
            let program = match program {
                Some(p) => p,
                None => {
                    let mut s = String::new();
                    std::io::stdin().read_to_string(&mut s)?;
                    s
                }
            };
            let code = hex::parse(&program).context("program hex")?;
            let mut mem = hex::parse(memory.as_deref().unwrap_or("")).context("memory hex")?;
            let exit = execute_on(engine, &code, &mut mem, &mut ConformanceHelpers, DEFAULT_BUDGET)?;
            println!("{:#x}", exit.r0);
        }
        Command::Conformance { dir, verbose, engine, json } => {
            let s = conformance::run_suite_on(&dir, verbose, engine)?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "passed": s.passed, "failed": s.failed,
                        "negative_rejected": s.negative_rejected, "negative_accepted": s.negative_accepted,
                    })
                );
            } else {
                println!("{} passed, {} failed", s.passed, s.failed);
                println!("negative: {} rejected, {} accepted", s.negative_rejected, s.negative_accepted);
            }
            if s.failed > 0 || s.negative_accepted > 0 {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Keygen { out, json } => device::keygen(&out, json)?,
        Command::Upload(args) => device::upload(&args)?,
        Command::Ls { json, device } => device::ls(&device, json)?,
        Command::Rm(command) => device::rm(&command)?,
        Command::Invoke { name, entry, payload_file, payload, args, json, signed, device } => {
            let payload = match (payload_file, payload) {
                (Some(f), _) => std::fs::read(&f).with_context(|| format!("reading {}", f.display()))?,
                (None, Some(p)) => p.into_bytes(),
                (None, None) => Vec::new(),
            };
            device::invoke(&name, entry.as_deref(), &call_input(&args, &payload)?, json, &signed, &device)?;
        }
        Command::Triggers { triggers, command } => device::triggers(triggers, &command)?,
        Command::Result { name, watch, json, device } => {
            if !device::result(&name, watch, json, &device)? {
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Info { name, json, device } => device::info(&name, json, &device)?,
        Command::Time { action: None, device } => device::time_get(&device)?,
        Command::Time { action: Some(TimeAction::Set { unix_ms, signed, device }), .. } => {
            device::time_set(unix_ms, &signed, &device)?
        }
        Command::Reports { json, device } => device::reports(&device, json)?,
        Command::Sensors { json, device } => device::sensors(&device, json)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn run(args: RunArgs) -> Result<ExitCode> {
    let loaded = program::load_as(&args.file, args.convention.map(Into::into))?;
    let mem = match (&args.mem, &args.mem_file) {
        (Some(h), _) => hex::parse(h).context("--mem")?,
        (None, Some(f)) => std::fs::read(f).with_context(|| format!("reading {}", f.display()))?,
        (None, None) => Vec::new(),
    };
    let mut mem = call_input(&args.args, &mem)?;
    // Script output (printf) goes to stdout as it happens.
    let mut platform = alkyl_bindings::SimPlatform::demo();
    platform.set_echo(|b| {
        let mut out = std::io::stdout();
        let _ = out.write_all(b);
        let _ = out.flush();
    });
    let report = host::run_script(
        &loaded,
        args.entry.as_deref(),
        &mut mem,
        &mut platform,
        host::RunSettings { context: args.context, budget: args.budget, engine: args.engine },
    )?;
    if args.json {
        let mut doc = serde_json::json!({ "r0": format!("{:#x}", report.exit.r0), "executed": report.exit.executed });
        if let Some((code, payload)) = &report.coap {
            doc["coap"] = serde_json::json!({
                "code": format!("{}.{:02}", code >> 5, code & 0x1f),
                "payload": String::from_utf8_lossy(payload),
            });
        }
        println!("{doc}");
        return Ok(ExitCode::SUCCESS);
    }
    if let Some((code, payload)) = &report.coap {
        println!("coap {}.{:02} payload {:?}", code >> 5, code & 0x1f, String::from_utf8_lossy(payload));
    }
    println!("{:#x}", report.exit.r0);
    if args.stats {
        eprintln!("executed {} instructions", report.exit.executed);
    }
    Ok(ExitCode::SUCCESS)
}
