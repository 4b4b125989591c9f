#!/usr/bin/env bash
# Benchmarks of the Aryl gateway (`make bench-aryl`; numbers in
# docs/benchmarks.md): chain-to-device latency after confirmation with 2
# locks (p50/p99 over ARYL_BENCH_N payments), fan-out of one payment to
# ARYL_FANOUT simulated locks (one alkyl-node process each) until all
# acknowledged, and the gateway's peak memory. Loopback, real anvil.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${ARYL_BENCH_N:-20}
FANOUT=${ARYL_FANOUT:-100}

pct() { sort -n | awk -v p="$1" '{ a[NR] = $1 } END { i = int((NR - 1) * p / 100) + 1; print a[i] }'; }

latency() {
    . scripts/aryl-lib.sh
    CONFIRMATIONS=2 setup 2
    local i t0 l1 l2 lat=()
    for i in $(seq "$N"); do
        pay 10 "$((1000 + i))" >/dev/null
        t0=$(date +%s%3N)
        mine 2
        for _ in $(seq 400); do
            [ "$(count "$TMP/aryl.log" 'SetPin acknowledged')" -ge $((2 * i)) ] && break
            sleep 0.01
        done
        l1=$(grep 'lock1: SetPin acknowledged' "$TMP/aryl.log" | tail -1 | sed 's/.*(at \([0-9]*\) ms.*/\1/')
        l2=$(grep 'lock2: SetPin acknowledged' "$TMP/aryl.log" | tail -1 | sed 's/.*(at \([0-9]*\) ms.*/\1/')
        lat+=($(( (l1 > l2 ? l1 : l2) - t0 )))
    done
    printf '%s\n' "${lat[@]}" >"$TMP/lat"
    echo "latency, confirming block mined -> both locks acknowledged SetPin ($N payments, 2 confirmations, poll 50 ms):" \
        "p50 $(pct 50 <"$TMP/lat") ms, p99 $(pct 99 <"$TMP/lat") ms, max $(pct 100 <"$TMP/lat") ms"
}

fanout() {
    . scripts/aryl-lib.sh
    local n=$1 i t0 last
    start_anvil
    deploy_property
    for i in $(seq "$n"); do start_lock "$i"; done
    write_config "$n"
    start_gateway
    for _ in $(seq 1200); do
        [ "$(count "$TMP/aryl.log" 'set-time acknowledged')" -ge "$n" ] && break
        sleep 0.1
    done
    pay 10 4242 >/dev/null
    t0=$(date +%s%3N)
    mine 2
    for _ in $(seq 1000); do
        [ "$(count "$TMP/aryl.log" 'SetPin acknowledged')" -ge "$n" ] && break
        sleep 0.02
    done
    [ "$(count "$TMP/aryl.log" 'SetPin acknowledged')" -ge "$n" ] || fail "not all $n acknowledged"
    last=$(grep 'SetPin acknowledged' "$TMP/aryl.log" | sed 's/.*(at \([0-9]*\) ms.*/\1/' | sort -n | tail -1)
    echo "fan-out to $n locks: confirming block mined -> all acknowledged in $((last - t0)) ms;" \
        "gateway peak RSS $(awk '/VmHWM/ { print $2 / 1024 " MiB" }' "/proc/$ARYL_PID/status")"
}

( latency )
( fanout "$FANOUT" )
