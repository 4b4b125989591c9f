#!/usr/bin/env bash
# The Aryl chain story (issue 13, docs/aryl.md), after scripts/demo.sh in
# `make run`: anvil on a free port, the property contract carrying the
# lock's Alkyl IR and the Aryl script, the gateway `aryl`, two simulated
# locks (alkyl-node) that trust only the gateway's key, a tenant paying with
# an HPKE-sealed PIN, both locks getting the code and the PIN, the right PIN
# unlocking, an unauthenticated SetPin refused. It stops everything it started.
#
# Needs target/release/{alkyl,alkyl-node}, gateway/target/release/aryl and
# node_modules (`make deps`). ARYL_DEMO_QUIET=1: only the summary.
set -euo pipefail
cd "$(dirname "$0")/.."

ALKYL=${ALKYL:-target/release/alkyl}
NODE_BIN=${NODE_BIN:-target/release/alkyl-node}
ARYL=${ARYL:-gateway/target/release/aryl}
ANVIL=${ANVIL:-node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil}
TMP=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@" 2>&1 | sed 's/^/  /'; }
fail() {
    echo "aryl demo failed: $*" >&2
    for f in "$TMP"/*.log; do echo "--- $f" >&2; tail -30 "$f" >&2; done
    exit 1
}
wait_for() { # FILE PATTERN SECONDS
    for _ in $(seq $(($3 * 20))); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    fail "no '$2' in $1 after $3 s"
}
rpc() { curl -s -X POST -H 'content-type: application/json' \
    --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" "http://$CHAIN" >/dev/null; }
mine() { rpc anvil_mine "[\"0x$(printf %x "$1")\"]"; }

step "anvil: a local Ethereum chain on a free port"
"$ANVIL" --host 127.0.0.1 --port 0 >"$TMP/anvil.log" 2>&1 &
PIDS+=($!)
wait_for "$TMP/anvil.log" '^Listening on' 20
CHAIN=$(sed -n 's/^Listening on //p' "$TMP/anvil.log")
WS="ws://$CHAIN"
# anvil's dev accounts: 0 the landlord, 1 the gateway, 2 the tenant.
key() { awk -v n="($1)" '/^Private Keys/ { f = 1 } f && $1 == n { sub(/^0x/, "", $2); print $2; exit }' "$TMP/anvil.log"; }
addr() { awk -v n="($1)" '/^Available Accounts/ { f = 1 } f && $1 == n { print $2; exit }' "$TMP/anvil.log"; }
key 0 >"$TMP/landlord.eth"; key 1 >"$TMP/gateway.eth"; key 2 >"$TMP/tenant.eth"
GATEWAY_ADDR=$(addr 1)
echo "  chain on $CHAIN; gateway account $GATEWAY_ADDR"

LOCKOUT=${ARYL_LOCKOUT:-6}   # seconds a lock-out lasts (short for the demo)
step "keys: the gateway's Ed25519 key (the only one the locks trust), its HPKE key, each lock's own"
"$ALKYL" keygen --out "$TMP/gw" >/dev/null
HPKE_PUB=$("$ARYL" hpke-keygen "$TMP/hpke")
echo "  HPKE public key (published by the contract): $HPKE_PUB"

step "aryl build: Property.sol + the lock (Alkyl IR) + the Aryl script -> one contract"
show "$ARYL" build --solidity apps/aryl/Property.sol --contract Property --device apps/aryl/lock.air \
    --app lock --script apps/aryl/property.aryl.alkyl --hpke-public "$HPKE_PUB" -o "$TMP/property.json"
CONTRACT=$("$ARYL" deploy --rpc "$WS" --eth-key "$TMP/landlord.eth" --artifact "$TMP/property.json" \
    --args "$GATEWAY_ADDR,1000,$LOCKOUT")
echo "  deployed Property at $CONTRACT"
step "aryl inspect: what the devices will run, read back from the chain (hashes checked)"
"$ARYL" inspect --rpc "$WS" "$CONTRACT" | sed 's/^/  /' | head -12
echo "  ..."

# The gateway's report endpoint: a free UDP port.
REPORTS=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
step "two simulated locks (alkyl-node) trusting only the gateway's key, reporting to it"
DEVS=""
KEYS=""
for n in 1 2; do
    "$ALKYL" keygen --out "$TMP/lock$n" >/dev/null
    "$NODE_BIN" --listen 127.0.0.1:0 --store "$TMP/store$n" --trusted-key "$TMP/gw.pub" \
        --device-key "$TMP/lock$n.key" --gateway "coap://127.0.0.1:$REPORTS/reports" \
        --sensors apps/demo-sensors.toml >"$TMP/lock$n.log" 2>&1 &
    PIDS+=($!)
    wait_for "$TMP/lock$n.log" '^listening on' 10
    U=$(sed -n 's/^listening on //p' "$TMP/lock$n.log")
    eval "LOCK$n=$U"
    DEVS="$DEVS
lock$n = \"$U\""
    KEYS="$KEYS
lock$n = \"lock$n.pub\""
    echo "  lock$n on $U"
done

cat >"$TMP/aryl.toml" <<TOML
rpc = "$WS"
contract = "$CONTRACT"
artifact = "property.json"
confirmations = 2
poll_ms = 50
state_dir = "state"
device_key = "gw.key"
hpke_key = "hpke.key"
open = ["KeyPressed"]
eth_key = "gateway.eth"
report_listen = "127.0.0.1:$REPORTS"
[devices]$DEVS
[device_keys]$KEYS
TOML
step "aryl run: the gateway follows the contract, installs its code on both locks"
"$ARYL" run "$TMP/aryl.toml" >"$TMP/aryl.log" 2>&1 &
PIDS+=($!)
wait_for "$TMP/aryl.log" 'lock1: set-time acknowledged' 20
wait_for "$TMP/aryl.log" 'lock2: set-time acknowledged' 20
sed 's/^/  /' "$TMP/aryl.log"

step "a tenant pays for 10 minutes with the PIN 1234 sealed to the gateway (HPKE)"
show "$ARYL" pay --rpc "$WS" --eth-key "$TMP/tenant.eth" --contract "$CONTRACT" --mins 10 --value 10000 1234
mine 2
wait_for "$TMP/aryl.log" 'lock1: SetPin acknowledged' 20
wait_for "$TMP/aryl.log" 'lock2: SetPin acknowledged' 20
grep -E 'PaymentEvent|SetPin' "$TMP/aryl.log" | sed 's/^/  /'
if grep -q 1234 "$TMP/aryl.log"; then fail "the gateway logged the plaintext PIN"; fi

press() { # LOCK KEYS: the keypad (an open entry), prints the last result
    local dev=$1 keys=$2 out=""
    for k in $(echo "$keys" | fold -w1); do out=$("$ALKYL" invoke lock KeyPressed --arg "'$k'" --device "$dev"); done
    echo $((out))
}
step "the right PIN opens both locks (1 = unlocked, 2 = beeped)"
R1=$(press "$LOCK1" 1234); R2=$(press "$LOCK2" 1234)
echo "  lock1: 1234 -> $R1; lock2: 1234 -> $R2"
[ "$R1" = 1 ] && [ "$R2" = 1 ] || fail "the right PIN did not unlock"

step "three wrong attempts on lock1: each is reported, relayed to the contract, which locks the property out"
for i in 1 2 3; do echo "  lock1: 000$i -> $(press "$LOCK1" 000$i)"; done
wait_for "$TMP/aryl.log" 'report lock1#3 relayed' 30
mine 2
wait_for "$TMP/aryl.log" 'lock1: LockOut acknowledged' 20
wait_for "$TMP/aryl.log" 'lock2: LockOut acknowledged' 20
grep -E 'report|LockOut' "$TMP/aryl.log" | sed 's/^/  /'
R1=$(press "$LOCK1" 1234); R2=$(press "$LOCK2" 1234)
echo "  during the lock-out: lock1: 1234 -> $R1; lock2: 1234 -> $R2"
[ "$R1" = 2 ] && [ "$R2" = 2 ] || fail "a lock opened during the lock-out"
sleep "$LOCKOUT"
R2=$(press "$LOCK2" 1234)
echo "  after it ended ($LOCKOUT s): lock2: 1234 -> $R2"
[ "$R2" = 1 ] || fail "the lock-out did not end"

step "an unauthenticated SetPin over CoAP is refused"
OUT=$(coap-client-notls -m post -e '12345678' "$LOCK2/apps/lock/run/SetPin" 2>&1 || true)
echo "  coap-client-notls -m post $LOCK2/apps/lock/run/SetPin -> $OUT"
case "$OUT" in 4.*) ;; *) fail "an unauthenticated SetPin was not refused" ;; esac
R=$(press "$LOCK2" 1234)
echo "  lock2: 1234 -> $R (the tenant's PIN still holds)"
[ "$R" = 1 ] || fail "the PIN changed"

step "aryl status"
"$ARYL" status "$TMP/aryl.toml" | sed 's/^/  /'
echo
echo "aryl demo: done (anvil, two locks and the gateway stopped)"
