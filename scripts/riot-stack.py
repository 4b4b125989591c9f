#!/usr/bin/env python3
"""A static stack estimate for an ARM (Thumb) firmware: for each function,
its frame (push/stmdb/vpush registers and `sub sp, #N` in its body) plus the
deepest frame sum among its direct callees (bl/b.w to a symbol); recursion
and indirect calls (function pointers, trait objects) are not followed, so
it is a lower bound of the worst case where those exist.

    scripts/riot-stack.py FIRMWARE.elf [FUNCTION_PREFIX...]

With prefixes: the estimate and deepest path from each matching function;
without: the eight deepest functions whose name contains "alkyl".
Uses arm-none-eabi-objdump; see riot-module/riot/README.md ("Stacks").
"""
import re, subprocess, sys, functools
elf = sys.argv[1]
out = subprocess.run(["arm-none-eabi-objdump", "-d", "-C", "--no-show-raw-insn", elf], capture_output=True, text=True).stdout
funcs = {}; cur = None; addr2name = {}
for line in out.split("\n"):
    m = re.match(r"^([0-9a-f]+) <(.+)>:$", line)
    if m:
        cur = m.group(2); funcs[cur] = [0, set()]; addr2name[int(m.group(1), 16)] = cur; continue
    if cur is None: continue
    m = re.search(r"\t(push|stmdb|vpush)(\.w)?\s+(sp!, )?\{([^}]*)\}", line)
    if m:
        regs = m.group(4).split(",")
        n = 0
        for r in regs:
            r = r.strip()
            if "-" in r:
                a, b = r.split("-"); n += int(re.sub(r"\D", "", b)) - int(re.sub(r"\D", "", a)) + 1
            else: n += 1
        funcs[cur][0] += n * (8 if m.group(1) == "vpush" else 4)
    m = re.search(r"\tsub(w|\.w)?\s+sp, (sp, )?#(\d+)", line)
    if m: funcs[cur][0] += int(m.group(3))
    m = re.search(r"\t(bl|blx|b\.w|b)\s+[0-9a-f]+ <([^>+]+)>", line)
    if m and m.group(2) != cur: funcs[cur][1].add(m.group(2))
sys.setrecursionlimit(100000)
memo = {}; visiting = set()
def depth(f):
    if f in memo: return memo[f]
    if f not in funcs or f in visiting: return (0, [])
    visiting.add(f)
    best = (0, [])
    for g in funcs[f][1]:
        d = depth(g)
        if d[0] > best[0]: best = d
    visiting.discard(f)
    memo[f] = (funcs[f][0] + best[0], [f] + best[1])
    return memo[f]
for root in sys.argv[2:]:
    for c in [f for f in funcs if f == root or f.startswith(root)][:3]:
        d, path = depth(c)
        print(d, c[:90]); print("   ", " > ".join("%s(%d)" % (p[:60], funcs[p][0]) for p in path[:14]))
if len(sys.argv) == 2:
    top = sorted(((depth(f)[0], f) for f in funcs if "alkyl" in f), reverse=True)[:8]
    for d, f in top: print(d, f[:100])
