#!/usr/bin/env bash
# Integration tests of the Aryl gateway (issue 13) on a real anvil and real
# alkyl-node locks on loopback (run by `make test` via `make aryl-test`).
# Each test runs in its own subshell with its own chain, locks and gateway.
#   scripts/aryl-test.sh [TEST...]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."

ok() { echo "  ok: $*"; }
# The eth_blockNumber calls anvil answers in the next $1 seconds.
head_polls() {
    local before
    before=$(count "$TMP/anvil.log" '^eth_blockNumber')
    sleep "$1"
    echo $(($(count "$TMP/anvil.log" '^eth_blockNumber') - before))
}

test_story() {
    step "the whole story (scripts/aryl-demo.sh)"
    scripts/aryl-demo.sh >/tmp/aryl-demo.$$.out 2>&1 || { cat /tmp/aryl-demo.$$.out; rm -f /tmp/aryl-demo.$$.out; exit 1; }
    rm -f /tmp/aryl-demo.$$.out
    ok "pay, install, PIN on both locks, reports, lock-out, its end, unauthenticated SetPin refused"
}

# The gateway's Ethereum account's transaction count (its next nonce).
account_nonce() {
    rpc eth_getTransactionCount "[\"$GATEWAY_ADDR\", \"latest\"]" | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["result"], 16))'
}

test_crash() {
    step "kill -9 of the gateway at random points (seeded): every action exactly once, both ways"
    # ARYL_SEED=N replays the same kill delays (the moments they hit still
    # depend on the machine's timing).
    local seed=${ARYL_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
    RANDOM=$seed
    echo "  seed $seed (ARYL_SEED=$seed scripts/aryl-test.sh crash replays the kill delays)"
    setup 2
    local i kills=0 delays=""
    for i in 1 2 3 4 5; do
        pay 10 "100$i" >/dev/null
        mine 2
        # Kill at a random moment of the handling (the payment's event,
        # queueing, signing and delivering its calls; relaying the previous
        # round's report), then restart.
        local d="0.$((RANDOM % 7))$((RANDOM % 10))"
        delays="$delays $d"
        sleep "$d"
        kill -9 "$ARYL_PID"; wait "$ARYL_PID" 2>/dev/null || true
        kills=$((kills + 1))
        # A wrong PIN on lock2 while the gateway is down: a report the lock
        # keeps and resends (SetPin, which restarts an attempt, cannot come
        # in the middle of it).
        [ "$(press "$LOCK2" 0000)" = 2 ] || fail "a wrong PIN opens"
        start_gateway
    done
    echo "  kill delays (s):$delays"
    # Every report relayed once: 5 transactions from the gateway's account;
    # the third locks the property out (one LockOutEvent), on which the
    # script sends one transaction (contract.lockoutApplied).
    for _ in $(seq 300); do
        [ "$(account_nonce)" -ge 5 ] && break
        sleep 0.1
    done
    mine 2
    for _ in $(seq 300); do
        [ "$(account_nonce)" -ge 6 ] && break
        sleep 0.1
    done
    wait_for "$TMP/aryl.log" 'lock1: LockOut acknowledged' 30
    wait_for "$TMP/aryl.log" 'lock2: LockOut acknowledged' 30
    # set-time + 5 SetPin + 1 LockOut, each accepted once by each lock.
    wait_sequence "$LOCK1" 7 30
    wait_sequence "$LOCK2" 7 30
    sleep 1
    [ "$(gw_sequence "$LOCK1")" = 7 ] && [ "$(gw_sequence "$LOCK2")" = 7 ] || fail "a command ran twice"
    [ "$(account_nonce)" = 6 ] || fail "the gateway sent $(account_nonce) transactions for 5 reports and 1 lock-out"
    local st
    st=$("$ARYL" status "$TMP/aryl.toml")
    grep -q 'events handled 6 ' <<<"$st" || fail "journal (5 payments, 1 lock-out): $st"
    grep -q "transactions relayed 6 (reports and the script's) pending 0" <<<"$st" || fail "transactions: $st"
    sleep "${LOCKOUT:-6}"
    [ "$(press "$LOCK1" 1005)" = 1 ] && [ "$(press "$LOCK2" 1005)" = 1 ] || fail "the last PIN does not open"
    ok "$kills kills: 5 payments and 1 lock-out, 7 commands per lock (sequences 1..7), 6 journal entries; 5 reports and the script's lockoutApplied, 6 transactions (nonce 6); the last PIN opens"
}

test_no_action() {
    step "events of another contract, a wrong HPKE AAD, a reorg before the confirmation depth: no action"
    setup 1
    local other
    other=$("$ARYL" deploy --rpc "$WS" --eth-key "$TMP/landlord.eth" --artifact "$TMP/property.json" \
        --args "$GATEWAY_ADDR,1000,6")
    # The same contract code, a valid payment to it (its own AAD): not ours.
    PAY_CONTRACT=$other pay 10 4321 >/dev/null
    mine 3
    sleep 1
    grep -q 'events handled 0 refused 0 ' <<<"$("$ARYL" status "$TMP/aryl.toml")" || fail "another contract's event was seen"
    pay 10 5555 --aad-mins 11 >/dev/null
    mine 3
    wait_for "$TMP/aryl.log" 'refused: the sealed PIN does not open' 10
    grep -q 'events handled 1 refused 1 ' <<<"$("$ARYL" status "$TMP/aryl.toml")" || fail "the wrong AAD is not the one refusal"
    ok "a payment to another Property (same code and keys): not seen; a PIN sealed for 11 minutes, paid for 10: refused (1 refusal)"
    pay 10 6666 >/dev/null      # head = its block; 0 confirmations
    rpc anvil_reorg '[1, []]' | grep -q '"result"' || fail "anvil_reorg"
    mine 4
    sleep 1
    local st
    st=$("$ARYL" status "$TMP/aryl.toml")
    grep -q 'reorgs 0' <<<"$st" || fail "a reorg under the depth was seen"
    grep -q 'PaymentEvent.*queued' "$TMP/aryl.log" && fail "an event was acted on"
    [ "$(gw_sequence "$LOCK1")" = 1 ] || fail "a command reached the lock"
    [ "$(press "$LOCK1" 4321)" = 2 ] && [ "$(press "$LOCK1" 6666)" = 2 ] || fail "a PIN opens"
    ok "other contract ignored, reorged payment (1 block, depth 2) never acted on, lock untouched"
}

test_reorg_after() {
    step "a reorg deeper than the confirmations after the action: the PIN is revoked (structured logs: JSON lines)"
    EXTRA='log_format = "json"' setup 1
    pay 10 7777 >/dev/null
    mine 2
    wait_for "$TMP/aryl.log" 'lock1: SetPin acknowledged' 20
    [ "$(press "$LOCK1" 7777)" = 1 ] || fail "the PIN does not open"
    rpc anvil_reorg '[4, []]' | grep -q '"result"' || fail "anvil_reorg"
    mine 1
    wait_for "$TMP/aryl.log" 'compensated' 20
    wait_sequence "$LOCK1" 3 20
    [ "$(press "$LOCK1" 7777)" = 2 ] || fail "the revoked PIN still opens"
    grep '"kind":"reorg"' "$TMP/aryl.log" | sed 's/^/  /'
    ok "the payment's block was replaced: SetPin(0, 0) sent, the PIN no longer opens"
    # Every line a JSON object with its time, kind and fields; never the PIN.
    python3 - "$TMP/aryl.log" <<'PY' || fail "the JSON log"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert all(isinstance(l["ts_ms"], int) and l["kind"] and l["msg"] for l in lines)
acks = [l for l in lines if l["kind"] == "device" and l["outcome"] == "acknowledged" and l["op"] == "SetPin"]
assert len(acks) == 2 and all(l["device"] == "lock1" and l["latency_ms"] >= 0 for l in acks), acks
undone = [l for l in lines if l["kind"] == "reorg" and "compensated" in l]
assert undone and undone[0]["event"] == "PaymentEvent" and undone[0]["compensated"] == 1, undone
assert [l["event"] for l in lines if l["kind"] == "event"] == ["PaymentEvent"]
print(f"  {len(lines)} JSON lines; kinds {sorted(set(l['kind'] for l in lines))}")
PY
    if grep -w -e 7777 -e 37373737 "$TMP/aryl.log"; then fail "the JSON log holds the PIN"; fi
    ok "log_format = \"json\": every line an object (ts_ms, kind, fields, msg); no PIN"
}

test_offline() {
    step "a lock offline during the payment gets the PIN when it returns; past its deadline it does not"
    DEADLINE=8 setup 2
    local port2=${LOCK2##*:}
    kill "$LOCK2_PID"; wait "$LOCK2_PID" 2>/dev/null || true
    pay 10 2468 >/dev/null
    mine 2
    wait_for "$TMP/aryl.log" 'lock1: SetPin acknowledged' 20
    sleep 1
    start_lock 2 "$port2"
    wait_for "$TMP/aryl.log" 'lock2: SetPin acknowledged' 30
    [ "$(press "$LOCK2" 2468)" = 1 ] || fail "the returning lock did not get the PIN"
    ok "lock2 back after the payment: clock set again, PIN applied"
    kill "$LOCK2_PID"; wait "$LOCK2_PID" 2>/dev/null || true
    pay 10 1357 >/dev/null
    mine 2
    wait_for "$TMP/aryl.log" 'lock1: SetPin acknowledged.*' 20
    wait_for "$TMP/aryl.log" 'lock2: SetPin dropped: deadline' 30
    start_lock 2 "$port2"
    sleep 2
    [ "$(press "$LOCK2" 1357)" = 2 ] || fail "an expired SetPin was applied"
    "$ARYL" status "$TMP/aryl.toml" | sed -n 's/^dropped/  dropped/p'
    ok "lock2 back after the deadline: the SetPin was dropped and reported, never applied"
}

# post_invoke URI HEX: POSTs the bytes to URI/invoke; prints the response.
post_invoke() {
    python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.argv[1]))' "$2" >"$TMP/cmd.bin"
    coap-client-notls -m post -f "$TMP/cmd.bin" "$1/invoke" 2>&1 || true
}

test_captured() {
    step "captured gateway commands replayed, forged or applied late: refused, the lock's store unchanged"
    DEADLINE=8
    start_anvil
    deploy_property
    start_lock 1
    local real=$LOCK1 out seq
    python3 scripts/aryl-mitm.py "${real#coap://}" "$TMP/captured" "$TMP/hold" >"$TMP/mitm.log" 2>&1 &
    PIDS+=($!)
    wait_for "$TMP/mitm.log" '^listening on' 10
    LOCK1="coap://127.0.0.1:$(sed -n 's/^listening on //p' "$TMP/mitm.log")"
    write_config 1
    start_gateway
    wait_for "$TMP/aryl.log" "lock1: set-time acknowledged" 30
    LOCK1=$real
    pay 10 1111 >/dev/null
    mine 2
    wait_for "$TMP/aryl.log" 'lock1: SetPin acknowledged' 20
    local first
    first=$(tail -1 "$TMP/captured")
    pay 10 2222 >/dev/null
    mine 2
    for _ in $(seq 200); do [ "$(count "$TMP/aryl.log" 'lock1: SetPin acknowledged')" = 2 ] && break; sleep 0.1; done
    [ "$(sort -u "$TMP/captured" | wc -l)" = 2 ] || fail "captured: $(sort -u "$TMP/captured" | wc -l) commands, not 2"
    local second
    second=$(tail -1 "$TMP/captured")
    [ "$first" != "$second" ] || fail "no second command captured"
    [ "$(press "$LOCK1" 2222)" = 1 ] || fail "the PIN does not open"
    seq=$(gw_sequence "$LOCK1")
    # The lock's store as the gateway left it: its sequence, PIN 2222 and
    # not $2 (each wrong PIN is a report: the third locks out, so three at most).
    unchanged() {
        [ "$(gw_sequence "$LOCK1")" = "$seq" ] || fail "$1: the lock's sequence moved"
        [ "$(press "$LOCK1" 2222)" = 1 ] || fail "$1: the PIN 2222 no longer opens"
        [ -z "${2:-}" ] || [ "$(press "$LOCK1" "$2")" = 2 ] || fail "$1: the PIN $2 opens"
    }
    out=$(post_invoke "$LOCK1" "$second")
    case "$out" in 4.09*) ;; *) fail "a replayed SetPin: $out" ;; esac
    unchanged replay
    ok "the last SetPin(2222) replayed: $out"
    out=$(post_invoke "$LOCK1" "$first")
    case "$out" in 4.06*) ;; *) fail "an older SetPin replayed: $out" ;; esac
    unchanged "older replay" 1111
    ok "the earlier SetPin(1111) replayed: $out; 1111 does not open"
    local forged
    forged=$(sed 's/32323232/39393939/' <<<"$second")
    [ "$forged" != "$second" ] || fail "no PIN in the captured command"
    out=$(post_invoke "$LOCK1" "$forged")
    case "$out" in 4.03*) ;; *) fail "a forged SetPin: $out" ;; esac
    unchanged forged 9999
    ok "the captured SetPin with its PIN changed to 9999: $out"
    "$ALKYL" keygen --out "$TMP/mallory" >/dev/null
    out=$("$ALKYL" invoke lock SetPin --key "$TMP/mallory.key" --arg 0x39393939 --arg 4000000000 --device "$LOCK1" 2>&1 || true)
    grep -q '4.01' <<<"$out" || fail "a SetPin signed by another key: $out"
    unchanged "other key"
    ok "a SetPin(9999) signed by another key: $(head -1 <<<"$out")"
    # Withheld by the man in the middle until its deadline, then sent.
    touch "$TMP/hold"
    pay 10 3333 >/dev/null
    mine 2
    wait_for "$TMP/aryl.log" 'lock1: SetPin dropped: deadline' 30
    rm "$TMP/hold"
    local late
    late=$(tail -1 "$TMP/captured")
    grep -q 33333333 <<<"$late" || fail "the withheld SetPin was not captured"
    out=$(post_invoke "$LOCK1" "$late")
    case "$out" in 4.12*) ;; *) fail "an expired SetPin: $out" ;; esac
    unchanged expired 3333
    ok "SetPin(3333) withheld past its deadline (the gateway dropped it), then sent: $out"
}

test_request() {
    step "a lock asks for chain state, answered asynchronously by a signed call, once across a kill -9 (the gateway's key from a keystore)"
    start_anvil
    deploy_property
    start_lock 1
    echo "correct horse battery staple" >"$TMP/eth.pw"
    local addr
    addr=$("$ARYL" keystore --eth-key "$TMP/gateway.eth" --password-file "$TMP/eth.pw" -o "$TMP/gateway.json")
    [ "${addr,,}" = "${GATEWAY_ADDR,,}" ] || fail "keystore address $addr, not $GATEWAY_ADDR"
    grep -q '"crypto"' "$TMP/gateway.json" && ! grep -qi "$(cat "$TMP/gateway.eth")" "$TMP/gateway.json" || fail "keystore"
    ETH_KEY=gateway.json write_config 1 'eth_password_file = "eth.pw"'
    start_gateway
    wait_for "$TMP/aryl.log" "lock1: set-time acknowledged" 30
    grep -qi "Ethereum account $GATEWAY_ADDR" "$TMP/aryl.log" || fail "the keystore's account is not used"
    ok "aryl keystore: $addr in an encrypted JSON keystore; the gateway decrypted it (password file)"
    [ "$(press "$LOCK1" 0001)" = 2 ] && [ "$(press "$LOCK1" 0002)" = 2 ] || fail "a wrong PIN opens"
    wait_for "$TMP/aryl.log" 'report lock1#2 relayed' 30
    mine 2
    local known
    known=$("$ALKYL" invoke lock KnownAttempts --device "$LOCK1")
    [ "$((known))" = 0 ] || fail "an answer before the request"
    "$ALKYL" invoke lock AskAttempts --device "$LOCK1" >/dev/null
    wait_for "$TMP/aryl.log" 'request lock1#3: invalidAttempts() for Attempts' 20
    kill -9 "$ARYL_PID"; wait "$ARYL_PID" 2>/dev/null || true
    start_gateway
    wait_for "$TMP/aryl.log" 'lock1: Attempts acknowledged' 30
    sleep 1
    known=$("$ALKYL" invoke lock KnownAttempts --device "$LOCK1")
    [ "$((known))" = 2 ] || fail "the lock knows $known attempts, the contract counted 2"
    # One answer run: the lock's sequences 1 (set-time), 2 (Attempts). "queued" is logged after the
    # answer is persisted, so a kill between the two leaves it unlogged: at most once, never twice.
    [ "$(count "$TMP/aryl.log" 'Attempts queued')" -le 1 ] && [ "$(count "$TMP/aryl.log" 'Attempts acknowledged')" = 1 ] \
        && [ "$(gw_sequence "$LOCK1")" = 2 ] || fail "answered twice"
    grep 'request lock1#3' "$TMP/aryl.log" | sed 's/^/  /'
    ok "AskAttempts -> report '?invalidAttempts>Attempts' -> eth_call -> Attempts(2, block) once (gateway killed in between); the lock's store has 2"
    # Any ABI result: terms() returns a struct and a string; the lock keeps
    # the struct's members and the string's length and FNV-1a hash.
    "$ALKYL" invoke lock AskTerms --device "$LOCK1" >/dev/null
    wait_for "$TMP/aryl.log" 'lock1: Terms acknowledged' 30
    local notice want got
    notice=$(sed -n 's/.*string public notice = "\(.*\)";/\1/p' apps/aryl/Property.sol)
    want=$(python3 -c 'import sys
h = 0x811c9dc5
for b in sys.argv[1].encode(): h = ((h ^ b) * 0x01000193) & 0xffffffff
print(3, 6, len(sys.argv[1].encode()), h)' "$notice")
    got=$(for c in 2 3 4 5; do echo $(($("$ALKYL" invoke lock Stored --arg $c --device "$LOCK1"))); done | xargs)
    [ "$got" = "$want" ] || fail "terms(): the lock stored '$got', expected '$want' (maxInvalid, lockout, notice length, FNV-1a)"
    grep 'request lock1#4' "$TMP/aryl.log" | sed 's/^/  /'
    ok "AskTerms -> terms() = (Terms{rent, lockout, maxInvalid}, string): slots 1000, 6, 3, a locator of the ${#notice}-byte notice; the lock has '$got'"
    # An answer the device cannot take (its signed call above max_command_bytes): refused, typed, nothing sent.
    kill -9 "$ARYL_PID"; wait "$ARYL_PID" 2>/dev/null || true
    ETH_KEY=gateway.json write_config 1 'eth_password_file = "eth.pw"
max_command_bytes = 160'
    start_gateway
    local before
    before=$(gw_sequence "$LOCK1")
    "$ALKYL" invoke lock AskTerms --device "$LOCK1" >/dev/null
    wait_for "$TMP/aryl.log" 'request lock1#5: terms() for Terms: dropped: too large' 30
    sleep 1
    grep -q '^dropped: request lock1#5.*too large' <<<"$("$ARYL" status "$TMP/aryl.toml")" || fail "the refusal is not in the status"
    [ "$(gw_sequence "$LOCK1")" = "$before" ] || fail "a refused answer reached the lock"
    grep 'request lock1#5' "$TMP/aryl.log" | sed 's/^/  /'
    ok "max_command_bytes = 160: the answer is refused (typed: too large), recorded in aryl status, nothing sent"
    # Idle over WebSocket: new heads arrive by subscription, the head is not polled.
    grep -q 'subscribed to new heads' "$TMP/aryl.log" || fail "no subscription"
    local polls
    polls=$(head_polls 2)
    [ "$polls" -le 2 ] || fail "$polls eth_blockNumber in 2 s with a subscription"
    ok "WebSocket: eth_subscribe(newHeads); $polls eth_blockNumber calls in 2 idle seconds"
}

# start_relay PORT: a TCP relay from 127.0.0.1:PORT to the chain (the node
# as the gateway sees it: stopping the relay makes the node unreachable).
start_relay() {
    python3 -c '
import socket, sys, threading
def pump(a, b):
    try:
        while (d := a.recv(65536)):
            b.sendall(d)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
host, port = sys.argv[2].rsplit(":", 1)
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen(64)
while True:
    c, _ = srv.accept()
    u = socket.create_connection((host, int(port)))
    for x, y in ((c, u), (u, c)):
        threading.Thread(target=pump, args=(x, y), daemon=True).start()
' "$1" "$CHAIN" &
    RELAY_PID=$!
    PIDS+=($RELAY_PID)
    for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$1" && return 0; sleep 0.1; done
    fail "the relay on $1 does not start"
}

test_node_down() {
    step "the node unreachable for a while (HTTP): the gateway keeps running, logs it once, catches up"
    start_anvil
    deploy_property
    start_lock 1
    local port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    start_relay "$port"
    RPC="http://127.0.0.1:$port" write_config 1
    start_gateway
    wait_for "$TMP/aryl.log" "lock1: set-time acknowledged" 30
    kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null || true
    pay 10 8080 >/dev/null
    mine 2
    wait_for "$TMP/aryl.log" 'the node fails' 10
    sleep 2
    kill -0 "$ARYL_PID" 2>/dev/null || fail "the gateway stopped with the node"
    grep -q 'PaymentEvent' "$TMP/aryl.log" && fail "an event seen without the node"
    start_relay "$port"
    wait_for "$TMP/aryl.log" 'the node answers again' 10
    wait_for "$TMP/aryl.log" 'lock1: SetPin acknowledged' 20
    [ "$(press "$LOCK1" 8080)" = 1 ] || fail "the PIN paid while the node was away does not open"
    local n
    n=$(count "$TMP/aryl.log" 'the node fails')
    [ "$n" -le 3 ] || fail "$n log lines for one outage"
    grep 'the node' "$TMP/aryl.log" | sed 's/^/  /'
    ok "2 s without the node: the gateway ran on ($n log line(s)), then acted on the payment made meanwhile"
}

test_depth() {
    step "confirmation depth per event kind (PaymentEvent 4, the rest 1), polling over HTTP; a reorg within the depth"
    start_anvil
    deploy_property
    start_lock 1
    RPC="http://$CHAIN" CONFIRMATIONS=1 write_config 1 '[event_confirmations]
PaymentEvent = 4'
    start_gateway
    wait_for "$TMP/aryl.log" "lock1: set-time acknowledged" 30
    grep -q 'polling the head (HTTP endpoint)' "$TMP/aryl.log" || fail "not polling over HTTP"
    local polls
    polls=$(head_polls 1)
    [ "$polls" -ge 5 ] || fail "HTTP: the head is not polled"
    pay 10 4242 >/dev/null
    mine 3
    sleep 1
    grep -q 'PaymentEvent.*queued' "$TMP/aryl.log" && fail "acted at 3 confirmations"
    rpc anvil_reorg '[4, []]' | grep -q '"result"' || fail "anvil_reorg"   # the payment's block and the 3 on it
    mine 4
    sleep 1
    grep -q 'PaymentEvent.*queued' "$TMP/aryl.log" && fail "a reorged payment was acted on"
    grep -q 'reorgs 0' <<<"$("$ARYL" status "$TMP/aryl.toml")" || fail "a reorg under the depth was seen"
    ok "3 confirmations: no action; the payment reorged away: never acted on"
    pay 10 4343 >/dev/null
    mine 3
    sleep 1
    grep -q 'PaymentEvent.*queued' "$TMP/aryl.log" && fail "acted at 3 confirmations"
    mine 1
    wait_for "$TMP/aryl.log" 'lock1: SetPin acknowledged' 20
    [ "$(press "$LOCK1" 4343)" = 1 ] || fail "the PIN does not open"
    ok "the next payment acted on at its 4th confirmation (HTTP polling, $polls eth_blockNumber/s)"
}

test_bump() {
    step "a report transaction stuck under a high base fee is replaced (same nonce, higher fees); kill -9 after the bump; relayed once"
    EXTRA='bump_blocks = 2' setup 1
    rpc evm_setAutomine '[false]' | grep -q '"result"' || fail "evm_setAutomine"
    [ "$(press "$LOCK1" 0009)" = 2 ] || fail "a wrong PIN opens"
    wait_for "$TMP/aryl.log" 'report lock1#1 from' 20
    sleep 1
    # Blocks the pending transaction cannot enter: 100 gwei base fee.
    rpc anvil_setNextBlockBaseFeePerGas '["0x174876e800"]' | grep -q '"result"' || fail "base fee"
    mine 1
    sleep 0.3
    mine 1
    wait_for "$TMP/aryl.log" 'report lock1#1: not mined' 20
    kill -9 "$ARYL_PID"; wait "$ARYL_PID" 2>/dev/null || true
    grep 'not mined' "$TMP/aryl.log" | sed 's/^/  /'
    start_gateway
    # The restarted gateway finds the pending transaction and bumps or
    # waits for it; a block a second until it is mined (one block mined
    # before the gateway is up would leave the chain still).
    mine_until "$TMP/aryl.log" 'report lock1#1 relayed' 30
    rpc evm_setAutomine '[true]' >/dev/null
    local n
    n=$(account_nonce)
    [ "$n" = 1 ] || fail "the gateway's account sent $n transactions"
    [ "$(count "$TMP/aryl.log" 'relayed: tx')" = 1 ] || fail "relayed twice"
    grep -q 'fee bumps [1-9]' <<<"$("$ARYL" status "$TMP/aryl.toml")" || fail "no bump in the status"
    ok "replaced after 2 blocks at the same nonce, mined once after a kill -9 (nonce 1, one relay)"
}

test_named() {
    step "a script naming one device (devices.lock2.SetPin): only that lock gets the PIN"
    start_anvil
    "$ALKYL" keygen --out "$TMP/gw" >/dev/null
    HPKE_PUB=$("$ARYL" hpke-keygen "$TMP/hpke")
    cat >"$TMP/named.aryl.alkyl" <<'ALKYL'
public void SetPin(char* pin, time_t expires);
On PaymentEvent(string encryptPin, uint32_t mins) {
    devices.lock2.SetPin(Decrypt(encryptPin), block.timestamp + (mins * 60));
}
ALKYL
    "$ARYL" build --solidity apps/aryl/Property.sol --contract Property --device apps/aryl/lock.air --app lock \
        --script "$TMP/named.aryl.alkyl" --hpke-public "$HPKE_PUB" -o "$TMP/property.json" >"$TMP/build.out"
    deploy_property
    start_lock 1
    start_lock 2
    write_config 2
    start_gateway
    wait_for "$TMP/aryl.log" "lock1: set-time acknowledged" 30
    wait_for "$TMP/aryl.log" "lock2: set-time acknowledged" 30
    pay 10 2580 >/dev/null
    mine 2
    wait_for "$TMP/aryl.log" 'lock2: SetPin acknowledged' 20
    sleep 1
    grep -q 'lock1: SetPin' "$TMP/aryl.log" && fail "lock1 got a call"
    grep -q 'PaymentEvent.*: 1 device calls queued' "$TMP/aryl.log" || fail "not one call"
    [ "$(press "$LOCK2" 2580)" = 1 ] && [ "$(press "$LOCK1" 2580)" = 2 ] || fail "the PIN is not on lock2 only"
    ok "devices.lock2.SetPin(...): 1 call, lock2 opens with 2580, lock1 does not"
}

TESTS=("$@")
[ ${#TESTS[@]} -gt 0 ] || TESTS=(story crash no_action reorg_after offline captured request depth node_down bump named)
for t in "${TESTS[@]}"; do
    ( . scripts/aryl-lib.sh; "test_$t" )
done
echo
echo "aryl-test: ${#TESTS[@]} tests passed"
