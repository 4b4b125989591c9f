# Alkyl — top-level tasks. `make run` and `make test` set up everything they
# need on a fresh Debian machine (apt packages, the Cortex-M4 Rust target).

BPF_CONFORMANCE_DIR ?= ../shared/conformance/bpf_conformance
PAPER_INPUT         ?= ../shared/data/fletcher32-input.bin
CARGO               ?= cargo
THUMB_TARGET        := thumbv7em-none-eabihf
ALKYL               := target/release/alkyl

SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
# Debian packages the build, the example apps and the integration tests use.
APT_PACKAGES := clang llvm libclang-dev libcoap3-bin

.PHONY: all deps build run test conformance thumb fuzz clean apps sizes bench-coap

all: build

# Installs what is missing, and only that (fast when already set up).
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	@rustup target list --installed 2>/dev/null | grep -qx $(THUMB_TARGET) || rustup target add $(THUMB_TARGET)

build: deps
	$(CARGO) build --release --bin alkyl --bin alkyl-node

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

test: deps
	$(CARGO) test --workspace
	$(CARGO) build --release -p alkyl-vm -p alkyl-bindings -p alkyl-runtime --target $(THUMB_TARGET)

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

conformance: build
	$(ALKYL) conformance $(BPF_CONFORMANCE_DIR)

# alkyl-vm, alkyl-bindings and alkyl-runtime must build for the nRF52840 (Cortex-M4F).
thumb: deps
	$(CARGO) build --release -p alkyl-vm -p alkyl-bindings -p alkyl-runtime --target $(THUMB_TARGET)

FUZZ_SECONDS ?= 60
FUZZ_TARGET  ?= verify_run
fuzz:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	@mkdir -p fuzz/corpus/$(FUZZ_TARGET)
	cd fuzz && $(CARGO) +nightly fuzz run $(FUZZ_TARGET) corpus/$(FUZZ_TARGET) \
	  $(patsubst fuzz/%,%,$(wildcard fuzz/seeds/$(FUZZ_TARGET))) -- -max_total_time=$(FUZZ_SECONDS)

# CoAP throughput and latency: POST /apps/NAME/run on alkyl-node next to
# libcoap's coap-server-notls, same load generator (docs/benchmarks.md, CoAP).
BENCH_CLIENTS ?= 4
BENCH_SECONDS ?= 5
bench-coap: build
	$(CARGO) build --release --bin alkyl-coap-load
	BENCH_CLIENTS=$(BENCH_CLIENTS) BENCH_SECONDS=$(BENCH_SECONDS) scripts/bench-coap.sh

clean:
	$(CARGO) clean
