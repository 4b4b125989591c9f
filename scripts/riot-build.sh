#!/bin/sh
# Builds the Alkyl RIOT firmware (riot-module/riot) for native64 and
# nrf52840dk, and the C-only size baseline (riot-module/riot/baseline: the
# same RIOT modules, no Alkyl) for nrf52840dk, then prints text/data/bss of
# each and the nrf52840dk firmware's flash by origin and by Rust crate
# (scripts/riot-sizes.py). Not part of `make test` or CI: it needs a RIOT
# checkout, c2rust, libclang and arm-none-eabi-gcc (riot-module/riot/README.md).
#
#   scripts/riot-build.sh /path/to/RIOT [BOARD...]      (default: native64 nrf52840dk)
#
# Environment:
#   ALKYL_TRUSTED_KEY, ALKYL_DEVICE_KEY, ALKYL_GATEWAY  passed to the firmware build
#   RIOT_PKG_MIRRORS=DIR   offline: DIR holds bare git mirrors of the packages
#       RIOT downloads, named OWNER+NAME.git (NordicSemiconductor+nrfx.git,
#       ARM-software+CMSIS_5.git, mpaland+printf.git); git is pointed at them
#       with GIT_CONFIG_* url.<mirror>.insteadOf variables. Each mirror must
#       allow filtered fetches by commit id (RIOT fetches with
#       --filter=blob:none): `git -C M config uploadpack.allowFilter true;
#       git -C M config uploadpack.allowAnySHA1InWant true`.
#   DEVELHELP=0            a production build (no RIOT debug checks, no
#       stack statistics); passed to make, which gives it to modules.inc.mk
#       (default 1) for the firmware and the baseline alike
#   NICE=N                 run the builds with `nice -n N` (default 10)
#   JOBS=N                 make -j (default 2)
#
# Nothing of RIOT is copied into this repository: the builds go to
# riot-module/riot/bin/ and riot-module/riot/baseline/bin/ (git-ignored).
set -eu

RIOTBASE=${1:?usage: scripts/riot-build.sh /path/to/RIOT [BOARD...]}
shift
RIOTBASE=$(cd "$RIOTBASE" && pwd)
[ -f "$RIOTBASE/Makefile.include" ] || { echo "$RIOTBASE is not a RIOT checkout" >&2; exit 1; }
BOARDS=${*:-native64 nrf52840dk}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
APP=$ROOT/riot-module/riot
NICE=${NICE:-10}
JOBS=${JOBS:-2}

# Key files relative to where the script is run (the firmware's Makefile
# would take them relative to riot-module/riot).
for v in ALKYL_TRUSTED_KEY ALKYL_DEVICE_KEY; do
	eval "f=\${$v:-}"
	if [ -n "$f" ]; then
		[ -f "$f" ] || { echo "$v=$f: no such file" >&2; exit 1; }
		export "$v=$(cd "$(dirname "$f")" && pwd)/$(basename "$f")"
	fi
done

if [ -n "${RIOT_PKG_MIRRORS:-}" ]; then
	n=0
	for m in "$RIOT_PKG_MIRRORS"/*+*.git; do
		[ -d "$m" ] || continue
		name=$(basename "$m" .git)
		export "GIT_CONFIG_KEY_$n=url.$m.insteadOf"
		export "GIT_CONFIG_VALUE_$n=https://github.com/$(echo "$name" | tr + /)"
		n=$((n + 1))
	done
	export GIT_CONFIG_COUNT=$n
fi

build() { # DIR BOARD
	echo "== $(basename "$1") for $2" >&2
	nice -n "$NICE" make -C "$1" -j"$JOBS" BOARD="$2" RIOTBASE="$RIOTBASE" QUIET=1 all >&2
}

for board in $BOARDS; do
	build "$APP" "$board"
done
case " $BOARDS " in *" nrf52840dk "*) build "$APP/baseline" nrf52840dk ;; esac

echo "RIOT $(git -C "$RIOTBASE" describe --always --dirty 2>/dev/null || echo '?') ($(git -C "$RIOTBASE" rev-parse --short=10 HEAD 2>/dev/null || echo '?')), $(date -u +%Y-%m-%d)"
for board in $BOARDS; do
	case $board in native*) size=size ;; *) size=arm-none-eabi-size ;; esac
	$size "$APP/bin/$board/alkyl.elf" | sed "s|$APP/||"
done
case " $BOARDS " in
*" nrf52840dk "*)
	arm-none-eabi-size "$APP/baseline/bin/nrf52840dk/alkyl-baseline.elf" | tail -n 1 | sed "s|$APP/||"
	python3 "$ROOT/scripts/riot-sizes.py" --nm=arm-none-eabi-nm \
		"$APP/bin/nrf52840dk/alkyl.elf" "$APP/bin/nrf52840dk/alkyl.map" alkyl_riot
	;;
esac
