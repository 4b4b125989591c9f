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

.PHONY: all deps build run test conformance thumb fuzz riot clean apps sizes diff-ir fuzz-ir bench-ir

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
	@$(MAKE) --no-print-directory thumb

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

# The device crates must build for the nRF52840 (Cortex-M4F): the VM, the
# helpers, and the IR translator without std.
thumb: deps
	$(CARGO) build --release -p alkyl-vm -p alkyl-bindings --target $(THUMB_TARGET)
	$(CARGO) build --release -p alkyl-translator --no-default-features --target $(THUMB_TARGET)

# RIOT firmware (riot-module/riot): needs a RIOT checkout, c2rust and the
# board's toolchain (see riot-module/riot/README.md); not part of test or CI.
#   make riot RIOTBASE=/path/to/RIOT [BOARD=nrf52840dk|native64]
BOARD ?= nrf52840dk
riot:
	@if [ -z "$(RIOTBASE)" ]; then \
	  echo "make riot: RIOTBASE is not set. Pass RIOTBASE=/path/to/RIOT (a RIOT checkout);" \
	       "see riot-module/riot/README.md." >&2; exit 1; fi
	$(MAKE) -C riot-module/riot BOARD=$(BOARD) RIOTBASE=$(abspath $(RIOTBASE))

FUZZ_SECONDS ?= 60
FUZZ_TARGET  ?= verify_run
fuzz:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd fuzz && $(CARGO) +nightly fuzz run $(FUZZ_TARGET) -- -max_total_time=$(FUZZ_SECONDS)

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
