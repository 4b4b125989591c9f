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

test_crash() {
    step "kill -9 of the gateway at random points: every action exactly once"
    setup 2
    local i kills=0
    for i in 1 2 3 4 5; do
        pay 10 "100$i" >/dev/null
        mine 2
        # Kill at a random moment of the handling, then restart.
        sleep "0.$((RANDOM % 4))$((RANDOM % 10))"
        kill -9 "$ARYL_PID"; wait "$ARYL_PID" 2>/dev/null || true
        kills=$((kills + 1))
        start_gateway
    done
    # set-time + 5 SetPin, each accepted once by each lock.
    wait_sequence "$LOCK1" 6 30
    wait_sequence "$LOCK2" 6 30
    sleep 1
    [ "$(gw_sequence "$LOCK1")" = 6 ] && [ "$(gw_sequence "$LOCK2")" = 6 ] || fail "a command ran twice"
    local st
    st=$("$ARYL" status "$TMP/aryl.toml")
    grep -q 'events handled 5 ' <<<"$st" || fail "journal: $st"
    [ "$(press "$LOCK1" 1005)" = 1 ] && [ "$(press "$LOCK2" 1005)" = 1 ] || fail "the last PIN does not open"
    ok "$kills kills: 5 payments, 6 commands per lock (sequences 1..6), 5 journal entries, the last PIN opens"
}

test_no_action() {
    step "events of another contract, a wrong HPKE AAD, a reorg before the confirmation depth: no action"
    setup 1
    local other
    other=$("$ARYL" deploy --rpc "$WS" --eth-key "$TMP/landlord.eth" --artifact "$TMP/property.json" \
        --args "$GATEWAY_ADDR,1000,6")
    PAY_CONTRACT=$other pay 10 4321 >/dev/null
    mine 3
    pay 10 5555 --aad-mins 11 >/dev/null
    mine 3
    wait_for "$TMP/aryl.log" 'refused: the sealed PIN does not open' 10
    ok "a PIN sealed for 11 minutes, paid for 10: refused"
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
    step "a reorg deeper than the confirmations after the action: the PIN is revoked"
    setup 1
    pay 10 7777 >/dev/null
    mine 2
    wait_for "$TMP/aryl.log" 'lock1: SetPin acknowledged' 20
    [ "$(press "$LOCK1" 7777)" = 1 ] || fail "the PIN does not open"
    rpc anvil_reorg '[4, []]' | grep -q '"result"' || fail "anvil_reorg"
    mine 1
    wait_for "$TMP/aryl.log" 'compensated' 20
    wait_sequence "$LOCK1" 3 20
    [ "$(press "$LOCK1" 7777)" = 2 ] || fail "the revoked PIN still opens"
    grep 'reorg' "$TMP/aryl.log" | sed 's/^/  /'
    ok "the payment's block was replaced: SetPin(0, 0) sent, the PIN no longer opens"
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
    # Idle over WebSocket: new heads arrive by subscription, the head is not polled.
    grep -q 'subscribed to new heads' "$TMP/aryl.log" || fail "no subscription"
    local polls
    polls=$(head_polls 2)
    [ "$polls" -le 2 ] || fail "$polls eth_blockNumber in 2 s with a subscription"
    ok "WebSocket: eth_subscribe(newHeads); $polls eth_blockNumber calls in 2 idle seconds"
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
    sleep 1
    mine 1
    wait_for "$TMP/aryl.log" 'report lock1#1 relayed' 20
    rpc evm_setAutomine '[true]' >/dev/null
    local n
    n=$(rpc eth_getTransactionCount "[\"$GATEWAY_ADDR\", \"latest\"]" | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["result"], 16))')
    [ "$n" = 1 ] || fail "the gateway's account sent $n transactions"
    [ "$(count "$TMP/aryl.log" 'relayed: tx')" = 1 ] || fail "relayed twice"
    grep -q 'fee bumps [1-9]' <<<"$("$ARYL" status "$TMP/aryl.toml")" || fail "no bump in the status"
    ok "replaced after 2 blocks at the same nonce, mined once after a kill -9 (nonce 1, one relay)"
}

TESTS=("$@")
[ ${#TESTS[@]} -gt 0 ] || TESTS=(story crash no_action reorg_after offline request depth bump)
for t in "${TESTS[@]}"; do
    ( . scripts/aryl-lib.sh; "test_$t" )
done
echo
echo "aryl-test: ${#TESTS[@]} tests passed"
