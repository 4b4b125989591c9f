#!/usr/bin/env bash
# The public bpf_conformance suite through its own C++ runner, as users of
# the suite run it: `bpf_conformance_runner --plugin_path alkyl
# --plugin_options bpf-conformance-plugin`, on both engines (`make
# conformance`). Builds the runner once from its sources (MIT, Alan Jowett;
# cmake + Boost) into the target directory: the sources are copied there,
# because the runner's CMakeLists copies `tests/` from beside itself and the
# shared folder is read-only.
#
# Needs: RUNNER_SRC (the runner's sources), SUITE (the .data files), ALKYL
# (the alkyl binary), TARGET_DIR (Cargo's target directory).
set -euo pipefail
: "${RUNNER_SRC:?}" "${SUITE:?}" "${ALKYL:?}" "${TARGET_DIR:?}"
[ -f "$RUNNER_SRC/CMakeLists.txt" ] || { echo "no bpf_conformance runner sources at $RUNNER_SRC" >&2; exit 1; }
[ -d "$SUITE" ] || { echo "no bpf_conformance suite at $SUITE" >&2; exit 1; }
suite=$(cd "$SUITE" && pwd)
alkyl=$(cd "$(dirname "$ALKYL")" && pwd)/$(basename "$ALKYL")
work=$TARGET_DIR/bpf_conformance_runner
runner=$work/build/bin/bpf_conformance_runner
if [ ! -x "$runner" ]; then
  echo "== building bpf_conformance_runner (once)"
  rm -rf "$work"
  mkdir -p "$work"
  cp -r "$RUNNER_SRC" "$work/src"
  chmod -R u+w "$work/src"
  rm -rf "$work/src/tests"
  ln -s "$suite" "$work/src/tests"
  cmake -S "$work/src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release >"$work/cmake.log" 2>&1 \
    || { cat "$work/cmake.log" >&2; exit 1; }
  make -C "$work/build" -j"$(nproc)" bpf_conformance_runner >"$work/make.log" 2>&1 \
    || { tail -n 40 "$work/make.log" >&2; exit 1; }
fi
status=0
for options in "bpf-conformance-plugin" "bpf-conformance-plugin --engine fast"; do
  log=$work/run-${options//[ -]/_}.log
  "$runner" --test_file_directory "$suite" --plugin_path "$alkyl" --plugin_options "$options" \
    --cpu_version v4 --include_groups callx packet >"$log" 2>&1 || true
  summary=$(grep -E '^Passed [0-9]+ out of [0-9]+ tests\.$' "$log" || true)
  if [ -z "$summary" ]; then
    echo "bpf_conformance_runner ($options): no summary; see $log" >&2
    tail -n 20 "$log" >&2
    status=1
    continue
  fi
  passed=$(echo "$summary" | awk '{print $2}')
  run=$(echo "$summary" | awk '{print $5}')
  echo "bpf_conformance_runner ($options): $passed passed, $((run - passed)) failed"
  if [ "$passed" != "$run" ] || [ "$run" -eq 0 ]; then
    grep -E '^(FAIL|ERROR):' "$log" | head -n 20 >&2
    status=1
  fi
done
exit $status
