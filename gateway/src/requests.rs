//! Chain state for a device that asks (docs/aryl.md, "Device → chain:
//! requests"): the contract's view functions from the artifact's ABI, the
//! call data of a request and the device-sized words of the answer.
//!
//! Only functions whose inputs and outputs are all static words are
//! callable (integers, `bool`, `address`, `bytesN`): a device's argument is
//! an 8-byte slot, and so is each result. An integer, `bool` or `address`
//! word gives (and takes) its low 64 bits; a `bytesN` word its first
//! `min(N, 8)` bytes in memory order (little-endian in the slot).

use alloy::primitives::keccak256;

use crate::Result;

/// A view (or pure) function of the contract.
pub struct ViewFn {
    pub name: String,
    pub selector: [u8; 4],
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
}

fn is_word(ty: &str) -> bool {
    let digits = |s: &str| s.is_empty() || s.bytes().all(|b| b.is_ascii_digit());
    ty == "bool"
        || ty == "address"
        || ty.strip_prefix("uint").is_some_and(digits)
        || ty.strip_prefix("int").is_some_and(digits)
        || ty.strip_prefix("bytes").is_some_and(|n| !n.is_empty() && digits(n))
}

/// The callable view functions of the artifact's ABI.
pub fn views(abi: &serde_json::Value) -> Vec<ViewFn> {
    let types = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().map(|i| i["type"].as_str().unwrap_or("").to_string()).collect())
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for f in abi.as_array().into_iter().flatten() {
        let view = matches!(f["stateMutability"].as_str(), Some("view" | "pure"));
        if f["type"] != "function" || !view {
            continue;
        }
        let (inputs, outputs) = (types(&f["inputs"]), types(&f["outputs"]));
        if !inputs.iter().chain(&outputs).all(|t| is_word(t)) {
            continue;
        }
        let name = f["name"].as_str().unwrap_or("").to_string();
        let sig = format!("{name}({})", inputs.join(","));
        let mut selector = [0; 4];
        selector.copy_from_slice(&keccak256(sig.as_bytes())[..4]);
        out.push(ViewFn { name, selector, inputs, outputs });
    }
    out
}

impl ViewFn {
    /// The call data for `args` (one per input).
    pub fn call_data(&self, args: &[u64]) -> Result<Vec<u8>> {
        if args.len() != self.inputs.len() {
            return Err(format!("{} takes {} arguments, not {}", self.name, self.inputs.len(), args.len()).into());
        }
        let mut data = self.selector.to_vec();
        for (ty, a) in self.inputs.iter().zip(args) {
            let mut w = [0u8; 32];
            match ty.strip_prefix("bytes") {
                Some(n) => {
                    let n = n.parse::<usize>().unwrap_or(32).min(8);
                    w[..n].copy_from_slice(&a.to_le_bytes()[..n]);
                }
                None => w[24..].copy_from_slice(&a.to_be_bytes()),
            }
            data.extend_from_slice(&w);
        }
        Ok(data)
    }

    /// The results as 8-byte slots.
    pub fn results(&self, ret: &[u8]) -> Result<Vec<u64>> {
        if ret.len() < 32 * self.outputs.len() {
            return Err(format!("{}: {} bytes returned", self.name, ret.len()).into());
        }
        let mut out = Vec::new();
        for (ty, w) in self.outputs.iter().zip(ret.chunks_exact(32)) {
            let slot: [u8; 8] = if ty.starts_with("bytes") { w[..8].try_into()? } else { w[24..].try_into()? };
            out.push(if ty.starts_with("bytes") { u64::from_le_bytes(slot) } else { u64::from_be_bytes(slot) });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_encode_decode() {
        let abi = serde_json::json!([
            {"type": "function", "name": "invalidAttempts", "stateMutability": "view", "inputs": [],
             "outputs": [{"type": "uint32"}]},
            {"type": "function", "name": "lastReport", "stateMutability": "view", "inputs": [{"type": "bytes8"}],
             "outputs": [{"type": "uint64"}]},
            {"type": "function", "name": "DEVICE_CODE", "stateMutability": "view", "inputs": [],
             "outputs": [{"type": "bytes"}]},
            {"type": "function", "name": "pay", "stateMutability": "payable", "inputs": [], "outputs": []},
            {"type": "event", "name": "LockOutEvent", "inputs": []}
        ]);
        let v = views(&abi);
        assert_eq!(v.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["invalidAttempts", "lastReport"]);
        assert_eq!(v[0].call_data(&[]).unwrap(), keccak256(b"invalidAttempts()")[..4].to_vec());
        assert!(v[0].call_data(&[1]).is_err());
        let d = v[1].call_data(&[u64::from_le_bytes(*b"abcdefgh")]).unwrap();
        assert_eq!(&d[4..12], b"abcdefgh");
        assert_eq!(d[12..].iter().filter(|&&b| b != 0).count(), 0);
        let mut ret = [0u8; 32];
        ret[31] = 7;
        assert_eq!(v[0].results(&ret).unwrap(), [7]);
        assert!(v[0].results(&ret[..31]).is_err());
    }
}
