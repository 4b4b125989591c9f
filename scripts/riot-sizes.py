#!/usr/bin/env python3
"""Sizes of a RIOT firmware with a Rust application crate, by origin.

    scripts/riot-sizes.py FIRMWARE.elf FIRMWARE.map [RUST_DIR_NAME] [--nm NM]

Prints the flash bytes (.text/.rodata/.data input sections, as the linker
map places them) of the C code and of the Rust staticlib (objects RIOT
unpacked into bin/<BOARD>/<RUST_DIR_NAME>/, default alkyl_riot), the Rust
staticlib's compiler_builtins apart, then the Rust code by crate: each
symbol of the ELF (`nm -C --print-size`) that lies in a Rust input section
counts for the crate its demangled path starts with (`<T as Trait>::f`
counts for T's crate; `core::fmt` apart from the rest of `core`); bytes of
Rust sections that no symbol covers (string constants, panic locations,
tables) are "(constants without symbols)".

Only the standard library; used by scripts/riot-build.sh.
"""

import bisect
import collections
import re
import subprocess
import sys

FLASH = (".vectors", ".text", ".rodata", ".data", ".ARM.exidx", ".ARM.extab")


def parse_map(path):
    """Input sections: (name, address, size, object) with size > 0."""
    out = []
    lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
    try:
        start = next(i for i, l in enumerate(lines) if l.startswith("Linker script and memory map"))
    except StopIteration:
        start = 0
    pending = None
    full = re.compile(r"^ (\S+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")
    tail = re.compile(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")
    for line in lines[start:]:
        m = full.match(line)
        if m:
            name, addr, size, obj = m.group(1), int(m.group(2), 16), int(m.group(3), 16), m.group(4)
            pending = None
        elif pending and tail.match(line):
            m = tail.match(line)
            name, addr, size, obj = pending, int(m.group(1), 16), int(m.group(2), 16), m.group(3)
            pending = None
        else:
            m = re.match(r"^ (\.\S+)$", line)
            pending = m.group(1) if m else None
            continue
        if size and not obj.startswith("load address") and not obj.startswith("*"):
            out.append((name, addr, size, obj.strip()))
    return out


PRIMITIVE = {"u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
             "f32", "f64", "bool", "char", "str", "()", ""}


def head_crate(path):
    """The first path segment of a type or function path."""
    s = path
    while True:
        s = s.lstrip("<&*([ ")
        for p in ("mut ", "const ", "dyn ", "impl "):
            if s.startswith(p):
                s = s[len(p):]
                break
        else:
            return re.split(r"::|[<> ,;()\[\]]", s, maxsplit=1)[0]


def crate_of(name):
    """The crate a demangled Rust symbol belongs to: `<T as Trait>::f`
    counts for T's crate, or Trait's when T is a primitive or a generic
    parameter; `core::fmt` apart from the rest of `core`."""
    s = name
    if s.startswith("<"):
        depth = 0
        for i, c in enumerate(s):
            depth += {"<": 1, ">": -1}.get(c, 0)
            if depth == 1 and s.startswith(" as ", i):
                own = head_crate(s[1:i])
                if own in PRIMITIVE or re.fullmatch(r"[A-Z]", own) or "::" not in s[1:i]:
                    s = s[i + 4:]
                break
    crate = head_crate(s)
    if crate in PRIMITIVE:  # inherent methods of primitives (char::escape_debug_ext)
        crate = "core"
    if crate == "core" and s.lstrip("<&*").startswith("core::fmt"):
        return "core::fmt"
    return crate or "?"


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--nm")]
    nm = "nm"
    for i, a in enumerate(sys.argv):
        if a.startswith("--nm="):
            nm = a.split("=", 1)[1]
        elif a == "--nm":
            nm = sys.argv[i + 1]
            args.remove(nm)
    elf, map_path = args[0], args[1]
    rust_dir = "/%s/" % (args[2] if len(args) > 2 else "alkyl_riot")

    sections = [s for s in parse_map(map_path) if s[0].startswith(FLASH)]
    totals = collections.Counter()
    rust = []
    for name, addr, size, obj in sections:
        if rust_dir in obj:
            kind = "rust: compiler_builtins" if "alkyl_riot-" not in obj else "rust: the staticlib's code"
            rust.append((addr, size, "alkyl_riot-" not in obj))
        else:
            kind = "C (RIOT, newlib, libgcc)"
        totals[kind] += size
    print("flash by origin (.text + .rodata + .data input sections, from the link map):")
    for k in sorted(totals):
        print("  %-40s %9d" % (k, totals[k]))
    size_tool = nm[:-2] + "size" if nm.endswith("nm") else "size"
    text, data = (int(x) for x in subprocess.run([size_tool, elf], capture_output=True, text=True, check=True).stdout.split("\n")[1].split()[:2])
    print("  %-40s %9d" % ("alignment, linker-generated", text + data - sum(totals.values())))
    print("  %-40s %9d" % ("total (text + data)", text + data))

    rust.sort()
    starts = [a for a, _, _ in rust]
    by_crate = collections.Counter()
    covered = 0
    nm_out = subprocess.run([nm, "-C", "--print-size", "--size-sort", elf], capture_output=True, text=True, check=True).stdout
    for line in nm_out.split("\n"):
        parts = line.split(" ", 3)
        if len(parts) < 4 or parts[2] not in "tTrRdDwWvV":
            continue
        addr, size = int(parts[0], 16) & ~1, int(parts[1], 16)
        i = bisect.bisect_right(starts, addr) - 1
        if i < 0 or addr >= rust[i][0] + rust[i][1]:
            continue
        by_crate["compiler_builtins" if rust[i][2] else crate_of(parts[3])] += size
        covered += size
    rust_bytes = sum(s for _, s, _ in rust)
    by_crate["(constants without symbols)"] += max(rust_bytes - covered, 0)
    print("Rust by crate (symbol sizes in Rust sections, nm -C --print-size):")
    for k, v in by_crate.most_common():
        print("  %-40s %9d" % (k, v))
    print("  %-40s %9d" % ("total", rust_bytes))


if __name__ == "__main__":
    main()
