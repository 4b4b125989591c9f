//! Chain state for a device that asks (docs/aryl.md, "Device → chain:
//! requests"): the contract's view functions from the artifact's ABI, the
//! call data of a request and the device input of the answer.
//!
//! A request's arguments are 8-byte slots, so a callable function takes
//! static words only (integers, `bool`, `address`, `bytesN`): an integer
//! gets the slot's value (sign-extended for `intN`), a `bytesN` its first
//! `min(N, 8)` bytes in memory order, an `address` its low 8 bytes. Its
//! results may be any ABI type; [`answer_input`] lays them out for the
//! device's entry (the layout is documented there and in docs/aryl.md).

use alkyl_translator::ir::call_input;
use alloy::dyn_abi::{DynSolValue, FunctionExt};
use alloy::json_abi::{Function, JsonAbi, StateMutability};

/// Why a request gets no answer (dropped and recorded: `aryl status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The reporting app is not the contract's.
    OtherApp { app: String, contract_app: String },
    /// No view function of that name with word arguments in the ABI.
    NoFunction(String),
    /// No entry of that name in the device code.
    NoEntry(String),
    /// The request's argument count is not the function's.
    Arguments { function: String, expected: usize, got: usize },
    /// The call reverted.
    Reverted(String),
    /// The node's answer does not decode as the function's outputs.
    Undecodable(String),
    /// An integer result does not fit its 64-bit slot (result number, value).
    Overflow { result: usize, value: String },
    /// The signed call carrying the answer would exceed the device's limit
    /// on a signed command (`max_command_bytes`).
    TooLarge { bytes: usize, limit: usize },
}

impl core::fmt::Display for Refusal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Refusal::OtherApp { app, contract_app } => write!(f, "app {app} is not the contract's {contract_app}"),
            Refusal::NoFunction(name) => write!(f, "no view function {name}() with word arguments"),
            Refusal::NoEntry(name) => write!(f, "no entry {name} in the device code"),
            Refusal::Arguments { function, expected, got } => {
                write!(f, "{function} takes {expected} arguments, not {got}")
            }
            Refusal::Reverted(e) => write!(f, "reverted: {e}"),
            Refusal::Undecodable(e) => write!(f, "undecodable result: {e}"),
            Refusal::Overflow { result, value } => {
                write!(f, "result {result} ({value}) does not fit a 64-bit slot")
            }
            Refusal::TooLarge { bytes, limit } => write!(
                f,
                "too large: the answer's signed call is {bytes} bytes, the device takes {limit} (max_command_bytes)"
            ),
        }
    }
}

impl std::error::Error for Refusal {}

fn is_word(ty: &str) -> bool {
    let digits = |s: &str| s.is_empty() || s.bytes().all(|b| b.is_ascii_digit());
    ty == "bool"
        || ty == "address"
        || ty.strip_prefix("uint").is_some_and(digits)
        || ty.strip_prefix("int").is_some_and(digits)
        || ty.strip_prefix("bytes").is_some_and(|n| !n.is_empty() && digits(n))
}

/// A function of the contract: a view a device may ask for, or one a
/// script sends a transaction to.
pub struct ViewFn {
    pub name: String,
    function: Function,
}

/// The callable view functions of the artifact's ABI: view or pure, word
/// arguments, any results.
pub fn views(abi: &serde_json::Value) -> crate::Result<Vec<ViewFn>> {
    functions(abi, true)
}

/// The functions of the artifact's ABI a script may send a transaction to
/// (`contract.F(args)`): not view or pure, word arguments.
pub fn transactable(abi: &serde_json::Value) -> crate::Result<Vec<ViewFn>> {
    functions(abi, false)
}

fn functions(abi: &serde_json::Value, view: bool) -> crate::Result<Vec<ViewFn>> {
    let abi: JsonAbi = serde_json::from_value(abi.clone()).map_err(|e| format!("the artifact's ABI: {e}"))?;
    Ok(abi
        .functions()
        .filter(|f| matches!(f.state_mutability, StateMutability::View | StateMutability::Pure) == view)
        .filter(|f| f.inputs.iter().all(|p| is_word(&p.ty)))
        .map(|f| ViewFn { name: f.name.clone(), function: f.clone() })
        .collect())
}

impl ViewFn {
    /// The call data for `args` (one 8-byte slot per input).
    pub fn call_data(&self, args: &[u64]) -> Result<Vec<u8>, Refusal> {
        let inputs = &self.function.inputs;
        if args.len() != inputs.len() {
            return Err(Refusal::Arguments { function: self.name.clone(), expected: inputs.len(), got: args.len() });
        }
        let mut data = self.function.selector().to_vec();
        for (p, &a) in inputs.iter().zip(args) {
            let mut w = [0u8; 32];
            match p.ty.strip_prefix("bytes") {
                Some(n) => {
                    let n = n.parse::<usize>().unwrap_or(32).min(8);
                    w[..n].copy_from_slice(&a.to_le_bytes()[..n]);
                }
                None => {
                    if p.ty.starts_with("int") && (a as i64) < 0 {
                        w = [0xff; 32];
                    }
                    w[24..].copy_from_slice(&a.to_be_bytes());
                }
            }
            data.extend_from_slice(&w);
        }
        Ok(data)
    }

    /// The decoded results of the call's return data.
    pub fn results(&self, ret: &[u8]) -> Result<Vec<DynSolValue>, Refusal> {
        self.function.abi_decode_output(ret).map_err(|e| Refusal::Undecodable(format!("{}: {e}", self.name)))
    }
}

/// How many head slots `v` takes (a dynamic array: one, its locator).
fn slots(v: &DynSolValue) -> usize {
    match v {
        DynSolValue::Tuple(vs) | DynSolValue::FixedArray(vs) => vs.iter().map(slots).sum(),
        _ => 1,
    }
}

/// The slots of an answer before its tail: the results', then the block's.
pub fn head_slots(values: &[DynSolValue]) -> usize {
    values.iter().map(slots).sum::<usize>() + 1
}

/// A slot pointing into the input: offset (low 32 bits), length or element
/// count (high 32 bits).
fn locator(offset: usize, len: usize) -> u64 {
    offset as u64 | (len as u64) << 32
}

struct Layout {
    /// Input offset of the tail.
    base: usize,
    tail: Vec<u8>,
}

impl Layout {
    /// Appends `bytes` to the tail (8-aligned); its locator.
    fn bytes(&mut self, bytes: &[u8]) -> u64 {
        self.tail.resize(self.tail.len().next_multiple_of(8), 0);
        let at = self.base + self.tail.len();
        self.tail.extend_from_slice(bytes);
        locator(at, bytes.len())
    }

    /// Puts `v`'s slots in `out` and what they point to in the tail.
    fn put(&mut self, v: &DynSolValue, out: &mut Vec<u64>) -> Result<(), String> {
        match v {
            DynSolValue::Bool(b) => out.push(*b as u64),
            DynSolValue::Uint(u, _) => out.push(u64::try_from(*u).map_err(|_| u.to_string())?),
            DynSolValue::Int(i, _) => out.push(i64::try_from(*i).map_err(|_| i.to_string())? as u64),
            DynSolValue::FixedBytes(w, n) if *n <= 8 => {
                let mut s = [0u8; 8];
                s[..*n].copy_from_slice(&w[..*n]);
                out.push(u64::from_le_bytes(s));
            }
            DynSolValue::FixedBytes(w, n) => out.push(self.bytes(&w[..*n])),
            DynSolValue::Address(a) => out.push(self.bytes(a.as_slice())),
            DynSolValue::Function(f) => out.push(self.bytes(f.as_slice())),
            DynSolValue::Bytes(b) => out.push(self.bytes(b)),
            DynSolValue::String(s) => out.push(self.bytes(s.as_bytes())),
            DynSolValue::Tuple(vs) | DynSolValue::FixedArray(vs) => {
                for v in vs {
                    self.put(v, out)?;
                }
            }
            DynSolValue::Array(vs) => {
                // The elements' slots in the tail (8-aligned), then what
                // they point to.
                self.tail.resize(self.tail.len().next_multiple_of(8), 0);
                let start = self.tail.len();
                let n: usize = vs.iter().map(slots).sum();
                self.tail.resize(start + 8 * n, 0);
                let mut inner = Vec::with_capacity(n);
                for v in vs {
                    self.put(v, &mut inner)?;
                }
                for (i, s) in inner.iter().enumerate() {
                    self.tail[start + 8 * i..start + 8 * i + 8].copy_from_slice(&s.to_le_bytes());
                }
                out.push(locator(self.base + start, vs.len()));
            }
            #[allow(unreachable_patterns)]
            _ => return Err(format!("{v:?}")),
        }
        Ok(())
    }
}

/// The input of the entry that answers a request, from the function's
/// results and the block they were read at: the results' slots (8 bytes,
/// little-endian, as `ARG n` reads them), then the block's, then the tail.
///
/// Each result gives slots in order: an integer or `bool` one (its value;
/// an integer that does not fit 64 bits, signed for `intN`, is refused), a
/// `bytesN` with N ≤ 8 one (its bytes in memory order); a tuple (a struct,
/// or several results) or a fixed array the slots of its members in order;
/// `bytes`, `string`, `address`, `bytesN` with N > 8 and `function` a
/// locator of their bytes in the tail; a dynamic array `T[]` a locator of
/// its elements' slots (laid out the same way) in the tail. A locator is
/// the input offset (low 32 bits) and the length in bytes, or the element
/// count (high 32 bits); the tail's items start 8-aligned.
pub fn answer_input(values: &[DynSolValue], block: u64) -> Result<Vec<u8>, Refusal> {
    let head = head_slots(values);
    let mut layout = Layout { base: head * 8, tail: Vec::new() };
    let mut out = Vec::with_capacity(head);
    for (i, v) in values.iter().enumerate() {
        layout.put(v, &mut out).map_err(|value| Refusal::Overflow { result: i, value })?;
    }
    out.push(block);
    Ok(call_input(&out, &layout.tail))
}

/// Checks that the signed invocation of `app`'s `entry` with `input_len`
/// bytes of input fits the device's `max_command_bytes`.
pub fn fits(app: &str, entry: &str, input_len: usize, max_command_bytes: usize) -> Result<(), Refusal> {
    let bytes = alkyl_protocol::command::CommandRepr::invoke(app, Some(entry), Vec::new(), 0).buffer_len() + input_len;
    if bytes > max_command_bytes {
        return Err(Refusal::TooLarge { bytes, limit: max_command_bytes });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::dyn_abi::DynSolType;
    use alloy::primitives::{keccak256, Address, I256, U256};

    fn slot(input: &[u8], n: usize) -> u64 {
        u64::from_le_bytes(input[8 * n..8 * n + 8].try_into().unwrap())
    }

    fn located(input: &[u8], loc: u64) -> &[u8] {
        let (at, len) = ((loc & 0xffff_ffff) as usize, (loc >> 32) as usize);
        assert_eq!(at % 8, 0, "8-aligned");
        &input[at..at + len]
    }

    #[test]
    fn views_encode_decode() {
        let abi = serde_json::json!([
            {"type": "function", "name": "invalidAttempts", "stateMutability": "view", "inputs": [],
             "outputs": [{"name": "", "type": "uint32"}]},
            {"type": "function", "name": "lastReport", "stateMutability": "view",
             "inputs": [{"name": "", "type": "bytes8"}], "outputs": [{"name": "", "type": "uint64"}]},
            {"type": "function", "name": "offset", "stateMutability": "pure",
             "inputs": [{"name": "", "type": "int64"}], "outputs": [{"name": "", "type": "int64"}]},
            {"type": "function", "name": "DEVICE_CODE", "stateMutability": "view", "inputs": [],
             "outputs": [{"name": "", "type": "bytes"}]},
            {"type": "function", "name": "named", "stateMutability": "view",
             "inputs": [{"name": "", "type": "string"}], "outputs": []},
            {"type": "function", "name": "pay", "stateMutability": "payable", "inputs": [], "outputs": []},
            {"type": "event", "name": "LockOutEvent", "inputs": [], "anonymous": false}
        ]);
        let v = views(&abi).unwrap();
        let names: Vec<&str> = v.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["DEVICE_CODE", "invalidAttempts", "lastReport", "offset"], "by name");
        let f = |n: &str| v.iter().find(|f| f.name == n).unwrap();
        assert_eq!(f("invalidAttempts").call_data(&[]).unwrap(), keccak256(b"invalidAttempts()")[..4].to_vec());
        assert_eq!(
            f("invalidAttempts").call_data(&[1]),
            Err(Refusal::Arguments { function: "invalidAttempts".into(), expected: 0, got: 1 })
        );
        let d = f("lastReport").call_data(&[u64::from_le_bytes(*b"abcdefgh")]).unwrap();
        assert_eq!(&d[4..12], b"abcdefgh");
        assert_eq!(d[12..].iter().filter(|&&b| b != 0).count(), 0);
        // A negative intN argument is sign-extended.
        let d = f("offset").call_data(&[-2i64 as u64]).unwrap();
        assert_eq!(I256::try_from_be_slice(&d[4..]).unwrap(), I256::try_from(-2).unwrap());
        let mut ret = [0u8; 32];
        ret[31] = 7;
        assert_eq!(f("invalidAttempts").results(&ret).unwrap(), [DynSolValue::Uint(U256::from(7), 32)]);
        assert!(matches!(f("invalidAttempts").results(&ret[..31]), Err(Refusal::Undecodable(_))));
        // Word results: one slot each, then the block (the lock's Attempts(count, block)).
        let input = answer_input(&f("invalidAttempts").results(&ret).unwrap(), 99).unwrap();
        assert_eq!(input, call_input(&[7, 99], &[]));
        // bytes: a locator of the bytes after the block's slot.
        let code = DynSolValue::Bytes(b"ALKIR module".to_vec()).abi_encode_params();
        let input = answer_input(&f("DEVICE_CODE").results(&code).unwrap(), 5).unwrap();
        assert_eq!((located(&input, slot(&input, 0)), slot(&input, 1)), (&b"ALKIR module"[..], 5));
        assert_eq!(slot(&input, 0) & 0xffff_ffff, 16);
    }

    #[test]
    fn any_result_laid_out_for_the_device() {
        // (Terms(uint256 rent, uint64 lockout, uint32 maxInvalid) t, string notice, address a,
        //  bytes32 h, bytes4 tag, int16 delta, bool on, uint16[] list, (string, uint8)[] items)
        let ty: DynSolType =
            "((uint256,uint64,uint32),string,address,bytes32,bytes4,int16,bool,uint16[],(string,uint8)[])"
                .parse()
                .unwrap();
        let a = Address::repeat_byte(0xab);
        let h = keccak256(b"x");
        let mut tag = alloy::primitives::B256::ZERO;
        tag[..4].copy_from_slice(b"tag1");
        let value = DynSolValue::Tuple(vec![
            DynSolValue::Tuple(vec![
                DynSolValue::Uint(U256::from(1000), 256),
                DynSolValue::Uint(U256::from(6), 64),
                DynSolValue::Uint(U256::from(3), 32),
            ]),
            DynSolValue::String("Quiet after 22:00".into()),
            DynSolValue::Address(a),
            DynSolValue::FixedBytes(h, 32),
            DynSolValue::FixedBytes(tag, 4),
            DynSolValue::Int(I256::try_from(-3).unwrap(), 16),
            DynSolValue::Bool(true),
            DynSolValue::Array(vec![DynSolValue::Uint(U256::from(10), 16), DynSolValue::Uint(U256::from(20), 16)]),
            DynSolValue::Array(vec![
                DynSolValue::Tuple(vec![DynSolValue::String("one".into()), DynSolValue::Uint(U256::from(1), 8)]),
                DynSolValue::Tuple(vec![DynSolValue::String("two".into()), DynSolValue::Uint(U256::from(2), 8)]),
            ]),
        ]);
        // What the node returns, decoded as the function's outputs would be.
        let ret = value.abi_encode_params();
        let DynSolValue::Tuple(results) = ty.abi_decode_params(&ret).unwrap() else { panic!() };
        let input = answer_input(&results, 77).unwrap();
        // 3 (the struct) + 8 slots + the block.
        assert_eq!((0..3).map(|n| slot(&input, n)).collect::<Vec<_>>(), [1000, 6, 3], "a struct: its members' slots");
        assert_eq!(located(&input, slot(&input, 3)), b"Quiet after 22:00");
        assert_eq!(slot(&input, 3) & 0xffff_ffff, 12 * 8, "the tail starts after the block's slot");
        assert_eq!(located(&input, slot(&input, 4)), a.as_slice());
        assert_eq!(located(&input, slot(&input, 5)), h.as_slice());
        assert_eq!(slot(&input, 6), u64::from_le_bytes(*b"tag1\0\0\0\0"), "bytes4: in its slot");
        assert_eq!(slot(&input, 7) as i64, -3);
        assert_eq!(slot(&input, 8), 1);
        let list = slot(&input, 9);
        assert_eq!(list >> 32, 2, "element count");
        let at = (list & 0xffff_ffff) as usize;
        assert_eq!((slot(&input[at..], 0), slot(&input[at..], 1)), (10, 20));
        let items = slot(&input, 10);
        assert_eq!(items >> 32, 2);
        let at = (items & 0xffff_ffff) as usize;
        let e = &input[at..];
        assert_eq!((located(&input, slot(e, 0)), slot(e, 1)), (&b"one"[..], 1));
        assert_eq!((located(&input, slot(e, 2)), slot(e, 3)), (&b"two"[..], 2));
        assert_eq!(slot(&input, 11), 77, "the block");
    }

    #[test]
    fn refusals() {
        let big = [DynSolValue::Uint(U256::from(u64::MAX) + U256::from(1), 256)];
        assert!(matches!(answer_input(&big, 1), Err(Refusal::Overflow { result: 0, .. })));
        let low = [DynSolValue::Int(I256::MIN, 256)];
        assert!(matches!(answer_input(&low, 1), Err(Refusal::Overflow { .. })));
        let long = [DynSolValue::String("x".repeat(2000))];
        let input = answer_input(&long, 1).unwrap();
        let r = fits("lock", "Notice", input.len(), 1024);
        let Err(Refusal::TooLarge { bytes, limit }) = r else { panic!("{r:?}") };
        assert_eq!((bytes, limit), (48 + 4 + 6 + 16 + 2000 + 64, 1024));
        assert!(r.unwrap_err().to_string().contains("too large"));
        let input = answer_input(&[DynSolValue::String("x".repeat(800))], 1).unwrap();
        assert!(fits("lock", "Notice", input.len(), 1024).is_ok());
    }
}
