# The RIOT modules and settings of the Alkyl firmware, shared with the
# C-only baseline (baseline/Makefile) that measures the firmware without
# Alkyl: both link exactly these.

# Networking and CoAP: gcoap over GNRC/IPv6 on the board's default interface
# (nrf52840dk: the 802.15.4 radio; native64: a tap interface).
USEMODULE += gcoap
USEMODULE += sock_udp
USEMODULE += netdev_default
USEMODULE += auto_init_gnrc_netif
USEMODULE += gnrc_ipv6_default
USEMODULE += gnrc_icmpv6_echo

# Sensors and actuators (SAUL), timers.
USEMODULE += saul_default
USEMODULE += ztimer
USEMODULE += ztimer_msec
USEMODULE += ztimer_usec

# The record store (src/flash.rs): the last 80 KiB of the nRF52840's flash
# through periph_flashpage; on native, RIOT's file-backed MTD (MEMORY.bin).
ifneq (,$(filter native native32 native64,$(BOARD)))
  USEMODULE += mtd
else
  FEATURES_REQUIRED += periph_flashpage
endif

# native64 has no SAUL devices: src/sim.rs registers a simulated
# thermometer and heater switch there. (RIOT's mock GPIO LEDs,
# periph_gpio_mock, would give it two, but riot-wrappers 0.9.2 does not
# compile with them: gpio_t is a pointer there.)

DEVELHELP ?= 1
QUIET ?= 1

# gcoap's PDU buffer (128 bytes by default) bounds every request and
# response: larger datagrams are dropped unanswered. 1280 bytes hold a
# Block1 upload block of up to 1024 bytes (SZX 6; `alkyl upload` sends 256 by
# default) with its options, a run's input of about 1.2 KB, and a response
# of the runtime's Block2 size (512 bytes). gcoap keeps two such buffers
# (receive, and one for retransmitting its own confirmable messages).
CFLAGS += -DCONFIG_GCOAP_PDU_BUF_SIZE=1280

# Thread stacks, measured with DEVELHELP (the firmware prints each thread's
# high-water mark when it grows; README.md "Size"). gcoap's thread runs
# every request in the runtime (Ed25519 verification, heatshrink, the VM and
# its helpers); main runs triggered scripts from Runtime::poll, derives the
# device key (ALKYL_DEVICE_KEY) at boot and signs reports (Ed25519): on
# native64 main used 13,992 B with a device key against 5,664 B without, and
# with ed25519-compact the ARM estimate was 11,272 B (README.md "Stacks"),
# so main gets the same +12 KiB as gcoap.
CFLAGS += -DGCOAP_STACK_SIZE='(THREAD_STACKSIZE_DEFAULT+DEBUG_EXTRA_STACKSIZE+sizeof(coap_pkt_t)+12288)'
CFLAGS += -DTHREAD_STACKSIZE_MAIN='(THREAD_STACKSIZE_DEFAULT+THREAD_EXTRA_STACKSIZE_PRINTF+12288)'
