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

.PHONY: all deps build run test conformance thumb fuzz clean diff-ir fuzz-ir bench-ir

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
	$(CARGO) build --release --bin alkyl

# The main job, end to end: assemble Fletcher32 and run it on the VM over the
# project's own input and, when present, the rBPF paper's input.
run: build
	@echo "== alkyl: Fletcher32 (apps/asm/fletcher32.s) on the verified VM"
	$(ALKYL) verify apps/asm/fletcher32.s
	$(ALKYL) run apps/asm/fletcher32.s --mem-file apps/data/sample-361.bin --stats
	@if [ -f $(PAPER_INPUT) ]; then \
	  echo "== the paper's input (expected 0x5bac8c3d)"; \
	  $(ALKYL) run apps/asm/fletcher32.s --mem-file $(PAPER_INPUT) --stats; \
	fi

test: deps
	$(CARGO) test --workspace
	$(CARGO) build --release -p alkyl-vm --target $(THUMB_TARGET)
	$(CARGO) build -p alkyl-translator --no-default-features --target $(THUMB_TARGET)

conformance: build
	$(ALKYL) conformance $(BPF_CONFORMANCE_DIR)

# alkyl-vm must build for the nRF52840 (Cortex-M4F).
thumb: deps
	$(CARGO) build --release -p alkyl-vm --target $(THUMB_TARGET)

FUZZ_SECONDS ?= 60
fuzz:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd fuzz && $(CARGO) +nightly fuzz run verify_run -- -max_total_time=$(FUZZ_SECONDS)

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

clean:
	$(CARGO) clean
