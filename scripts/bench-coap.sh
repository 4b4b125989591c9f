#!/usr/bin/env bash
# CoAP benchmark (`make bench-coap`): requests/s and p50/p99 latency of
# POST /apps/NAME/run on alkyl-node, next to libcoap's coap-server-notls
# answering GET / (a static resource), with the same closed-loop load
# generator (alkyl-coap-load), in the same run, on loopback. Rounds
# alternate between the servers to spread the noise of a shared machine.
#
# Environment: BENCH_CLIENTS (4), BENCH_SECONDS (5), BENCH_ROUNDS (3).
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=${BENCH_CLIENTS:-4}
SECONDS_PER_RUN=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-3}
ALKYL=target/release/alkyl
NODE_BIN=target/release/alkyl-node
LOAD=target/release/alkyl-coap-load
TMP=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

"$ALKYL" keygen --out "$TMP/bench" >/dev/null
"$NODE_BIN" --listen 127.0.0.1:0 --store "$TMP/store" --trusted-key "$TMP/bench.pub" >"$TMP/node.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do grep -q '^listening on' "$TMP/node.log" && break; sleep 0.05; done
NODE=$(sed -n 's/^listening on //p' "$TMP/node.log")
printf 'mov %%r0, %%r2\nexit\n' >"$TMP/len.s"
"$ALKYL" upload len "$TMP/len.s" --key "$TMP/bench.key" --device "$NODE" >/dev/null
"$ALKYL" upload fletcher32 apps/asm/fletcher32.s --key "$TMP/bench.key" --device "$NODE" >/dev/null

PORT=$(free_port)
coap-server-notls -A 127.0.0.1 -p "$PORT" >/dev/null 2>&1 &
PIDS+=($!)
sleep 0.3
LIBCOAP="coap://127.0.0.1:$PORT"
PAYLOAD64=$(head -c 64 /dev/zero | tr '\0' 'a')

echo "clients $CLIENTS, $SECONDS_PER_RUN s per run, $ROUNDS rounds; $(nproc) cores"
for r in $(seq "$ROUNDS"); do
    printf 'round %s  libcoap GET /              ' "$r"
    "$LOAD" "$LIBCOAP/" --clients "$CLIENTS" --seconds "$SECONDS_PER_RUN"
    printf 'round %s  alkyl POST /apps/len/run   ' "$r"
    "$LOAD" "$NODE/apps/len/run" --method post --clients "$CLIENTS" --seconds "$SECONDS_PER_RUN"
    printf 'round %s  alkyl POST fletcher32 (64 B) ' "$r"
    "$LOAD" "$NODE/apps/fletcher32/run" --method post --payload "$PAYLOAD64" --clients "$CLIENTS" --seconds "$SECONDS_PER_RUN"
done
