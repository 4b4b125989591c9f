/*
 * alkyl.h — the helper ABI of Alkyl scripts. The single source of truth:
 * the Rust side (crate alkyl-bindings, src/generated.rs) is generated from
 * this file with bindgen, and a test regenerates it and compares.
 *
 * Build a script:  clang -target bpf -mcpu=v3 -O2 -I bindings/include -c app.c -o app.o
 * Pack it:         alkyl pack app.o -o app.rbf
 *
 * Helper ids follow Femto-Container's numbering (0x01..0x61); Alkyl's
 * additions have new ids. Calling convention (eBPF): arguments in r1..r5,
 * result in r0. Pointers are addresses in the script's own regions (stack,
 * input, .data, .rodata, CoAP packet buffer); the host checks every pointer
 * argument and its length, and a bad pointer ends the run with a trap.
 * Handles (sensors, CoAP contexts) are small opaque integers, never host
 * pointers; 0 means "not found". Recoverable conditions are negative
 * return values (ALKYL_E*), never traps. docs/helpers.md has the details.
 */
#ifndef ALKYL_H
#define ALKYL_H

#include <stdint.h>

/* ---- helper ids ------------------------------------------------------- */

#define ALKYL_HELPER_PRINTF                 0x01
#define ALKYL_HELPER_MEMCPY                 0x02
#define ALKYL_HELPER_STORE_LOCAL            0x10
#define ALKYL_HELPER_STORE_GLOBAL           0x11
#define ALKYL_HELPER_FETCH_LOCAL            0x12
#define ALKYL_HELPER_FETCH_GLOBAL           0x13
#define ALKYL_HELPER_DELETE_LOCAL           0x14 /* Alkyl */
#define ALKYL_HELPER_DELETE_GLOBAL          0x15 /* Alkyl */
#define ALKYL_HELPER_NOW_MS                 0x20
#define ALKYL_HELPER_UNIX_TIME              0x21 /* Alkyl */
#define ALKYL_HELPER_REPORT                 0x22 /* Alkyl */
#define ALKYL_HELPER_SAUL_REG_FIND_NTH      0x30
#define ALKYL_HELPER_SAUL_REG_FIND_TYPE     0x31
#define ALKYL_HELPER_SAUL_REG_READ          0x32
#define ALKYL_HELPER_SAUL_REG_WRITE         0x33 /* Alkyl */
#define ALKYL_HELPER_SAUL_REG_WRITE_VALUE   0x34 /* Alkyl */
#define ALKYL_HELPER_GCOAP_RESP_INIT        0x40
#define ALKYL_HELPER_COAP_OPT_FINISH        0x41
#define ALKYL_HELPER_COAP_ADD_FORMAT        0x42
#define ALKYL_HELPER_COAP_GET_PDU           0x43
#define ALKYL_HELPER_FMT_S16_DFP            0x50
#define ALKYL_HELPER_FMT_U32_DEC            0x51
#define ALKYL_HELPER_ZTIMER_NOW             0x60
#define ALKYL_HELPER_ZTIMER_PERIODIC_WAKEUP 0x61

/* ---- return codes (negative errno values, as RIOT uses) --------------- */

#define ALKYL_OK       0
#define ALKYL_ENOENT   (-2)  /* no such key / entry */
#define ALKYL_ENODEV   (-19) /* no such device (bad sensor handle) */
#define ALKYL_EINVAL   (-22) /* argument out of range (bad CoAP handle, ...) */
#define ALKYL_ENOSPC   (-28) /* store or buffer full */
#define ALKYL_ERANGE   (-34) /* value does not fit (saul_reg_write_value) */
#define ALKYL_ENODATA  (-61) /* no data yet (the wall clock is not set) */
#define ALKYL_EBADMSG  (-74) /* the CoAP buffer holds no valid request */
#define ALKYL_ENOTSUP  (-95) /* device cannot do this (read an actuator-only device...) */

/* ---- limits ----------------------------------------------------------- */

#define ALKYL_PRINTF_MAX      256 /* bytes of output per printf call */
#define ALKYL_STRING_MAX      128 /* bytes read from a %s argument */
#define ALKYL_PHYDAT_DIM      3
#define ALKYL_REPORT_MAX      64  /* bytes of one report's payload */

/* ---- sensors and actuators (RIOT SAUL) -------------------------------- */

/* Device classes for saul_reg_find_type, as in RIOT's saul.h. */
#define ALKYL_SAUL_ACT_ANY      0x40
#define ALKYL_SAUL_ACT_LED_RGB  0x41
#define ALKYL_SAUL_ACT_SWITCH   0x44
#define ALKYL_SAUL_SENSE_ANY    0x80
#define ALKYL_SAUL_SENSE_BTN    0x81
#define ALKYL_SAUL_SENSE_TEMP   0x82
#define ALKYL_SAUL_SENSE_HUM    0x83
#define ALKYL_SAUL_SENSE_LIGHT  0x84

/* Units, as in RIOT's phydat.h. */
#define ALKYL_UNIT_UNDEF   0
#define ALKYL_UNIT_NONE    1
#define ALKYL_UNIT_TEMP_C  2
#define ALKYL_UNIT_TEMP_F  3
#define ALKYL_UNIT_TEMP_K  4
#define ALKYL_UNIT_LUX     5

/* A physical value, layout-compatible with RIOT's phydat_t:
 * the value of dimension i is val[i] * 10^scale. */
typedef struct alkyl_phydat {
    int16_t val[ALKYL_PHYDAT_DIM];
    int8_t unit;
    int8_t scale;
} alkyl_phydat_t;

/* ---- CoAP ------------------------------------------------------------- */

#define ALKYL_COAP_FORMAT_TEXT    0  /* text/plain; charset=utf-8 */
#define ALKYL_COAP_FORMAT_JSON    50 /* application/json */
#define ALKYL_COAP_FORMAT_CBOR    60 /* application/cbor */
#define ALKYL_COAP_OPT_FINISH_NONE    0x0000
#define ALKYL_COAP_OPT_FINISH_PAYLOAD 0x0001
#define ALKYL_COAP_CODE_CONTENT          ((2 << 5) | 5)  /* 2.05 */
#define ALKYL_COAP_CODE_CHANGED          ((2 << 5) | 4)  /* 2.04 */
#define ALKYL_COAP_CODE_BAD_REQUEST      ((4 << 5) | 0)  /* 4.00 */
#define ALKYL_COAP_CODE_NOT_FOUND        ((4 << 5) | 4)  /* 4.04 */
#define ALKYL_COAP_CODE_INTERNAL_ERROR   ((5 << 5) | 0)  /* 5.00 */

/* The context of a CoAP-triggered run. Such a run receives the request
 * payload in r1 (address) and r2 (length), like any input, and the address
 * of this context in r3. Layout-compatible with Femto-Container's bpf_coap_ctx_t on
 * the BPF target: three 8-byte fields. `pkt` is an opaque handle, `buf` the
 * address of the packet buffer region, `buf_len` its size. */
typedef struct alkyl_coap_ctx {
    uint64_t pkt;
    uint64_t buf;
    uint64_t buf_len;
} alkyl_coap_ctx_t;

/* ---- triggers ---------------------------------------------------------- */

#define ALKYL_TRIGGER_TIMER    1  /* every period_ms */
#define ALKYL_TRIGGER_RISING   2  /* a sensor's val[0] rose to the threshold or above */
#define ALKYL_TRIGGER_FALLING  3  /* a sensor's val[0] fell below the threshold */
#define ALKYL_TRIGGER_DELTA    4  /* a sensor's val[0] moved by at least the delta */

/* What a run started by a timer or sensor trigger receives in r1 (address,
 * read-only) and r2 (its length, 28). */
typedef struct alkyl_trigger_event {
    uint32_t kind;          /* ALKYL_TRIGGER_* */
    uint32_t trigger;       /* index among the app's declared triggers */
    uint32_t sensor;        /* SAUL position of the sensor (0 for timers) */
    uint32_t now_ms;        /* when it fired, ms since boot (wraps) */
    uint32_t count;         /* times this trigger fired, this one included */
    alkyl_phydat_t value;   /* the reading that fired it (zeros for timers) */
} alkyl_trigger_event_t;

/* The layouts scripts and hosts share (also checked on the Rust side). */
_Static_assert(sizeof(alkyl_phydat_t) == 8, "alkyl_phydat_t is 8 bytes");
_Static_assert(sizeof(alkyl_coap_ctx_t) == 24, "alkyl_coap_ctx_t is 24 bytes");
_Static_assert(sizeof(alkyl_trigger_event_t) == 28, "alkyl_trigger_event_t is 28 bytes");

/* ---- helper declarations (Femto-Container names) ---------------------- */

#ifdef __bpf__
typedef void bpf_saul_reg_t;           /* opaque: a handle, never dereferenced */
typedef alkyl_phydat_t phydat_t;
typedef alkyl_coap_ctx_t bpf_coap_ctx_t;

/* printf(fmt, up to 4 arguments): %d %i %u %x %X %o %c %s %p %%, flags
 * `-0 +`, width, precision, length `l`/`ll`/`h`/`hh`/`z`. Returns the
 * number of bytes written to the log. */
static long (*bpf_printf)(const char *fmt, ...) = (void *)ALKYL_HELPER_PRINTF;
/* memcpy(dest, src, n): memmove semantics; returns dest. */
static void *(*bpf_memcpy)(void *dest, const void *src, unsigned long n) = (void *)ALKYL_HELPER_MEMCPY;

/* Key-value store: u32 keys to u32 values, per app (local) and shared
 * (global). store returns 0 or ALKYL_ENOSPC; fetch writes the value (0 for
 * an absent key, as in Femto-Container) and returns 0; delete returns 0 or
 * ALKYL_ENOENT. */
static int (*bpf_store_local)(uint32_t key, uint32_t value) = (void *)ALKYL_HELPER_STORE_LOCAL;
static int (*bpf_store_global)(uint32_t key, uint32_t value) = (void *)ALKYL_HELPER_STORE_GLOBAL;
static int (*bpf_fetch_local)(uint32_t key, uint32_t *value) = (void *)ALKYL_HELPER_FETCH_LOCAL;
static int (*bpf_fetch_global)(uint32_t key, uint32_t *value) = (void *)ALKYL_HELPER_FETCH_GLOBAL;
static int (*bpf_delete_local)(uint32_t key) = (void *)ALKYL_HELPER_DELETE_LOCAL;
static int (*bpf_delete_global)(uint32_t key) = (void *)ALKYL_HELPER_DELETE_GLOBAL;

/* Milliseconds since boot (wraps at 2^32). */
static uint32_t (*bpf_now_ms)(void) = (void *)ALKYL_HELPER_NOW_MS;

/* The wall clock: writes the Unix time in seconds to *seconds and returns
 * 0, or returns ALKYL_ENODATA while the device's clock has not been set by
 * the gateway (a signed set-time command). Kept on the monotonic clock
 * since it was set (it drifts as the device's oscillator does). */
static int (*bpf_unix_time)(uint32_t *seconds) = (void *)ALKYL_HELPER_UNIX_TIME;

/* Queues a report of len bytes (at most ALKYL_REPORT_MAX) for the gateway;
 * the device signs and delivers it, retrying. Returns 0, ALKYL_EINVAL (too
 * long), ALKYL_ENOSPC (queue full: nothing queued) or ALKYL_ENOTSUP (the
 * host keeps no reports). */
static int (*bpf_report)(const void *data, uint32_t len) = (void *)ALKYL_HELPER_REPORT;

/* SAUL: find_nth(pos) is 0-based; find_type takes an ALKYL_SAUL_* class;
 * both return a handle or 0. read fills *data and returns the number of
 * dimensions (1..3) or a negative ALKYL_E*. write takes a value to set;
 * write_value sets val[0] = value, scale 0 (ALKYL_ERANGE beyond int16). */
static bpf_saul_reg_t *(*bpf_saul_reg_find_nth)(int pos) = (void *)ALKYL_HELPER_SAUL_REG_FIND_NTH;
static bpf_saul_reg_t *(*bpf_saul_reg_find_type)(uint8_t type) = (void *)ALKYL_HELPER_SAUL_REG_FIND_TYPE;
static int (*bpf_saul_reg_read)(bpf_saul_reg_t *dev, phydat_t *data) = (void *)ALKYL_HELPER_SAUL_REG_READ;
static int (*bpf_saul_reg_write)(bpf_saul_reg_t *dev, const phydat_t *data) = (void *)ALKYL_HELPER_SAUL_REG_WRITE;
static int (*bpf_saul_reg_write_value)(bpf_saul_reg_t *dev, int32_t value) = (void *)ALKYL_HELPER_SAUL_REG_WRITE_VALUE;

/* CoAP response building, as RIOT's gcoap: resp_init turns the request in
 * the packet buffer into a response with `code`; add_format adds a
 * Content-Format option; opt_finish ends the options (with the payload
 * marker for ALKYL_COAP_OPT_FINISH_PAYLOAD) and returns the length so far;
 * get_pdu returns the payload's address. Negative ALKYL_E* on error. */
static long (*bpf_gcoap_resp_init)(bpf_coap_ctx_t *ctx, unsigned code) = (void *)ALKYL_HELPER_GCOAP_RESP_INIT;
static long (*bpf_coap_opt_finish)(bpf_coap_ctx_t *ctx, unsigned flags) = (void *)ALKYL_HELPER_COAP_OPT_FINISH;
static long (*bpf_coap_add_format)(bpf_coap_ctx_t *ctx, uint32_t format) = (void *)ALKYL_HELPER_COAP_ADD_FORMAT;
static uint8_t *(*bpf_coap_get_pdu)(bpf_coap_ctx_t *ctx) = (void *)ALKYL_HELPER_COAP_GET_PDU;

/* RIOT fmt: write decimal text (no NUL) and return its length; out may be
 * NULL to only compute the length. fmt_s16_dfp prints val * 10^-fp_digits
 * (fp_digits > 0: that many decimals; < 0: trailing zeros). */
static unsigned long (*bpf_fmt_s16_dfp)(char *out, int16_t val, int fp_digits) = (void *)ALKYL_HELPER_FMT_S16_DFP;
static unsigned long (*bpf_fmt_u32_dec)(char *out, uint32_t val) = (void *)ALKYL_HELPER_FMT_U32_DEC;

/* Microseconds since boot (wraps at 2^32); wait until *last + period, then
 * store that time in *last. */
static uint32_t (*bpf_ztimer_now)(void) = (void *)ALKYL_HELPER_ZTIMER_NOW;
static int (*bpf_ztimer_periodic_wakeup)(uint32_t *last, uint32_t period) = (void *)ALKYL_HELPER_ZTIMER_PERIODIC_WAKEUP;
#endif /* __bpf__ */

#endif /* ALKYL_H */
