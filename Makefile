# Alkyl — top-level tasks. `make run` and `make test` set up everything they
# need on a fresh Debian machine (apt packages, the Cortex-M4 Rust target).

BPF_CONFORMANCE_DIR ?= ../shared/conformance/bpf_conformance
PAPER_INPUT         ?= ../shared/data/fletcher32-input.bin
CARGO               ?= cargo
THUMB_TARGET        := thumbv7em-none-eabihf
# Cargo's target directory (CARGO_TARGET_DIR when set, as CI's copy of the
# clone does to reuse one build).
TARGET_DIR          := $(or $(CARGO_TARGET_DIR),target)
ALKYL               := $(TARGET_DIR)/release/alkyl
export ALKYL
export NODE_BIN     := $(TARGET_DIR)/release/alkyl-node
# The Aryl gateway: its own workspace (gateway/, alloy), its own target
# directory unless CARGO_TARGET_DIR says otherwise.
GATEWAY_TARGET      := $(or $(CARGO_TARGET_DIR),gateway/target)
export ARYL         := $(GATEWAY_TARGET)/release/aryl

SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
# Debian packages the build, the example apps and the integration tests use
# (lld: wasm-ld, for the benchmark kernels' Wasm form, built by `make test`;
# python3-venv: aiocoap's environment, below).
APT_PACKAGES := clang llvm libclang-dev libcoap3-bin lld python3-venv
# aiocoap (PyPI; Debian has no package), for the tests that run every
# documented CoAP operation from it (riot-module/node/tests/any_client.rs):
# a virtual environment in the target directory.
AIOCOAP_VERSION := 0.4.17
PYENV           := $(TARGET_DIR)/pyenv
export ALKYL_AIOCOAP_CLIENT := $(abspath $(PYENV))/bin/aiocoap-client
# ... and what the benchmarks add: bindgen (the wasm3 crate's build), QEMU,
# the Arm cross toolchain and newlib (Cortex-M4 image and C kernel).
BENCH_APT_PACKAGES := bindgen qemu-system-arm gcc-arm-none-eabi binutils-arm-none-eabi libnewlib-arm-none-eabi valgrind

.PHONY: all deps chain-deps aryl-test bench-aryl bench-deps build run test conformance thumb fuzz riot clean apps sizes diff-ir fuzz-ir bench-ir diff-lang fuzz-lang bench-lang bench bench-insns bench-cm4 bench-coap bench-size

all: build

# Installs the Debian packages in $(1) that are missing, and only those.
define apt_install
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
endef

# Installs what is missing, and only that (fast when already set up).
deps: chain-deps
	$(call apt_install,$(APT_PACKAGES) $(CHAIN_APT_PACKAGES))
	@rustup target list --installed 2>/dev/null | grep -qx $(THUMB_TARGET) || rustup target add $(THUMB_TARGET)
	@$(PYENV)/bin/python3 -c 'import aiocoap' 2>/dev/null || \
	  { python3 -m venv $(PYENV) && $(PYENV)/bin/pip install -q aiocoap==$(AIOCOAP_VERSION); }

# The chain toolchain of the Aryl gateway (package.json, pinned by
# package-lock.json): anvil, solc-js, HPKE for the payer. node/npm from Debian
# when missing; `npm ci` only when node_modules is older than the lockfile.
ANVIL := node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
# ... and what the chain scripts use (JSON-RPC calls, a free port, GET /auth).
CHAIN_APT_PACKAGES := curl python3
export ANVIL
chain-deps: node_modules/.package-lock.json

node_modules/.package-lock.json: package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nodejs npm; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

bench-deps: deps
	$(call apt_install,$(BENCH_APT_PACKAGES))

build: deps
	$(CARGO) build --release --bin alkyl --bin alkyl-node
	$(CARGO) build --release --manifest-path gateway/Cargo.toml

# The main job, end to end: assemble Fletcher32 and run it on the VM over the
# project's own input and, when present, the rBPF paper's input; then the
# device demo (scripts/demo.sh): alkyl-node on loopback with simulated
# sensors and a fresh key, the example apps uploaded signed and compressed,
# run over CoAP, a sensor-triggered run, a clean shutdown.
run: build apps
	@echo "== alkyl: Fletcher32 (apps/asm/fletcher32.s) on the verified VM"
	$(ALKYL) verify apps/asm/fletcher32.s
	$(ALKYL) run apps/asm/fletcher32.s --mem-file apps/data/sample-361.bin --stats
	@if [ -f $(PAPER_INPUT) ]; then \
	  echo "== the paper's input (expected 0x5bac8c3d)"; \
	  $(ALKYL) run apps/asm/fletcher32.s --mem-file $(PAPER_INPUT) --stats; \
	fi
	@scripts/demo.sh
	@echo "== the chain story: a contract programs and commands the devices (scripts/aryl-demo.sh)"
	@scripts/aryl-demo.sh

test: deps
	$(CARGO) test --workspace
	$(CARGO) test -p alkyl-vm --no-default-features   # the compact build
	$(CARGO) test -p alkyl-runtime --no-default-features --features ir   # runtime on it
	@$(MAKE) --no-print-directory thumb
	@$(MAKE) --no-print-directory aryl-test

# The Aryl gateway's benchmarks (docs/benchmarks.md): chain-to-device
# latency with 2 locks, fan-out to ARYL_FANOUT locks, gateway memory.
bench-aryl: build
	scripts/aryl-bench.sh

# The Aryl gateway's tests: its unit tests, then the integration tests on a
# real anvil and real nodes on loopback (scripts/aryl-test.sh), with the
# debug binaries (`cargo test` of a binary crate builds its test harness,
# not the binary: build it too).
aryl-test: chain-deps
	$(CARGO) test --manifest-path gateway/Cargo.toml
	$(CARGO) build --manifest-path gateway/Cargo.toml
	$(CARGO) build --bin alkyl --bin alkyl-node
	ALKYL=$(TARGET_DIR)/debug/alkyl NODE_BIN=$(TARGET_DIR)/debug/alkyl-node ARYL=$(GATEWAY_TARGET)/debug/aryl scripts/aryl-test.sh

# Example apps (apps/c/*.c) with clang's BPF backend; flags in apps/bpf.flags
# (-target bpf -mcpu=v3 -O2 -ffreestanding -I bindings/include), objects in
# apps/build/ (git-ignored). `alkyl run apps/build/hello.o` runs one.
APPS_C     := $(wildcard apps/c/*.c)
APPS_OBJ   := $(patsubst apps/c/%.c,apps/build/%.o,$(APPS_C))
BPF_CFLAGS := $(shell cat apps/bpf.flags)

apps: deps $(APPS_OBJ)

apps/build/%.o: apps/c/%.c apps/bpf.flags bindings/include/alkyl.h
	@mkdir -p apps/build
	clang $(BPF_CFLAGS) -c $< -o $@

# Sizes of each app: .text, packed container, heatshrink-compressed
# container (window 8, lookahead 4). Reported in docs/container.md.
sizes: apps build
	@for o in $(APPS_OBJ); do \
	  printf '%-12s ' $$(basename $$o .o); \
	  $(ALKYL) pack $$o -o $${o%.o}.rbf --stats 2>/dev/null || exit 1; \
	done

# On both engines: the reference interpreter and the fast engine, first by
# our own runner (`alkyl conformance`: also checks the assembler against the
# suite's reference bytecode and the negative cases), then by the suite's own
# C++ runner with `alkyl` as its plugin, as users of the suite run it
# (built once from BPF_CONFORMANCE_RUNNER_DIR into the target directory).
BPF_CONFORMANCE_RUNNER_DIR ?= $(dir $(BPF_CONFORMANCE_DIR))bpf_conformance-runner
CONFORMANCE_APT_PACKAGES := cmake g++ libboost-dev libboost-program-options-dev libboost-filesystem-dev
conformance: build
	$(call apt_install,$(CONFORMANCE_APT_PACKAGES))
	$(ALKYL) conformance $(BPF_CONFORMANCE_DIR)
	$(ALKYL) conformance $(BPF_CONFORMANCE_DIR) --engine fast
	RUNNER_SRC=$(BPF_CONFORMANCE_RUNNER_DIR) SUITE=$(BPF_CONFORMANCE_DIR) TARGET_DIR=$(TARGET_DIR) \
	  scripts/bpf-conformance-runner.sh

# The device crates must build for the nRF52840 (Cortex-M4F): the VM, the
# helpers, the device runtime, the protocol crate without alloc (its core),
# and the IR translator without std.
thumb: deps
	$(CARGO) build --release -p alkyl-vm -p alkyl-bindings -p alkyl-runtime --target $(THUMB_TARGET)
	$(CARGO) build --release -p alkyl-protocol --target $(THUMB_TARGET)
	$(CARGO) build --release -p alkyl-translator --target $(THUMB_TARGET)

# RIOT firmware (riot-module/riot): needs a RIOT checkout, c2rust and the
# board's toolchain (see riot-module/riot/README.md); not part of test or CI.
#   make riot RIOTBASE=/path/to/RIOT [BOARD=nrf52840dk|native64] [ALKYL_TRUSTED_KEY=dev.pub]
#     [ALKYL_DEVICE_KEY=device.key] [ALKYL_GATEWAY='[2001:db8::1]:5683/reports']
BOARD ?= nrf52840dk
riot:
	@if [ -z "$(RIOTBASE)" ]; then \
	  echo "make riot: RIOTBASE is not set. Pass RIOTBASE=/path/to/RIOT (a RIOT checkout);" \
	       "see riot-module/riot/README.md." >&2; exit 1; fi
	$(MAKE) -C riot-module/riot BOARD=$(BOARD) RIOTBASE=$(abspath $(RIOTBASE)) \
	  ALKYL_TRUSTED_KEY=$(if $(ALKYL_TRUSTED_KEY),$(abspath $(ALKYL_TRUSTED_KEY))) \
	  ALKYL_DEVICE_KEY=$(if $(ALKYL_DEVICE_KEY),$(abspath $(ALKYL_DEVICE_KEY))) \
	  ALKYL_GATEWAY='$(ALKYL_GATEWAY)'

FUZZ_SECONDS ?= 60
# verify_run: arbitrary bytes; run_valid: mostly-valid programs;
# fast_vs_ref: the fast engine against the reference interpreter;
# container: container parse+verify; envelope: upload envelopes through the
# runtime; coap_request: datagram sequences through the CoAP handler and
# Block1; flash_image: arbitrary flash regions under the record store.
# (`make fuzz FUZZ_TARGETS=container`.) fuzz/seeds/TARGET, when present,
# seeds the corpus.
FUZZ_TARGETS ?= verify_run run_valid fast_vs_ref container envelope coap_request flash_image
fuzz:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd fuzz && for t in $(FUZZ_TARGETS); do \
	  mkdir -p corpus/$$t; \
	  $(CARGO) +nightly fuzz run $$t corpus/$$t $$(test -d seeds/$$t && echo seeds/$$t) \
	    -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

# Alkyl IR: the differential sweep at scale (interpreter vs translation on
# the VM; `make test` runs 400 programs), its fuzzers, and its numbers.
DIFF_CASES ?= 100000
diff-ir:
	ALKYL_DIFF_CASES=$(DIFF_CASES) $(CARGO) test --release -p alkyl-translator --test ir_differential -- --nocapture

fuzz-ir:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd fuzz && $(CARGO) +nightly fuzz run ir_diff -- -max_total_time=$(FUZZ_SECONDS)
	cd fuzz && $(CARGO) +nightly fuzz run ir_parse -- -max_total_time=$(FUZZ_SECONDS)

bench-ir: deps
	$(CARGO) run --release -p alkyl-benches --bin ir_numbers

# The Alkyl language: the language-level differential sweep at scale
# (generated programs: an independent evaluator against the IR interpreter
# and the VM; `make test` runs 3000), the front end's fuzzer, its numbers.
DIFF_LANG_CASES ?= 1000000
diff-lang:
	DIFF_LANG_CASES=$(DIFF_LANG_CASES) $(CARGO) test --release -p alkyl-lang --test diff -- --nocapture

fuzz-lang:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd fuzz && mkdir -p corpus/lang_front && $(CARGO) +nightly fuzz run lang_front corpus/lang_front seeds/lang_front \
	  -- -max_total_time=$(FUZZ_SECONDS) -max_len=4096

bench-lang: deps
	$(CARGO) run --release -p alkyl-benches --bin lang_numbers

# The kernels of bench, bench-insns and bench-cm4: the C files of
# benches/kernels, or of BENCH_KERNELS=DIR (your own, following the kernel
# convention of docs/benchmarks.md, "Your own kernels").
ifdef BENCH_KERNELS
override BENCH_KERNELS := $(abspath $(BENCH_KERNELS))
export BENCH_KERNELS
endif

# Host benchmark suite: every kernel on native, Alkyl (fast and reference),
# rbpf (interpreter, JIT), wasmi and wasm3; table + target/bench/results.json.
bench: bench-deps
	$(CARGO) run --release -p alkyl-benches --features peers --bin alkyl-bench

# Host instructions per run (callgrind; independent of the machine's load):
# the table in docs/benchmarks.md. KERNELS=..., CONTENDERS=..., RUNS=50.
bench-insns: bench-deps
	$(CARGO) build --release -p alkyl-benches --features peers --bin alkyl-bench
	scripts/bench-insns.sh

# Cortex-M4 (QEMU mps2-an386): instruction counts of Fletcher32 and of the
# suite, flash and RAM of the VM; table + target/bench/cm4.json. The
# counting plugin is built here. CM4_OPT=s (or z, 3) builds one opt-level.
BENCH_PLUGIN := target/bench/libinsn_windows.so
bench-cm4: bench-deps
	@mkdir -p target/bench
	$(CC) -O2 -Wall -Wextra -shared -fPIC -o $(BENCH_PLUGIN) benches/cm4/plugin/insn_windows.c
	$(CARGO) run --release -p alkyl-benches --bin alkyl-bench-cm4 -- --plugin $(BENCH_PLUGIN) $(if $(CM4_OPT),--opt $(CM4_OPT))

# The device runtime's footprint: bare-metal nRF52840 size images of the
# runtime (benches/size), one per feature set (none, runtime-compact,
# runtime-fast, runtime-fast-ir), opt-level "s"; flash and RAM, the
# breakdown by crate; table + target/bench/size.json. Needs only `make
# deps` (the Cortex-M4 target, llvm's llvm-size and llvm-nm). The driver
# runs in the debug profile: `make test` has built its dependencies.
bench-size: deps
	$(CARGO) run -p alkyl-benches --bin alkyl-bench-size

# CoAP throughput and latency: POST /apps/NAME/run on alkyl-node next to
# libcoap's coap-server-notls, same load generator (docs/benchmarks.md, CoAP).
BENCH_CLIENTS ?= 4
BENCH_SECONDS ?= 5
# (python3 picks a free port for coap-server-notls).
bench-coap: build
	$(call apt_install,python3)
	$(CARGO) build --release --bin alkyl-coap-load
	BENCH_CLIENTS=$(BENCH_CLIENTS) BENCH_SECONDS=$(BENCH_SECONDS) scripts/bench-coap.sh

clean:
	$(CARGO) clean
