//! `alkyl pack` and `alkyl verify`.

use std::path::PathBuf;

use alkyl_bindings::ALL_HELPERS;
use alkyl_pack::measure;
use alkyl_pack::{pack, PackOptions};
use alkyl_vm::container::Script;
use anyhow::{anyhow, bail, Context, Result};
use clap::Args;

use crate::program::{describe_verify_error, load_script, Loaded};

#[derive(Args)]
pub struct PackArgs {
    /// Relocatable object from `clang -target bpf -O2 -c`.
    file: PathBuf,
    /// Output container [default: FILE with extension .rbf].
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Application version written to the header.
    #[arg(long, default_value_t = 0)]
    app_version: u32,
    /// Plain Femto-Container output (no Alkyl trailer: no declared helpers,
    /// .bss written out as zeros).
    #[arg(long)]
    compat: bool,
    /// The calling convention to declare (`femto-container`: CoAP handlers
    /// written for Femto-Container, `int coap_resp(bpf_coap_ctx_t *)`).
    #[arg(long, value_enum, default_value_t = crate::program::ConventionArg::Alkyl, conflicts_with = "compat")]
    convention: crate::program::ConventionArg,
    /// The stack to declare, in bytes, instead of the one computed from
    /// the code (its deepest r10-relative access and chain of local
    /// calls); at most 512.
    #[arg(long, value_name = "BYTES")]
    stack: Option<u32>,
    /// Print the sizes of .text, the container and the container
    /// heatshrink-compressed (window 8, lookahead 4).
    #[arg(long)]
    stats: bool,
    /// Print what was written as one JSON object (output, bytes, entries,
    /// convention; with --stats the sizes).
    #[arg(long)]
    json: bool,
}

pub fn pack_command(args: &PackArgs) -> Result<()> {
    let elf = std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let options = PackOptions {
        version: args.app_version,
        compat: args.compat,
        convention: args.convention.into(),
        stack_size: args.stack,
    };
    let packed = pack(&elf, &options).map_err(|e| anyhow!("{}: {e}", args.file.display()))?;
    let bytes = packed.to_bytes()?;
    // The device's checks, before anything is written.
    Script::load(&bytes, &ALL_HELPERS).map_err(|e| anyhow!("packed container does not load: {e}"))?;
    let output = args.output.clone().unwrap_or_else(|| args.file.with_extension("rbf"));
    std::fs::write(&output, &bytes).with_context(|| format!("writing {}", output.display()))?;
    let names: Vec<&str> = packed.entries.iter().map(|(n, _)| n.as_str()).collect();
    let stats = match args.stats {
        true => Some(measure(&bytes, packed.text.len()).map_err(|e| anyhow!("heatshrink: {e:?}"))?),
        false => None,
    };
    if args.json {
        let mut doc = serde_json::json!({
            "output": output.display().to_string(),
            "bytes": bytes.len(),
            "entries": names,
            "convention": format!("{:?}", packed.convention),
        });
        if let Some(s) = stats {
            doc["stats"] = serde_json::json!({ "text": s.text, "container": s.container, "heatshrink": s.compressed });
        }
        println!("{doc}");
        return Ok(());
    }
    eprintln!("wrote {} ({} bytes; entry points: {})", output.display(), bytes.len(), names.join(", "));
    if let Some(s) = stats {
        println!("text {} B, container {} B, heatshrink(8,4) {} B", s.text, s.container, s.compressed);
    }
    Ok(())
}

/// Verifies `loaded` against the helpers the host implements; checks
/// `entry` exists when given.
pub fn verify(loaded: &Loaded, entry: Option<&str>) -> Result<()> {
    match loaded {
        Loaded::Code(code) => {
            if entry.is_some() {
                bail!("--entry needs a container or an object file");
            }
            alkyl_vm::verify(code, &ALL_HELPERS).map_err(|e| anyhow!("{}", describe_verify_error(code, &e)))?;
        }
        Loaded::Container(bytes) => {
            let script = load_script(bytes)?;
            if let Some(name) = entry {
                script.entry(name.as_bytes()).ok_or_else(|| anyhow!("no entry point `{name}`"))?;
            }
        }
    }
    Ok(())
}
