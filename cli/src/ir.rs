//! `alkyl ir …`: Alkyl IR tools — assemble, disassemble, validate,
//! translate into a container, and run a sequence of calls (translated on
//! the VM, optionally checked against the reference interpreter) on the
//! simulated demo platform. `alkyl run` and `alkyl verify` take IR files
//! too (`program::load_as` compiles them with [`compile`]).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use alkyl_bindings::{AlkylHelpers, SimPlatform, ALL_HELPERS};
use alkyl_pack::measure;
use alkyl_translator::ir::exec::{run_entry, Ended};
use alkyl_translator::ir::lockstep::Pair;
use alkyl_translator::ir::module::MAGIC;
use alkyl_translator::ir::{call_input, compile_validated, text, validate, Module, Validated};
use alkyl_vm::container::{Container, ContainerRepr, Script};
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
    /// Translate a module into a verified container (`alkyl run`/`verify` take it).
    Translate {
        file: PathBuf,
        /// Output container [default: FILE with extension .rbf].
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Print the eBPF disassembly and the entry points.
        #[arg(long)]
        disasm: bool,
        /// Print the sizes of the module, the container and the container
        /// heatshrink-compressed (window 8, lookahead 4).
        #[arg(long)]
        stats: bool,
    },
    /// Translate and run a sequence of calls on the VM over the simulated
    /// demo platform; state persists between calls.
    Run(RunArgs),
}

#[derive(Args)]
pub struct RunArgs {
    /// Module: IR text or binary, or Alkyl source (.alkyl).
    file: PathBuf,
    /// A call, `NAME` or `NAME:ARG,ARG,...` (decimal, 0x hex, 'c' or a
    /// "string" of up to 8 bytes); repeat for a sequence of events. The
    /// arguments are the input's first 8-byte slots. For `.alkyl` sources
    /// every SystemCall a call makes is printed by its source name.
    #[arg(long = "call", required = true)]
    calls: Vec<String>,
    /// Input bytes after the arguments, as hex.
    #[arg(long, conflicts_with = "input_file")]
    input: Option<String>,
    /// Input bytes after the arguments, from a file.
    #[arg(long)]
    input_file: Option<PathBuf>,
    /// Move the device clock (now_ms) forward by this many milliseconds first.
    #[arg(long, default_value_t = 0)]
    clock: u64,
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

/// True for an IR file: `.air` text, `.alkyl` source (compiled by
/// [`load`]), or a binary module (its magic).
///
/// # Errors
/// An unreadable file.
pub fn is_ir(path: &Path) -> Result<bool> {
    if path.extension().is_some_and(|e| e == "air" || e == crate::lang::EXTENSION) {
        return Ok(true);
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(bytes.starts_with(&MAGIC))
}

/// Reads a module: binary when it starts with the magic, else IR text.
///
/// # Errors
/// An unreadable file or the assembler's error with its line.
pub fn load(path: &Path) -> Result<Vec<u8>> {
    if crate::lang::is_source(path) {
        return crate::lang::compile(path);
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if bytes.starts_with(&MAGIC) {
        return Ok(bytes);
    }
    let source =
        String::from_utf8(bytes).with_context(|| format!("{} is neither a module nor text", path.display()))?;
    text::assemble(&source).map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// Parses and validates; a validation error names the function.
fn validated(bytes: &[u8]) -> Result<Validated<'_>> {
    let module = Module::parse(bytes).map_err(|e| anyhow!("{e}"))?;
    let names: Vec<String> = module.functions.iter().map(|f| f.name.to_string()).collect();
    validate(module).map_err(|e| {
        let name = names.get(e.function).map_or("?", String::as_str);
        anyhow!("function `{name}` at byte {}: {}", e.pos, e.kind)
    })
}

/// Module bytes → a container that loads with every helper the host
/// implements (the device's upload path, `ir::compile`, with errors that
/// name the function).
///
/// # Errors
/// The first stage that refuses the module.
pub fn compile(bytes: &[u8]) -> Result<Vec<u8>> {
    compile_validated(&validated(bytes)?, &ALL_HELPERS).map_err(|e| anyhow!("{e}"))
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
            let valid = validated(&bytes)?;
            let names: Vec<&str> = valid.module.functions.iter().map(|f| f.name).collect();
            println!("ok: {}", names.join(", "));
        }
        IrCommand::Translate { file, output, disasm, stats } => translate(&file, output, disasm, stats)?,
        IrCommand::Run(args) => return run(args),
    }
    Ok(ExitCode::SUCCESS)
}

fn translate(file: &Path, output: Option<PathBuf>, disasm: bool, stats: bool) -> Result<()> {
    let bytes = load(file)?;
    let valid = validated(&bytes)?;
    let container = compile_validated(&valid, &ALL_HELPERS).map_err(|e| anyhow!("{e}"))?;
    let view = Container::new_checked(&container[..]).map_err(|e| anyhow!("{e}"))?;
    let c = ContainerRepr::parse(&view);
    let output = output.unwrap_or_else(|| file.with_extension("rbf"));
    std::fs::write(&output, &container).with_context(|| format!("writing {}", output.display()))?;
    let names: Vec<&str> = valid.module.functions.iter().map(|f| f.name).collect();
    let t = c.trailer.unwrap_or_default();
    let helpers: Vec<String> = t.helpers.iter().map(|h| format!("{h:#x}")).collect();
    eprintln!(
        "wrote {} ({} bytes: {} eBPF instructions, .data {} + .bss {} bytes, helpers [{}]; entry points: {})",
        output.display(),
        container.len(),
        c.text.len() / 8,
        c.data.len(),
        t.bss_len,
        helpers.join(", "),
        names.join(", ")
    );
    if stats {
        let ir = measure(&bytes, 0).map_err(|e| anyhow!("heatshrink: {e:?}"))?;
        let s = measure(&container, c.text.len()).map_err(|e| anyhow!("heatshrink: {e:?}"))?;
        println!(
            "IR {} B, heatshrink(8,4) {} B; container {} B (text {} B), heatshrink(8,4) {} B",
            ir.container, ir.compressed, s.container, s.text, s.compressed
        );
    }
    if disasm {
        for (i, f) in valid.module.functions.iter().enumerate() {
            let pc = c.functions.get(i).map_or(0, |e| e.location / 8);
            println!("; {} {}/{} at instruction {pc}", f.kind.keyword(), f.name, f.params.len());
        }
        print!("{}", alkyl_asm::disassemble(c.text).map_err(|e| anyhow!("{e}"))?);
    }
    Ok(())
}

/// Parses `NAME:ARG,ARG`.
fn parse_call(spec: &str) -> Result<(String, Vec<u64>)> {
    let (name, args) = spec.split_once(':').unwrap_or((spec, ""));
    let args = crate::lang::split_args(args).iter().map(|a| parse_arg(a)).collect::<Result<Vec<u64>>>()?;
    Ok((name.to_string(), args))
}

/// One argument: decimal, `0x` hex, a character in quotes (`'1'`), or a
/// string in double quotes (`"1234"`: up to 8 bytes, a `char*` argument).
///
/// # Errors
/// Anything else.
pub fn parse_arg(a: &str) -> Result<u64> {
    if let Some(v) = crate::lang::string_arg(a) {
        return v;
    }
    if let Some(c) = a.strip_prefix('\'').and_then(|c| c.strip_suffix('\'')) {
        return c.bytes().next().map(u64::from).ok_or_else(|| anyhow!("empty character argument"));
    }
    match a.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => a.parse(),
    }
    .map_err(|_| anyhow!("bad argument `{a}` (decimal, 0x hex or 'c')"))
}

/// The app number the calls run as (its local key-value namespace), as `alkyl run`.
const APP: u32 = 0;

fn run(args: RunArgs) -> Result<ExitCode> {
    let bytes = load(&args.file)?;
    let rest = match (&args.input, &args.input_file) {
        (Some(h), _) => hex::parse(h).context("--input")?,
        (None, Some(f)) => std::fs::read(f).with_context(|| format!("reading {}", f.display()))?,
        (None, None) => Vec::new(),
    };
    let mut platform = SimPlatform::demo();
    platform.advance_ms(args.clock);
    let calls = args.calls.iter().map(|c| parse_call(c)).collect::<Result<Vec<_>>>()?;
    if args.check {
        let mut pair = Pair::new(&bytes, platform).map_err(|e| anyhow!(e))?;
        for (name, a) in &calls {
            // The SystemCalls, from a traced run of the VM on copies of its state.
            let names = if crate::lang::is_source(&args.file) {
                let script = Script::load(&pair.container, &ALL_HELPERS).map_err(|e| anyhow!("{e}"))?;
                let entry = script.entry(name.as_bytes()).ok_or_else(|| anyhow!("no function `{name}`"))?;
                let (mut data, mut platform) = (pair.data.clone(), pair.device.clone());
                let mut helpers = crate::lang::Traced::new(AlkylHelpers::new(&mut platform, APP));
                run_entry(&script, &script, entry, &mut data, &call_input(a, &rest), &mut helpers, args.budget)?;
                alkyl_lang::syscalls::describe(&helpers.trace)
            } else {
                Vec::new()
            };
            match pair.call(name, a, &rest).map_err(|e| anyhow!("MISMATCH: {e}"))? {
                Ok(v) => println!("{name}: {v:#x}"),
                Err(t) => println!("{name}: trap: {t}"),
            }
            for n in names {
                println!("SystemCall {n}");
            }
            if args.stats {
                eprintln!("{name}: executed {} eBPF instructions ({} IR steps)", pair.last_executed, pair.last_steps);
            }
        }
        print_writes(&pair.device);
        return Ok(ExitCode::SUCCESS);
    }
    let container = compile(&bytes)?;
    let script = Script::load(&container, &ALL_HELPERS).map_err(|e| anyhow!("{e}"))?;
    let mut data = vec![0; script.data_size()];
    script.init_data(&mut data);
    let mut failed = false;
    for (name, a) in &calls {
        let entry = script.entry(name.as_bytes()).ok_or_else(|| anyhow!("no function `{name}`"))?;
        let input = call_input(a, &rest);
        let mut helpers = crate::lang::Traced::new(AlkylHelpers::new(&mut platform, APP));
        let r = run_entry(&script, &script, entry, &mut data, &input, &mut helpers, args.budget)?;
        let trace = helpers.trace;
        match r.ended {
            Ended::Returned(v) => println!("{name}: {v:#x}"),
            Ended::Trapped(trap) => {
                println!("{name}: trap: {trap}");
                failed = true;
            }
            Ended::Unexplained(trap) => bail!("{name}: VM trap without IR meaning (translator bug): {trap}"),
        }
        if crate::lang::is_source(&args.file) {
            for name in alkyl_lang::syscalls::describe(&trace) {
                println!("SystemCall {name}");
            }
        }
        if args.stats {
            eprintln!("{name}: executed {} eBPF instructions", r.executed);
        }
    }
    print_writes(&platform);
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn print_writes(platform: &SimPlatform) {
    for w in platform.actuator_writes() {
        println!("actuator {} <- {}", w.device.get(), w.value.val[0]);
    }
}
