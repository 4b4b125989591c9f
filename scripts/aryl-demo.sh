#!/usr/bin/env bash
# The Aryl chain story (issue 13, docs/aryl.md), after scripts/demo.sh in
# `make run`: anvil on a free port, the property contract carrying the
# lock's Alkyl IR and the Aryl script, the gateway `aryl`, two simulated
# locks (alkyl-node) that trust only the gateway's key, a tenant paying with
# an HPKE-sealed PIN, both locks getting the code and the PIN, the right PIN
# unlocking, three wrong attempts reported and relayed, the contract's
# lock-out on both locks until it ends, an unauthenticated SetPin refused.
# It stops everything it started.
#
# Needs target/release/{alkyl,alkyl-node}, gateway/target/release/aryl and
# node_modules (`make deps`).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/aryl-lib.sh
LOCKOUT=${ARYL_LOCKOUT:-6}   # seconds a lock-out lasts (short for the demo)

step "anvil: a local Ethereum chain on a free port"
start_anvil
echo "  chain on $CHAIN; gateway account $GATEWAY_ADDR"

step "aryl build: Property.sol + the lock (Alkyl IR) + the Aryl script -> one contract; deploy"
deploy_property
sed 's/^/  /' "$TMP/build.out"
echo "  deployed Property at $CONTRACT (the gateway's HPKE key and the modules' hashes inside)"
step "aryl inspect: what the devices will run, read back from the chain (hashes checked)"
# (Into a file first: `head` closing the pipe early would stop aryl with SIGPIPE.)
"$ARYL" inspect --rpc "$WS" "$CONTRACT" >"$TMP/inspect.out"
head -12 "$TMP/inspect.out" | sed 's/^/  /'
echo "  ..."

step "two simulated locks (alkyl-node) trusting only the gateway's key, reporting to it"
start_lock 1; start_lock 2
echo "  lock1 on $LOCK1, lock2 on $LOCK2"
write_config 2

step "aryl run: the gateway follows the contract, installs its code on both locks"
start_gateway
wait_for "$TMP/aryl.log" 'lock1: set-time acknowledged' 20
wait_for "$TMP/aryl.log" 'lock2: set-time acknowledged' 20
sed 's/^/  /' "$TMP/aryl.log"

step "a tenant pays for 10 minutes with the PIN 1234 sealed to the gateway (HPKE)"
show pay 10 1234
mine 2
wait_for "$TMP/aryl.log" 'lock1: SetPin acknowledged' 20
wait_for "$TMP/aryl.log" 'lock2: SetPin acknowledged' 20
grep -E 'PaymentEvent|SetPin' "$TMP/aryl.log" | sed 's/^/  /'

step "the right PIN opens both locks (1 = unlocked, 2 = beeped)"
R1=$(press "$LOCK1" 1234); R2=$(press "$LOCK2" 1234)
echo "  lock1: 1234 -> $R1; lock2: 1234 -> $R2"
[ "$R1" = 1 ] && [ "$R2" = 1 ] || fail "the right PIN did not unlock"

step "three wrong attempts on lock1: each is reported, relayed to the contract, which locks the property out (the script tells the contract the locks were told: a transaction)"
for i in 1 2 3; do echo "  lock1: 000$i -> $(press "$LOCK1" 000$i)"; done
wait_for "$TMP/aryl.log" 'report lock1#3 relayed' 30
mine 2
wait_for "$TMP/aryl.log" 'lock1: LockOut acknowledged' 20
wait_for "$TMP/aryl.log" 'lock2: LockOut acknowledged' 20
wait_for "$TMP/aryl.log" 'lockoutApplied relayed: tx .* ok' 20
grep -E 'report|LockOut|lockoutApplied' "$TMP/aryl.log" | sed 's/^/  /'
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
"$ARYL" status "$TMP/aryl.toml" >"$TMP/status.out"
sed 's/^/  /' "$TMP/status.out"

step "the gateway's whole output never holds the plaintext PIN"
# As text or as the calls' input bytes (hex, little-endian); as a word,
# so a hash or a timestamp with those digits inside does not count.
if grep -w -e 1234 -e 31323334 "$TMP/aryl.log" "$TMP/status.out"; then fail "the gateway logged the plaintext PIN"; fi
echo "  $(wc -l <"$TMP/aryl.log") log lines and the status: no 1234, no 31323334"
echo
echo "aryl demo: done (anvil, two locks and the gateway stopped)"
