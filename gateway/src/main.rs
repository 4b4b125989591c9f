//! `aryl`: the Aryl gateway (docs/aryl.md).
//!
//! ```text
//! aryl build --solidity F.sol --contract NAME --device DEV.air|.alkyl --app NAME
//!            --script S.alkyl --hpke-public HEX -o OUT.json
//! aryl inspect --rpc WS ADDRESS
//! aryl hpke-keygen OUT          (OUT.key: secret, prints the public half)
//! aryl deploy --rpc WS --eth-key FILE --artifact OUT.json --args GATEWAY,RENT,LOCKOUT_SECONDS
//! aryl pay --rpc WS --eth-key FILE --contract ADDR --mins N --value WEI PIN
//! aryl keystore (--eth-key HEXFILE | --random) --password-file F -o OUT.json
//!                               (an encrypted JSON keystore; prints the address)
//! aryl run CONFIG.toml
//! aryl status CONFIG.toml
//! ```

mod contract;
mod gateway;
mod log;
mod pin;
mod reports;
mod requests;
mod script;
mod state;

use std::path::PathBuf;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol;
use alloy::sol_types::{SolCall, SolValue};

pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

sol! {
    function pay(bytes encryptPin, uint32 mins) external payable;
    function report(bytes8 device, uint64 sequence, bytes payload) external;
}

struct Args(Vec<String>);

impl Args {
    fn opt(&mut self, name: &str) -> Option<String> {
        let i = self.0.iter().position(|a| a == name)?;
        let v = self.0.get(i + 1).cloned();
        self.0.drain(i..(i + 2).min(self.0.len()));
        v
    }
    fn req(&mut self, name: &str) -> Result<String> {
        self.opt(name).ok_or_else(|| format!("missing {name}").into())
    }
    fn pos(&mut self) -> Result<String> {
        if self.0.is_empty() {
            return Err("missing an argument".into());
        }
        Ok(self.0.remove(0))
    }
}

/// A provider for `ws://` or `http://` endpoints.
async fn connect(rpc: &str) -> Result<impl Provider> {
    Ok(ProviderBuilder::new().connect(rpc).await?)
}

/// A hex secret or a keystore (password: `ARYL_ETH_PASSWORD`).
fn eth_signer(path: &str) -> Result<PrivateKeySigner> {
    gateway::eth_signer(std::path::Path::new(path), None)
}

async fn real_main() -> Result<()> {
    let mut argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.is_empty() {
        return Err("usage: aryl build|inspect|hpke-keygen|keystore|deploy|pay|run|status ... (docs/aryl.md)".into());
    }
    let cmd = argv.remove(0);
    let mut a = Args(argv);
    match cmd.as_str() {
        "build" => {
            let hpke = hex::decode(a.req("--hpke-public")?.trim_start_matches("0x"))?;
            contract::build(&contract::BuildArgs {
                solidity: a.req("--solidity")?.into(),
                contract: a.req("--contract")?,
                device: a.req("--device")?.into(),
                app: a.req("--app")?,
                script: a.req("--script")?.into(),
                hpke_public: hpke,
                out: a.req("-o")?.into(),
            })
        }
        "inspect" => {
            let rpc = a.req("--rpc")?;
            let at: Address = a.pos()?.parse()?;
            contract::inspect(&connect(&rpc).await?, at).await
        }
        "hpke-keygen" => {
            let out = PathBuf::from(a.pos()?);
            let (sk, pk) = pin::keygen();
            use std::os::unix::fs::OpenOptionsExt;
            let mut f =
                std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(out.with_extension("key"))?;
            std::io::Write::write_all(&mut f, format!("{}\n", hex::encode(sk)).as_bytes())?;
            println!("{}", hex::encode(pk));
            Ok(())
        }
        "keystore" => {
            let password_file = a.req("--password-file")?;
            let password = std::fs::read_to_string(&password_file).map_err(|e| format!("{password_file}: {e}"))?;
            let password = password.trim_end_matches(['\n', '\r']);
            if password.is_empty() {
                return Err(format!("{password_file}: an empty password").into());
            }
            let secret = match a.opt("--eth-key") {
                Some(path) => gateway::read_hex32(std::path::Path::new(&path))?,
                None if a.0.iter().any(|x| x == "--random") => rand::random(),
                None => return Err("--eth-key HEXFILE or --random".into()),
            };
            let out = PathBuf::from(a.req("-o")?);
            if out.exists() {
                return Err(format!("{}: exists", out.display()).into());
            }
            let dir = out.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
            let name = out.file_name().and_then(|n| n.to_str()).ok_or("-o: a file name")?;
            let (signer, _) =
                PrivateKeySigner::encrypt_keystore(dir, &mut rand08::rngs::OsRng, secret, password, Some(name))?;
            println!("{}", signer.address());
            Ok(())
        }
        "deploy" => {
            let rpc = a.req("--rpc")?;
            let signer = eth_signer(&a.req("--eth-key")?)?;
            let art: serde_json::Value = serde_json::from_slice(&std::fs::read(a.req("--artifact")?)?)?;
            let args = a.req("--args")?;
            let parts: Vec<&str> = args.split(',').collect();
            let [gw, rent, lockout] = parts[..] else {
                return Err("--args GATEWAY,RENT_PER_MINUTE,LOCKOUT_SECONDS".into());
            };
            let gw: Address = gw.parse()?;
            let rent: U256 = rent.parse()?;
            let lockout: u64 = lockout.parse()?;
            let mut code = hex::decode(art["bytecode"].as_str().unwrap_or("").trim_start_matches("0x"))?;
            code.extend_from_slice(&(gw, rent, lockout).abi_encode_params());
            let p = ProviderBuilder::new().wallet(signer).connect(&rpc).await?;
            let tx = TransactionRequest::default().with_deploy_code(Bytes::from(code));
            let receipt = p.send_transaction(tx).await?.get_receipt().await?;
            println!("{}", receipt.contract_address.ok_or("no contract address")?);
            Ok(())
        }
        "pay" => {
            let rpc = a.req("--rpc")?;
            let signer = eth_signer(&a.req("--eth-key")?)?;
            let at: Address = a.req("--contract")?.parse()?;
            let mins: u32 = a.req("--mins")?.parse()?;
            let value: U256 = a.req("--value")?.parse()?;
            // For tests: seal to this AAD's mins instead (a wrong AAD).
            let aad_mins: u32 = a.opt("--aad-mins").map(|m| m.parse()).transpose()?.unwrap_or(mins);
            let pin_text = a.pos()?;
            let tenant = signer.address();
            let p = ProviderBuilder::new().wallet(signer).connect(&rpc).await?;
            let chain_id = p.get_chain_id().await?;
            let public = contract::read(&p, at).await?.hpke_public;
            let mut t = [0u8; 32];
            t[12..].copy_from_slice(tenant.as_slice());
            let mins_word: [u8; 32] = U256::from(aad_mins).to_be_bytes();
            let aad = pin::aad(chain_id, &at.0 .0, &[t], &[mins_word]);
            let blob = pin::seal(&public, &aad, pin_text.as_bytes())?;
            let data = payCall { encryptPin: blob.into(), mins }.abi_encode();
            let tx = TransactionRequest::default().to(at).value(value).input(Bytes::from(data).into());
            let receipt = p.send_transaction(tx).await?.get_receipt().await?;
            println!(
                "paid: tx {} block {} (PIN sealed to the gateway, {} minutes)",
                receipt.transaction_hash,
                receipt.block_number.unwrap_or(0),
                mins
            );
            Ok(())
        }
        "run" => {
            let cfg = gateway::Config::load(std::path::Path::new(&a.pos()?))?;
            log::set_json(cfg.log_format == gateway::LogFormat::Json);
            gateway::Gateway::run(cfg).await
        }
        "status" => {
            let cfg = gateway::Config::load(std::path::Path::new(&a.pos()?))?;
            let s = state::Store::new(&cfg.state_dir)?.load()?.ok_or("no state yet")?;
            let head = match connect(&cfg.rpc).await {
                Ok(p) => p.get_block_number().await.ok(),
                Err(_) => None,
            };
            println!("chain {} contract {}", s.chain_id, s.contract);
            match head {
                Some(h) => println!(
                    "head {h} cursor {} lag {} (confirmations {})",
                    s.cursor,
                    h.saturating_sub(s.cursor),
                    cfg.confirmations
                ),
                None => println!("head ? (RPC unreachable) cursor {}", s.cursor),
            }
            println!(
                "events handled {} refused {} reorgs {} upload version {}",
                s.journal.len(),
                s.refused,
                s.reorgs,
                s.version
            );
            println!(
                "transactions relayed {} (reports and the script's) pending {} fee bumps {} requests answered {} pending {}",
                s.relayed,
                s.txs.len(),
                s.bumps,
                s.answered,
                s.requests.len()
            );
            for t in &s.txs {
                println!(
                    "pending tx {}: nonce {} hash {} (replaced {}) max fee {} wei",
                    t.id,
                    t.nonce.map_or("-".into(), |n| n.to_string()),
                    t.hash.as_deref().unwrap_or("-"),
                    t.replaced.len(),
                    t.max_fee
                );
            }
            for (name, d) in &s.devices {
                println!(
                    "device {name}: queue {} acked {} installed {} last ack {} last error {}",
                    d.queue.len(),
                    d.acked,
                    if d.installed.is_empty() { "-" } else { &d.installed[..10] },
                    d.last_ack.as_deref().unwrap_or("-"),
                    d.last_error.as_deref().unwrap_or("-")
                );
            }
            for m in &s.dropped {
                println!("dropped: {m}");
            }
            Ok(())
        }
        _ => Err(format!("unknown command {cmd}").into()),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if let Err(e) = real_main().await {
        log::emit("error", serde_json::json!({"error": e.to_string()}), &format!("error: {e}"));
        std::process::exit(1);
    }
}
