//! A generator of well-formed Alkyl IR programs, driven by a byte string
//! (so proptest can shrink it and libFuzzer can mutate it).
//!
//! Programs are valid by construction: the generator tracks the mode and
//! the width of every stack value, so every instruction it emits has
//! operands of the right widths; branches are structured (`if`, `if/else`,
//! counted loops) with bodies that leave the stack as they found it, so
//! every `JUMPDEST` is reached with one stack shape; loops count down from
//! at most 3, so every program ends. Within those rules the choices cover
//! every opcode, all four widths, constants and computed values, in- and
//! out-of-range memory and input accesses, storage, syscalls, early
//! `RETURN`/`STOP`/`REVERT`, and deep stacks that spill.

use std::fmt::Write;

use alkyl_translator::ir::limits::MAX_STACK_DEPTH;
use alkyl_translator::ir::width::Width;

/// Choices read from a byte string; 0 once it is exhausted.
pub struct Choices<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Choices<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Choices { bytes, at: 0 }
    }

    fn byte(&mut self) -> u8 {
        let b = self.bytes.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u32) -> u32 {
        let v = if n > 256 { u16::from_le_bytes([self.byte(), self.byte()]) as u32 } else { self.byte() as u32 };
        v % n.max(1)
    }

    pub fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        for x in b.iter_mut() {
            *x = self.byte();
        }
        u64::from_le_bytes(b)
    }

    fn exhausted(&self) -> bool {
        self.at >= self.bytes.len()
    }
}

/// A generated test case: one module, and the calls to make.
#[derive(Clone, Debug)]
pub struct Program {
    pub text: String,
    /// Calls of function `f`: arguments, and the input bytes after them
    /// (`alkyl_translator::ir::call_input`).
    pub calls: Vec<(Vec<u64>, Vec<u8>)>,
}

const WIDTHS: [Width; 4] = Width::ALL;

/// `self.emit(line)` with `line` evaluated first (it may draw choices).
macro_rules! emit {
    ($g:expr, $line:expr) => {{
        let line = $line;
        $g.emit(&line)
    }};
}

struct Gen<'c, 'b> {
    c: &'c mut Choices<'b>,
    out: String,
    stack: Vec<Width>,
    mode: Width,
    globals: Vec<Width>,
    params: Vec<Width>,
    memory: u32,
    labels: u32,
    /// Positions no instruction may overwrite or move (loop counters).
    protected: Vec<usize>,
    /// Instructions left to emit.
    budget: u32,
}

/// Generates a program from `bytes`.
pub fn generate(bytes: &[u8]) -> Program {
    let mut c = Choices::new(bytes);
    let memory = [0u32, 8, 16, 64][c.below(4) as usize];
    let globals: Vec<Width> = (0..c.below(4)).map(|_| WIDTHS[c.below(4) as usize]).collect();
    let params: Vec<Width> = (0..c.below(6)).map(|_| WIDTHS[c.below(4) as usize]).collect();
    let mut out = String::new();
    let _ = writeln!(out, ".memory {memory}");
    for (i, w) in globals.iter().enumerate() {
        let init = w.wrap(interesting(&mut c));
        let _ = writeln!(out, ".global g{i} {w} {init}");
    }
    let _ = write!(out, ".public f");
    for p in &params {
        let _ = write!(out, " {p}");
    }
    out.push('\n');
    let mut calls = Vec::new();
    for _ in 0..1 + c.below(2) {
        // Sometimes fewer arguments than parameters: `ARG` then reads the
        // bytes after them, or traps past the input's end.
        let given = if c.below(8) == 0 { c.below(params.len() as u32 + 1) as usize } else { params.len() };
        let args = params.iter().take(given).map(|_| interesting(&mut c)).collect();
        let len = if c.below(6) == 0 { c.below(8) } else { 16 };
        let input = (0..len).map(|_| c.below(256) as u8).collect();
        calls.push((args, input));
    }
    let mut g = Gen {
        c: &mut c,
        out,
        stack: Vec::new(),
        mode: Width::W32,
        globals,
        params,
        memory,
        labels: 0,
        protected: Vec::new(),
        budget: 60,
    };
    // Sometimes start deep, so values spill to the eBPF stack.
    if g.c.below(3) == 0 {
        for _ in 0..g.c.below(22) {
            if g.params.is_empty() || g.c.below(2) == 0 {
                g.push_const();
            } else {
                let n = g.c.below(g.params.len() as u32) as usize;
                emit!(g, format!("ARG {n}"));
                g.push(g.params[n]);
            }
        }
    }
    let ended = g.block(0, 0, true);
    if !ended {
        g.finish();
    }
    Program { text: g.out, calls }
}

/// Values near the edges of every width, or anything.
fn interesting(c: &mut Choices<'_>) -> u64 {
    match c.below(8) {
        0 => 0,
        1 => 1,
        2 => u64::MAX,
        3 => 0x80,
        4 => 0x7fff_ffff,
        5 => 0x8000_0000,
        6 => c.below(20) as u64,
        _ => c.u64(),
    }
}

impl Gen<'_, '_> {
    fn emit(&mut self, line: &str) {
        self.out.push_str("    ");
        self.out.push_str(line);
        self.out.push('\n');
    }

    fn label(&mut self) -> String {
        self.labels += 1;
        format!("L{}", self.labels)
    }

    fn push(&mut self, w: Width) {
        self.stack.push(w);
    }

    fn room(&self, n: usize) -> bool {
        self.stack.len() + n <= MAX_STACK_DEPTH
    }

    fn top(&self) -> Option<Width> {
        self.stack.last().copied()
    }

    /// True when the top `n` values are above `floor` and of the mode's width.
    fn operands(&self, n: usize, floor: usize) -> bool {
        self.stack.len() >= floor + n && self.stack[self.stack.len() - n..].iter().all(|&w| w == self.mode)
    }

    fn set_mode(&mut self, w: Width) {
        self.mode = w;
        emit!(self, format!("BITS{}", w.bits()));
    }

    fn push_const(&mut self) {
        let v = self.mode.wrap(interesting(self.c));
        if v == 0 && self.c.below(2) == 0 {
            self.emit("PUSH0");
        } else {
            emit!(self, format!("PUSH {v}"));
        }
        self.push(self.mode);
    }

    /// Ends the function: return something (or stop, or revert).
    fn finish(&mut self) {
        match (self.c.below(7), self.stack.is_empty()) {
            (6, _) => self.emit("INVALID"),
            (0, _) | (_, true) => self.emit("STOP"),
            (1, false) => self.emit("REVERT"),
            _ => self.emit("RETURN"),
        }
    }

    /// Emits a sequence at nesting `depth` that never pops below `floor`;
    /// returns true when it ended with a terminator (then nothing may follow
    /// but a `JUMPDEST`).
    fn block(&mut self, depth: u32, floor: usize, may_end: bool) -> bool {
        let len = 1 + self.c.below(12);
        for _ in 0..len {
            if self.budget == 0 || self.c.exhausted() {
                break;
            }
            self.budget -= 1;
            if self.op(depth, floor, may_end) {
                return true;
            }
        }
        false
    }

    /// One instruction or construct; true when it terminated the block.
    fn op(&mut self, depth: u32, floor: usize, may_end: bool) -> bool {
        let m = self.mode;
        let h = self.stack.len();
        match self.c.below(30) {
            0 | 1 if self.room(1) => self.push_const(),
            2 if self.room(1) && !self.params.is_empty() => {
                let n = self.c.below(self.params.len() as u32) as usize;
                emit!(self, format!("ARG {n}"));
                self.push(self.params[n]);
            }
            3 if self.room(1) && !self.globals.is_empty() => {
                let g = self.c.below(self.globals.len() as u32) as usize;
                emit!(self, format!("GLOAD g{g}"));
                self.push(self.globals[g]);
            }
            4 if h > 0 && self.room(1) => {
                let n = 1 + self.c.below(h.min(16) as u32) as usize;
                emit!(self, format!("DUP{n}"));
                self.push(self.stack[h - n]);
            }
            5 if h > 1 => {
                let n = 1 + self.c.below((h - 1).min(16) as u32) as usize;
                let (top, other) = (h - 1, h - 1 - n);
                let movable = !self.protected.contains(&other) && !self.protected.contains(&top);
                if movable && (self.stack[top] == self.stack[other] || other >= floor) && top >= floor {
                    emit!(self, format!("SWAP{n}"));
                    self.stack.swap(top, other);
                }
            }
            6 if h > floor => {
                self.emit("POP");
                self.stack.pop();
            }
            7..=9 | 22..=27 if h >= floor + 2 && self.stack[h - 1] == self.stack[h - 2] && self.stack[h - 1] != m => {
                // Switch to the operands' width, then operate.
                let w = self.stack[h - 1];
                self.set_mode(w);
                emit!(self, ["ADD", "SUB", "MUL", "LT", "SLT", "XOR", "SHL", "SAR"][self.c.below(8) as usize]);
                self.stack.pop();
            }
            7..=9 | 22..=27 if self.operands(2, floor) => {
                const OPS: [&str; 18] = [
                    "ADD", "MUL", "SUB", "DIV", "SDIV", "MOD", "SMOD", "LT", "GT", "SLT", "SGT", "EQ", "AND", "OR",
                    "XOR", "SHL", "SHR", "SAR",
                ];
                emit!(self, OPS[self.c.below(OPS.len() as u32) as usize]);
                self.stack.pop();
            }
            22..=27 if self.operands(1, floor) && self.room(1) => {
                // An operation with a constant, on either side.
                self.push_const();
                if self.c.below(2) == 0 {
                    self.emit("SWAP1");
                }
                emit!(
                    self,
                    ["ADD", "SUB", "MUL", "DIV", "MOD", "SDIV", "SMOD", "AND", "SHL", "SHR", "SAR", "LT", "SGT", "EQ"]
                        [self.c.below(14) as usize]
                );
                self.stack.pop();
            }
            10 if self.operands(1, floor) => {
                emit!(self, if self.c.below(2) == 0 { "NOT" } else { "ISZERO" });
            }
            11 if h > floor => {
                let from = self.stack[h - 1];
                let op = match (from.cmp(&m), self.c.below(2)) {
                    (core::cmp::Ordering::Less, 0) => "ZEXT",
                    (core::cmp::Ordering::Less, _) => "SEXT",
                    (core::cmp::Ordering::Greater, _) => "TRUNC",
                    (_, 0) => "SEXT",
                    _ => "TRUNC",
                };
                self.emit(op);
                self.stack[h - 1] = m;
            }
            12 => {
                let w = WIDTHS[self.c.below(4) as usize];
                self.set_mode(w);
            }
            13 if self.room(2) => self.memory_access(floor),
            14 if self.room(2) => self.input_access(),
            15 if self.room(2) => self.storage_access(floor),
            16 if h > floor && !self.globals.is_empty() => {
                let g = self.c.below(self.globals.len() as u32) as usize;
                if self.top() == Some(self.globals[g]) {
                    emit!(self, format!("GSTORE g{g}"));
                    self.stack.pop();
                }
            }
            17 if self.room(3) => self.syscall(floor),
            18 | 19 if depth < 3 && self.room(3) => return self.conditional(depth, floor, may_end),
            20 if depth < 2 && self.room(2) => self.counted_loop(depth),
            21 if may_end && self.c.below(4) == 0 => {
                self.finish();
                return true;
            }
            _ if self.room(1) => self.push_const(),
            _ => {}
        }
        false
    }

    /// An address in the mode's width: a constant, or a value masked to 0..15.
    fn address(&mut self, limit: u32) {
        if self.c.below(2) == 0 {
            // Mostly inside `limit` bytes, sometimes just past it.
            let a = if self.c.below(8) == 0 { self.c.below(limit + 9) } else { self.c.below(limit.max(1)) } as u64;
            emit!(self, format!("PUSH {}", self.mode.wrap(a)));
            self.push(self.mode);
        } else {
            self.push_const();
            let mask = if limit >= 16 { 7 } else { 1 };
            emit!(self, format!("PUSH {mask}"));
            self.emit("AND");
        }
    }

    fn memory_access(&mut self, floor: usize) {
        if self.c.below(2) == 0 {
            self.address(self.memory);
            self.emit("MLOAD");
        } else if self.operands(1, floor) {
            self.address(self.memory);
            emit!(self, if self.c.below(3) == 0 { "MSTORE8" } else { "MSTORE" });
            self.stack.pop();
            self.stack.pop();
        }
    }

    fn input_access(&mut self) {
        self.address(16);
        self.emit("INLOAD");
    }

    fn storage_access(&mut self, floor: usize) {
        let key = self.c.below(6);
        if self.c.below(2) == 0 {
            emit!(self, format!("PUSH {key}"));
            self.push(self.mode);
            self.emit("SLOAD");
        } else if self.operands(1, floor) {
            emit!(self, format!("PUSH {key}"));
            self.emit("SSTORE");
            self.stack.pop();
        }
    }

    fn syscall(&mut self, floor: usize) {
        if self.mode != Width::W32 {
            self.set_mode(Width::W32);
        }
        // Device positions and handles: none (0), the two sensors, the two
        // actuators of `SimPlatform::demo`, then nothing; and a few that
        // are out of every range.
        match self.c.below(10) {
            0 => self.emit("SYSCALL now_ms"),
            1 => {
                emit!(self, format!("PUSH {}", [0u32, 1, 2, 3, 4, 0xffff_ffff][self.c.below(6) as usize]));
                self.emit("SYSCALL saul_reg_find_nth");
            }
            2 => {
                let class = [0x44u32, 0x41, 0x99, 0x40, 0x80, 0x82, 0x144][self.c.below(7) as usize];
                emit!(self, format!("PUSH {class}"));
                self.emit("SYSCALL saul_reg_find_type");
            }
            3 if self.operands(1, floor) => {
                // handle, value: the value is the top of the stack.
                emit!(self, format!("PUSH {}", [0u32, 1, 3, 4, 9, 0x10000][self.c.below(6) as usize]));
                self.emit("SWAP1");
                self.emit("SYSCALL saul_reg_write_value");
                self.stack.pop();
            }
            4 | 5 => {
                emit!(self, format!("PUSH {}", self.c.below(6)));
                emit!(self, format!("PUSH {}", self.c.below(self.memory + 4)));
                emit!(self, if self.c.below(2) == 0 { "SYSCALL fetch_local" } else { "SYSCALL fetch_global" });
            }
            6 if self.operands(1, floor) => {
                // key, value: the value is the top of the stack.
                emit!(self, format!("PUSH {}", self.c.below(6)));
                self.emit("SWAP1");
                emit!(self, if self.c.below(2) == 0 { "SYSCALL store_global" } else { "SYSCALL store_local" });
                self.stack.pop();
            }
            7 => {
                emit!(self, format!("PUSH {}", self.c.below(6)));
                emit!(self, if self.c.below(2) == 0 { "SYSCALL delete_local" } else { "SYSCALL delete_global" });
            }
            8 => {
                emit!(self, format!("PUSH {}", self.c.below(6)));
                emit!(self, format!("PUSH {}", self.c.below(self.memory + 4)));
                self.emit("SYSCALL saul_reg_write");
            }
            _ => {
                emit!(self, format!("PUSH {}", self.c.below(6)));
                emit!(self, format!("PUSH {}", self.c.below(self.memory + 4)));
                self.emit("SYSCALL saul_reg_read");
            }
        }
        self.push(Width::W32);
    }

    /// A condition for `JUMPI`: pushes one value, usually a comparison.
    fn condition(&mut self, floor: usize) {
        let h = self.stack.len();
        match self.c.below(5) {
            0 if self.operands(2, floor) && h >= 2 => {
                self.emit("DUP2");
                self.emit("DUP2");
                self.push(self.mode);
                self.push(self.mode);
                emit!(self, ["LT", "GT", "SLT", "SGT", "EQ"][self.c.below(5) as usize]);
                self.stack.pop();
                if self.c.below(3) == 0 {
                    self.emit("ISZERO");
                }
            }
            1 if self.operands(1, floor) => {
                self.emit("DUP1");
                self.push(self.mode);
                self.emit("ISZERO");
            }
            2 if h > 0 => {
                self.emit("DUP1");
                self.push(self.stack[h - 1]);
            }
            3 => {
                self.push_const();
                self.push_const();
                emit!(self, ["LT", "SGT", "EQ"][self.c.below(3) as usize]);
                self.stack.pop();
            }
            _ => {
                self.push_const();
                self.push_const();
                self.emit("SLT");
                self.stack.pop();
                self.emit("ISZERO");
                self.emit("ISZERO");
            }
        }
    }

    /// `cond JUMPI else; then [JUMP end]; else: JUMPDEST [other]; end:`.
    fn conditional(&mut self, depth: u32, floor: usize, may_end: bool) -> bool {
        self.condition(floor);
        self.emit_jumpi_and_bodies(depth, may_end)
    }

    fn emit_jumpi_and_bodies(&mut self, depth: u32, may_end: bool) -> bool {
        let l_else = self.label();
        emit!(self, format!("JUMPI {l_else}"));
        self.stack.pop();
        let entry = self.stack.clone();
        let with_else = self.c.below(2) == 0;
        let then_ended = self.body(depth, entry.len(), true);
        if !with_else {
            self.out.push_str(&format!("{l_else}:\n"));
            self.emit("JUMPDEST");
            self.stack = entry;
            return false;
        }
        let l_end = self.label();
        if !then_ended {
            emit!(self, format!("JUMP {l_end}"));
        }
        self.out.push_str(&format!("{l_else}:\n"));
        self.emit("JUMPDEST");
        self.stack = entry.clone();
        let else_ended = self.body(depth, entry.len(), may_end || !then_ended);
        if then_ended && else_ended {
            return true;
        }
        self.out.push_str(&format!("{l_end}:\n"));
        self.emit("JUMPDEST");
        self.stack = entry;
        false
    }

    /// A nested block that leaves the stack as it found it: values pushed
    /// inside are popped at its end. True when it ended with a terminator.
    fn body(&mut self, depth: u32, floor: usize, may_end: bool) -> bool {
        let entry = self.stack.clone();
        if self.block(depth + 1, floor, may_end) {
            return true;
        }
        while self.stack.len() > entry.len() {
            self.emit("POP");
            self.stack.pop();
        }
        debug_assert_eq!(self.stack, entry);
        false
    }

    /// `PUSH n; loop: JUMPDEST body; PUSH 1 SWAP1 SUB DUP1 JUMPI loop; POP`.
    fn counted_loop(&mut self, depth: u32) {
        let w = self.mode;
        let n = 1 + self.c.below(3);
        emit!(self, format!("PUSH {n}"));
        self.push(w);
        let counter = self.stack.len() - 1;
        self.protected.push(counter);
        let l = self.label();
        self.out.push_str(&format!("{l}:\n"));
        self.emit("JUMPDEST");
        let entry_mode = self.mode;
        self.body(depth, self.stack.len(), false);
        if self.mode != entry_mode || self.c.below(4) == 0 {
            self.set_mode(entry_mode);
        }
        self.emit("PUSH 1");
        self.emit("SWAP1");
        self.emit("SUB");
        self.emit("DUP1");
        emit!(self, format!("JUMPI {l}"));
        self.emit("POP");
        self.stack.pop();
        self.protected.pop();
    }
}
