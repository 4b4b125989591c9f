#!/usr/bin/env bash
# Instructions per run on the host, independent of the machine's load:
# for each kernel and contender, `alkyl-bench --repeat KERNEL CONTENDER N`
# under callgrind with N = $RUNS and N = 0; the difference / RUNS is one
# checked run (load, verify and translate cancel out). `make bench-insns`.
set -euo pipefail
BIN=${BIN:-target/release/alkyl-bench}
RUNS=${RUNS:-50}
KERNELS=${KERNELS:-$("$BIN" --list)}
CONTENDERS=${CONTENDERS:-"native alkyl alkyl_ref rbpf rbpf_jit wasmi wasm3"}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

count() { # kernel contender n -> total instructions of the process
    valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$BIN" --repeat "$1" "$2" "$3" \
        >/dev/null 2>"$out/err" || { cat "$out/err" >&2; return 1; }
    sed -n 's/^summary: //p' "$out/cg"
}

printf "%-15s" kernel
for c in $CONTENDERS; do printf '%12s' "$c"; done
echo
for k in $KERNELS; do
    printf "%-15s" "$k"
    for c in $CONTENDERS; do
        if "$BIN" --repeat "$k" "$c" 0 >/dev/null 2>&1; then
            a=$(count "$k" "$c" "$RUNS")
            b=$(count "$k" "$c" 0)
            printf '%12d' $(((a - b) / RUNS))
        else
            printf '%12s' '-'
        fi
    done
    echo
done
