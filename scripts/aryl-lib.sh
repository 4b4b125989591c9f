# Shared by scripts/aryl-demo.sh and scripts/aryl-test.sh (sourced): anvil,
# the property contract, alkyl-node locks and the gateway on loopback.
# Everything started is recorded in PIDS and stopped on exit.

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
    echo "aryl: FAILED: $*" >&2
    [ -f "$TMP/aryl.toml" ] && "$ARYL" status "$TMP/aryl.toml" >&2 || true
    for f in "$TMP"/*.log; do echo "--- $f" >&2; grep -v '^eth_\|^$' "$f" | tail -25 >&2; done
    exit 1
}
logged_within() { # FILE PATTERN SECONDS: whether PATTERN is logged in time
    for _ in $(seq $(($3 * 20))); do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}
wait_for() { # FILE PATTERN SECONDS
    logged_within "$1" "$2" "$3" || fail "no '$2' in $1 after $3 s"
}
mine_until() { # FILE PATTERN SECONDS: a block a second until PATTERN is logged
    for _ in $(seq "$3"); do
        mine 1
        logged_within "$1" "$2" 1 && return 0
    done
    fail "no '$2' in $1 after $3 s of a block a second"
}
count() { grep -c -- "$2" "$1" 2>/dev/null || true; }
rpc() { curl -s -X POST -H 'content-type: application/json' \
    --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" "http://$CHAIN"; }
mine() { rpc anvil_mine "[\"0x$(printf %x "$1")\"]" >/dev/null; }
# A free UDP port below the ephemeral range (nodes listening on port 0 cannot take it).
free_udp_port() {
    python3 -c '
import random, socket
while True:
    p = random.randint(20000, 32000)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", p))
        print(p)
        break
    except OSError:
        pass'
}

# anvil on a free port; dev accounts 0 the landlord, 1 the gateway, 2 the tenant.
start_anvil() {
    "$ANVIL" --host 127.0.0.1 --port 0 >"$TMP/anvil.log" 2>&1 &
    PIDS+=($!)
    wait_for "$TMP/anvil.log" '^Listening on' 20
    CHAIN=$(sed -n 's/^Listening on //p' "$TMP/anvil.log")
    WS="ws://$CHAIN"
    local n
    for n in 0 1 2; do
        awk -v n="($n)" '/^Private Keys/ { f = 1 } f && $1 == n { sub(/^0x/, "", $2); print $2; exit }' \
            "$TMP/anvil.log" >"$TMP/eth$n"
    done
    cp "$TMP/eth0" "$TMP/landlord.eth"; cp "$TMP/eth1" "$TMP/gateway.eth"; cp "$TMP/eth2" "$TMP/tenant.eth"
    GATEWAY_ADDR=$(awk '/^Available Accounts/ { f = 1 } f && $1 == "(1)" { print $2; exit }' "$TMP/anvil.log")
}

# Keys, `aryl build` and a deployed Property (CONTRACT); LOCKOUT seconds.
deploy_property() {
    [ -f "$TMP/gw.key" ] || "$ALKYL" keygen --out "$TMP/gw" >/dev/null
    [ -f "$TMP/hpke.key" ] || HPKE_PUB=$("$ARYL" hpke-keygen "$TMP/hpke")
    [ -f "$TMP/property.json" ] || "$ARYL" build --solidity apps/aryl/Property.sol --contract Property \
        --device apps/aryl/lock.air --app lock --script apps/aryl/property.aryl.alkyl \
        --hpke-public "$HPKE_PUB" -o "$TMP/property.json" >"$TMP/build.out"
    CONTRACT=$("$ARYL" deploy --rpc "$WS" --eth-key "$TMP/landlord.eth" --artifact "$TMP/property.json" \
        --args "$GATEWAY_ADDR,1000,${LOCKOUT:-6}")
}

# start_lock N [PORT]: alkyl-node "lockN" trusting only the gateway's key;
# sets LOCKN to its URI. The same store and port on a restart.
REPORTS=${REPORTS:-$(free_udp_port)}
start_lock() {
    local n=$1 listen=127.0.0.1:${2:-0}
    [ -f "$TMP/lock$n.key" ] || "$ALKYL" keygen --out "$TMP/lock$n" >/dev/null
    : >"$TMP/lock$n.log"
    "$NODE_BIN" --listen "$listen" --store "$TMP/store$n" --trusted-key "$TMP/gw.pub" \
        --device-key "$TMP/lock$n.key" --gateway "coap://127.0.0.1:$REPORTS/reports" \
        --sensors apps/demo-sensors.toml >"$TMP/lock$n.log" 2>&1 &
    PIDS+=($!)
    eval "LOCK${n}_PID=$!"
    wait_for "$TMP/lock$n.log" '^listening on' 10
    eval "LOCK$n=$(sed -n 's/^listening on //p' "$TMP/lock$n.log")"
}

# write_config N [EXTRA]: the gateway's TOML for locks 1..N.
write_config() {
    local n devs="" keys=""
    for n in $(seq "$1"); do
        devs="$devs
lock$n = \"$(eval echo "\$LOCK$n")\""
        keys="$keys
lock$n = \"lock$n.pub\""
    done
    cat >"$TMP/aryl.toml" <<TOML
rpc = "${RPC:-$WS}"
contract = "$CONTRACT"
artifact = "property.json"
confirmations = ${CONFIRMATIONS:-2}
poll_ms = 50
deadline_secs = ${DEADLINE:-600}
state_dir = "state"
device_key = "gw.key"
hpke_key = "hpke.key"
open = ["KeyPressed", "AskAttempts", "KnownAttempts", "AskTerms", "Stored"]
eth_key = "${ETH_KEY:-gateway.eth}"
report_listen = "127.0.0.1:$REPORTS"
${2:-}
[devices]$devs
[device_keys]$keys
TOML
}

start_gateway() {
    "$ARYL" run "$TMP/aryl.toml" >>"$TMP/aryl.log" 2>&1 &
    ARYL_PID=$!
    PIDS+=($ARYL_PID)
}

pay() { # MINS PIN [extra args]
    local mins=$1 pin=$2
    shift 2
    "$ARYL" pay --rpc "$WS" --eth-key "$TMP/tenant.eth" --contract "${PAY_CONTRACT:-$CONTRACT}" \
        --mins "$mins" --value $((mins * 1000)) "$@" "$pin"
}

press() { # LOCK-URI KEYS: the keypad (an open entry); the last result
    local dev=$1 keys=$2 out="" k
    for k in $(echo "$keys" | fold -w1); do out=$("$ALKYL" invoke lock KeyPressed --arg "'$k'" --device "$dev"); done
    echo $((out))
}

# The highest command sequence the device accepted from the gateway's key.
gw_sequence() {
    local id
    id=$(sed -n 's/^trusted key(s): //p' "$TMP/lock1.log" | cut -d' ' -f1)
    coap-client-notls -m get "$1/auth" 2>/dev/null | python3 -c "import json,sys; print(json.load(sys.stdin)['sequences'].get('$id', 0))"
}

# Chain, contract, N locks, gateway; waits until every lock has the code.
setup() {
    start_anvil
    deploy_property
    local n
    for n in $(seq "$1"); do start_lock "$n"; done
    write_config "$1" "${EXTRA:-}"
    start_gateway
    for n in $(seq "$1"); do wait_for "$TMP/aryl.log" "lock$n: set-time acknowledged" 30; done
}

# Waits until lock URI $1 accepted sequence $2 from the gateway (at most $3 s).
wait_sequence() {
    local s=""
    for _ in $(seq $(($3 * 10))); do
        s=$(gw_sequence "$1")
        [ "$s" = "$2" ] && return 0
        sleep 0.1
    done
    fail "$1: gateway sequence $s, expected $2"
}
