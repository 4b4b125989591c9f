//! `alkyl ir …`: Alkyl IR tools — assemble, disassemble, validate,
//! translate to eBPF, and run (translated on the VM, optionally checked
//! against the reference interpreter) on a simulated device.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use alkyl_translator::ir::exec::{run_entry, Ended};
use alkyl_translator::ir::module::MAGIC;
use alkyl_translator::ir::sim::SimDevice;
use alkyl_translator::ir::testkit::Pair;
use alkyl_translator::ir::{text, translate, validate, Module};
use alkyl_vm::DEFAULT_BUDGET;
use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};

use crate::hex;

#[derive(Subcommand)]
pub enum IrCommand {
    /// Assemble IR text (.air) into a binary module.
    Asm {
        file: PathBuf,
        /// Output file [default: FILE with extension .akir].
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Print a binary module as IR text.
    Disasm { file: PathBuf },
    /// Validate a module (text or binary): `ok`, or the rule broken and where.
    Check { file: PathBuf },
    /// Translate a module to eBPF.
    Translate {
        file: PathBuf,
        /// Output file for the eBPF program [default: FILE with extension .bin].
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Print the eBPF disassembly and the entry points.
        #[arg(long)]
        disasm: bool,
    },
    /// Translate and run calls on the VM over a simulated device.
    Run(RunArgs),
}

#[derive(Args)]
pub struct RunArgs {
    /// Module: IR text or binary.
    file: PathBuf,
    /// A call, `NAME` or `NAME:ARG,ARG,...` (decimal, 0x hex or 'c'); repeat
    /// for a sequence of events. State persists between calls.
    #[arg(long = "call", required = true)]
    calls: Vec<String>,
    /// Call input as hex (what `INLOAD` reads).
    #[arg(long, conflicts_with = "input_file")]
    input: Option<String>,
    /// Call input from a file.
    #[arg(long)]
    input_file: Option<PathBuf>,
    /// The device clock (now_ms) in milliseconds.
    #[arg(long, default_value_t = 0)]
    clock: u32,
    /// Also run the reference interpreter and fail on any disagreement.
    #[arg(long)]
    check: bool,
    /// eBPF instruction budget per call.
    #[arg(long, default_value_t = DEFAULT_BUDGET)]
    budget: u64,
    /// Print executed eBPF instructions per call on stderr.
    #[arg(long)]
    stats: bool,
}

/// Reads a module: binary when it starts with the magic, else IR text.
fn load(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if bytes.starts_with(&MAGIC) {
        return Ok(bytes);
    }
    let source =
        String::from_utf8(bytes).with_context(|| format!("{} is neither a module nor text", path.display()))?;
    text::assemble(&source).map_err(|e| anyhow!("{}: {e}", path.display()))
}

pub fn dispatch(command: IrCommand) -> Result<ExitCode> {
    match command {
        IrCommand::Asm { file, output } => {
            let bytes = load(&file)?;
            let output = output.unwrap_or_else(|| file.with_extension("akir"));
            std::fs::write(&output, &bytes).with_context(|| format!("writing {}", output.display()))?;
            eprintln!("wrote {} ({} bytes)", output.display(), bytes.len());
        }
        IrCommand::Disasm { file } => {
            let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            print!("{}", text::disassemble(&bytes).map_err(|e| anyhow!("{e}"))?);
        }
        IrCommand::Check { file } => {
            let bytes = load(&file)?;
            let module = Module::parse(&bytes).map_err(|e| anyhow!("{e}"))?;
            let names: Vec<String> = module.functions.iter().map(|f| f.name.to_string()).collect();
            match validate(module) {
                Ok(_) => println!("ok: {}", names.join(", ")),
                Err(e) => {
                    let name = names.get(e.function).map_or("?", String::as_str);
                    bail!("function `{name}` at byte {}: {}", e.pos, e.kind);
                }
            }
        }
        IrCommand::Translate { file, output, disasm } => {
            let bytes = load(&file)?;
            let valid = validate(Module::parse(&bytes).map_err(|e| anyhow!("{e}"))?).map_err(|e| anyhow!("{e}"))?;
            let t = translate(&valid).map_err(|e| anyhow!("{e}"))?;
            let output = output.unwrap_or_else(|| file.with_extension("bin"));
            std::fs::write(&output, t.package()).with_context(|| format!("writing {}", output.display()))?;
            eprintln!(
                "wrote {} ({} eBPF instructions, .data {} bytes, helpers {:x?})",
                output.display(),
                t.text.len() / 8,
                t.data.len(),
                t.helpers
            );
            if disasm {
                for f in &t.functions {
                    println!("; {} {}/{} at instruction {}", f.kind.keyword(), f.name, f.arity, f.pc);
                }
                print!("{}", alkyl_translator::ebpf::disassemble(&t.text).map_err(|e| anyhow!("{e}"))?);
            }
        }
        IrCommand::Run(args) => return run(args),
    }
    Ok(ExitCode::SUCCESS)
}

/// Parses `NAME:ARG,ARG`.
fn parse_call(spec: &str) -> Result<(String, Vec<u64>)> {
    let (name, args) = spec.split_once(':').unwrap_or((spec, ""));
    let args = args
        .split(',')
        .filter(|a| !a.is_empty())
        .map(|a| {
            if let Some(c) = a.strip_prefix('\'').and_then(|c| c.strip_suffix('\'')) {
                return c.bytes().next().map(u64::from).ok_or_else(|| anyhow!("empty character in `{spec}`"));
            }
            match a.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16),
                None => a.parse(),
            }
            .map_err(|_| anyhow!("bad argument `{a}` in `{spec}`"))
        })
        .collect::<Result<Vec<u64>>>()?;
    Ok((name.to_string(), args))
}

fn run(args: RunArgs) -> Result<ExitCode> {
    let bytes = load(&args.file)?;
    let input = match (&args.input, &args.input_file) {
        (Some(h), _) => hex::parse(h).context("--input")?,
        (None, Some(f)) => std::fs::read(f).with_context(|| format!("reading {}", f.display()))?,
        (None, None) => Vec::new(),
    };
    let mut device = SimDevice::new();
    device.clock_ms = args.clock;
    let calls = args.calls.iter().map(|c| parse_call(c)).collect::<Result<Vec<_>>>()?;
    if args.check {
        let mut pair = Pair::new(&bytes, device).map_err(|e| anyhow!(e))?;
        for (name, a) in &calls {
            match pair.call(name, a, &input).map_err(|e| anyhow!("MISMATCH: {e}"))? {
                Ok(v) => println!("{name}: {v:#x}"),
                Err(t) => println!("{name}: trap: {t}"),
            }
            if args.stats {
                eprintln!("{name}: executed {} eBPF instructions ({} IR steps)", pair.last_executed, pair.last_steps);
            }
        }
        print_writes(&pair.vm_device);
        return Ok(ExitCode::SUCCESS);
    }
    let valid = validate(Module::parse(&bytes).map_err(|e| anyhow!("{e}"))?).map_err(|e| anyhow!("{e}"))?;
    let t = translate(&valid).map_err(|e| anyhow!("{e}"))?;
    let mut data = t.data.clone();
    let mut failed = false;
    for (name, a) in &calls {
        let entry = t.function(name).ok_or_else(|| anyhow!("no function `{name}`"))?;
        let r = run_entry(&t, entry, a, &mut data, &input, &mut device, args.budget).map_err(|e| anyhow!("{e}"))?;
        match r.ended {
            Ended::Returned(v) => println!("{name}: {v:#x}"),
            Ended::Trapped(trap) => {
                println!("{name}: trap: {trap}");
                failed = true;
            }
            Ended::Unexplained(trap) => bail!("{name}: VM trap without IR meaning (translator bug): {trap}"),
        }
        if args.stats {
            eprintln!("{name}: executed {} eBPF instructions", r.executed);
        }
    }
    print_writes(&device);
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn print_writes(device: &SimDevice) {
    for (handle, value) in &device.writes {
        println!("actuator {handle} <- {value}");
    }
}
