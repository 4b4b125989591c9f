//! `alkyl`: the command-line tool for Alkyl scripts.

mod conformance;
mod exec;
mod hex;
mod host;
mod ir;
mod pack;
mod program;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use alkyl_vm::DEFAULT_BUDGET;
use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::exec::{execute, ConformanceHelpers};

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
    /// Print bytecode as assembler text.
    Disasm {
        /// Raw bytecode.
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
    },
    /// Alkyl IR: assemble, disassemble, validate, translate to eBPF, run.
    #[command(subcommand)]
    Ir(ir::IrCommand),
    /// Run every test of a bpf_conformance checkout (developer tool).
    Conformance {
        /// Directory holding the suite's .data files.
        dir: PathBuf,
        /// Also list passing tests.
        #[arg(short, long)]
        verbose: bool,
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
}

fn main() -> ExitCode {
    match dispatch(Cli::parse().command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(command: Command) -> Result<ExitCode> {
    match command {
        Command::Asm { file, output } => {
            let code = program::load(&file)?;
            let output = output.unwrap_or_else(|| file.with_extension("bin"));
            std::fs::write(&output, &code).with_context(|| format!("writing {}", output.display()))?;
            eprintln!("wrote {} ({} instructions)", output.display(), code.len() / 8);
        }
        Command::Disasm { file } => {
            let code = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let text = alkyl_translator::ebpf::disassemble(&code).map_err(|e| anyhow::anyhow!("{e}"))?;
            std::io::stdout().write_all(text.as_bytes())?;
        }
        Command::Verify { file, entry } => {
            let loaded = program::load_any(&file)?;
            pack::verify(&loaded, entry.as_deref())?;
            println!("ok");
        }
        Command::Pack(args) => pack::pack_command(&args)?,
        Command::Run(args) => return run(args),
        Command::Ir(command) => return ir::dispatch(command),
        Command::BpfConformancePlugin { memory, options: _, program } => {
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
            let exit = execute(&code, &mut mem, &mut ConformanceHelpers, DEFAULT_BUDGET)?;
            println!("{:#x}", exit.r0);
        }
        Command::Conformance { dir, verbose } => {
            let s = conformance::run_suite(&dir, verbose)?;
            println!("{} passed, {} failed", s.passed, s.failed);
            println!("negative: {} rejected, {} accepted", s.negative_rejected, s.negative_accepted);
            if s.failed > 0 || s.negative_accepted > 0 {
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run(args: RunArgs) -> Result<ExitCode> {
    let loaded = program::load_any(&args.file)?;
    let mem = match (&args.mem, &args.mem_file) {
        (Some(h), _) => hex::parse(h).context("--mem")?,
        (None, Some(f)) => std::fs::read(f).with_context(|| format!("reading {}", f.display()))?,
        (None, None) => Vec::new(),
    };
    let slots = args.args.iter().map(|a| ir::parse_arg(a)).collect::<Result<Vec<u64>>>()?;
    let mut mem = alkyl_translator::ir::call_input(&slots, &mem);
    // Script output (printf) goes to stdout as it happens.
    let mut platform = alkyl_bindings::SimPlatform::demo();
    platform.set_echo(|b| {
        let mut out = std::io::stdout();
        let _ = out.write_all(b);
        let _ = out.flush();
    });
    let report = host::run_script(&loaded, args.entry.as_deref(), &mut mem, args.context, &mut platform, args.budget)?;
    if let Some((code, payload)) = &report.coap {
        println!("coap {}.{:02} payload {:?}", code >> 5, code & 0x1f, String::from_utf8_lossy(payload));
    }
    println!("{:#x}", report.exit.r0);
    if args.stats {
        eprintln!("executed {} instructions", report.exit.executed);
    }
    Ok(ExitCode::SUCCESS)
}
