//! Running a script on the host the way `alkyl run` does: the real helpers
//! (`alkyl_bindings::AlkylHelpers`) over the simulated platform
//! (`SimPlatform::demo`: a temperature sensor, a humidity sensor, an LED
//! and a switch), with a stack, the input, the container's
//! `.data`/`.rodata`, and optionally a context or a CoAP exchange mapped as
//! regions.
//!
//! Regions and registers by the invocation convention (`docs/isa.md`,
//! "Invocation"), with the input read-write (`--mem` is the program's to
//! change): stack at segment 1, input at 2 (`r1`/`r2`), `.data` 3,
//! `.rodata` 4; for `--context coap` the packet buffer and the context by
//! the convention the container declares (`alkyl_bindings::CoapRegions`:
//! Alkyl's, packet at 5 and context at 6 in `r3`; Femto-Container's, packet
//! at address 0, `coap_pkt_t` at 5, context at 6 in `r1`); for `--context words|bytes` the
//! `{address, length}` struct is the input and the bytes it describes
//! are at 5 ([`DESCRIBED_VADDR`]).

use alkyl_bindings::{AlkylHelpers, CoapRegions, CoapSession, SimPlatform, ALL_HELPERS};
use alkyl_vm::container::{Convention, Script};
use alkyl_vm::{segment_vaddr, verify, Entry, Exit, Invocation, Program, STACK_SIZE};
use anyhow::{anyhow, bail, Context as _, Result};

use crate::exec::{run_on, Engine};
use crate::program::{describe_verify_error, load_script, Loaded};

/// What `r1` points to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Context {
    /// `r1` = input address, `r2` = its length (the default).
    Input,
    /// `r1` = address of `{ u64 data address; u32 length in 16-bit words }`
    /// over the input bytes (the Fletcher32 benchmark's context; `r2` = 16).
    Words,
    /// As `words`, with the length in bytes.
    Bytes,
    /// A CoAP GET request: `r1`/`r2` the input as request payload, `r3` the
    /// address of the CoAP context; the response built is printed.
    Coap,
}

/// Where `--context words|bytes` maps the input its `{address, length}`
/// struct describes (read-write); the struct itself is the invocation's
/// input (`r1`/`r2`).
pub const DESCRIBED_VADDR: u64 = segment_vaddr(5);

/// Size of the simulated CoAP packet buffer.
pub const COAP_BUF_LEN: usize = 256;
/// The request `--context coap` answers: CON GET, message id 0x1234, token ab cd.
pub const COAP_REQUEST: [u8; 6] = [0x42, 0x01, 0x12, 0x34, 0xab, 0xcd];

/// What a run produced.
pub struct Report {
    pub exit: Exit,
    /// The CoAP response (code, payload), when the script built one.
    pub coap: Option<(u8, Vec<u8>)>,
}

/// Verifies `loaded` with every helper the host implements and runs it from
/// `entry` (a function name; containers only) over `input`.
///
/// # Errors
/// Load or verification failure, an unknown entry, or the trap that ended
/// the run.
/// How to run: what `r1` points to, the instruction budget, the engine.
#[derive(Clone, Copy, Debug)]
pub struct RunSettings {
    pub context: Context,
    pub budget: u64,
    pub engine: Engine,
}

pub fn run_script(
    loaded: &Loaded,
    entry: Option<&str>,
    input: &mut [u8],
    platform: &mut SimPlatform,
    settings: RunSettings,
) -> Result<Report> {
    let (program, entry_pc, script) = match loaded {
        Loaded::Code(code) => {
            if entry.is_some() {
                bail!("--entry needs a container or an object file (bare bytecode has one entry)");
            }
            let program = verify(code, &ALL_HELPERS).map_err(|e| anyhow!("{}", describe_verify_error(code, &e)))?;
            (program, program.main(), None)
        }
        Loaded::Container(bytes) => {
            let script = load_script(bytes)?;
            let pc = match entry {
                Some(name) => script.entry(name.as_bytes()).ok_or_else(|| {
                    let names: Vec<String> =
                        script.entries().map(|(f, _)| String::from_utf8_lossy(f.name).into_owned()).collect();
                    anyhow!("no entry point `{name}` (the container has: {})", names.join(", "))
                })?,
                None => script.program().main(),
            };
            (script.borrowed_program(), pc, Some(script))
        }
    };
    execute(&program, entry_pc, script.as_ref(), input, platform, settings)
}

fn execute(
    program: &Program<'_>,
    entry: Entry,
    script: Option<&Script<&[u8]>>,
    input: &mut [u8],
    platform: &mut SimPlatform,
    settings: RunSettings,
) -> Result<Report> {
    let RunSettings { context, budget, engine } = settings;
    let stack_len = script.map_or(STACK_SIZE, Script::stack_size);
    let mut stack = vec![0u8; stack_len];
    let mut data = vec![0u8; script.map_or(0, Script::data_size)];
    if let Some(s) = script {
        s.init_data(&mut data);
    }
    let input_len = input.len() as u64;
    let mut packet = [0u8; COAP_BUF_LEN];
    let convention = script.map_or(Convention::Alkyl, Script::convention);
    let mut coap = (context == Context::Coap).then(|| CoapRegions::new(convention, &mut packet, &COAP_REQUEST, input));
    let ctx: Vec<u8> = match context {
        Context::Words | Context::Bytes => {
            let len = if context == Context::Words { input_len / 2 } else { input_len };
            let len = u32::try_from(len).context("input too large for a 32-bit length")?;
            [DESCRIBED_VADDR.to_le_bytes().as_slice(), &len.to_le_bytes(), &[0; 4]].concat()
        }
        Context::Input | Context::Coap => Vec::new(),
    };

    let mut helpers = AlkylHelpers::new(platform, 0);
    if let Some(c) = &coap {
        helpers = helpers.with_coap(c.session());
    }
    let result = {
        // `--mem` is the program's to change: mapped read-write (the
        // invocation's explicit option), also where a context describes it.
        let mut run = match context {
            Context::Words | Context::Bytes => {
                let mut run = Invocation::new(&mut stack, &ctx)?;
                run.region(DESCRIBED_VADDR, input)?;
                run
            }
            Context::Input | Context::Coap => Invocation::with_writable_input(&mut stack, input)?,
        };
        if let Some(s) = script {
            run.script(s, &mut data)?;
        }
        if let Some(c) = coap.as_mut() {
            c.map(&mut run, &mut packet)?;
        }
        match script {
            Some(s) => run_on(engine, program, entry, &mut run, &mut s.restrict(&mut helpers), budget),
            None => run_on(engine, program, entry, &mut run, &mut helpers, budget),
        }
    };
    let exit = result.map_err(|t| anyhow!("{t}"))?;
    let coap = helpers.coap().and_then(CoapSession::response).map(|r| {
        let end = (exit.r0 as usize).clamp(r.payload_offset, COAP_BUF_LEN);
        (r.code, packet[r.payload_offset..end].to_vec())
    });
    Ok(Report { exit, coap })
}
