/* insn_windows: a QEMU TCG plugin that counts executed guest instructions
 * between two marker functions, exactly and repeatably.
 *
 * Usage: -plugin libinsn_windows.so,start=0xADDR,end=0xADDR
 * Every instruction adds one to a counter (an inline add, cheap); executing
 * the first instruction at `start` snapshots the counter, executing the one
 * at `end` prints "window N: C" with C the instructions from the first
 * instruction of `start` up to, not including, the first of `end`. At exit
 * it prints the total. With `hist=N` it also prints the N addresses executed
 * most often inside windows (a profile of the interpreter's hot paths).
 *
 * Debian's QEMU (7.2) loads plugins but ships no qemu-plugin.h, so the few
 * declarations of the documented plugin API (version 1) this file needs are
 * written out here. */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- QEMU plugin API, version 1 (the subset used) ---- */
typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
typedef struct qemu_info_t qemu_info_t; /* only passed through */
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn, enum qemu_plugin_op op, void *ptr,
                                                uint64_t imm);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
void qemu_plugin_outs(const char *string);
#define QEMU_PLUGIN_EXPORT __attribute__((visibility("default")))
QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1;
/* ---- end of API declarations ---- */

static uint64_t count;   /* instructions executed so far (single vCPU) */
static uint64_t started; /* count when the window opened */
static bool open;
static unsigned windows;
static uint64_t start_addr, end_addr;
static uint64_t hist_n;

/* Per-address execution counts inside windows (hist mode): an open-
 * addressed table keyed by instruction address. */
#define HIST_SLOTS 65536
static struct { uint64_t pc, n; } hist[HIST_SLOTS];

static void on_insn(unsigned int vcpu, void *udata) {
    (void)vcpu;
    if (!open)
        return;
    uint64_t pc = (uint64_t)(uintptr_t)udata;
    for (uint64_t i = (pc >> 1) % HIST_SLOTS, k = 0; k < HIST_SLOTS; i = (i + 1) % HIST_SLOTS, k++) {
        if (hist[i].pc == pc || hist[i].pc == 0) {
            hist[i].pc = pc;
            hist[i].n++;
            return;
        }
    }
}

static int by_count(const void *a, const void *b) {
    const uint64_t x = ((const uint64_t *)a)[1], y = ((const uint64_t *)b)[1];
    return x < y ? 1 : x > y ? -1 : 0;
}

static void on_start(unsigned int vcpu, void *udata) {
    (void)vcpu, (void)udata;
    started = count;
    open = true;
}

static void on_end(unsigned int vcpu, void *udata) {
    (void)vcpu, (void)udata;
    char line[64];
    if (!open) {
        qemu_plugin_outs("insn_windows: end marker without start\n");
        return;
    }
    snprintf(line, sizeof line, "window %u: %" PRIu64 "\n", windows++, count - started);
    qemu_plugin_outs(line);
    open = false;
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t pc = qemu_plugin_insn_vaddr(insn);
        /* Whichever order QEMU runs a marker's callback and its inline add
         * in, it is the same for both markers: a window's length is exact
         * (the harness subtracts an empty window's count). */
        if (pc == start_addr)
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_start, QEMU_PLUGIN_CB_NO_REGS, NULL);
        if (pc == end_addr)
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_end, QEMU_PLUGIN_CB_NO_REGS, NULL);
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &count, 1);
        if (hist_n)
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_insn, QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)pc);
    }
}

static void on_atexit(qemu_plugin_id_t id, void *udata) {
    (void)id, (void)udata;
    char line[64];
    snprintf(line, sizeof line, "total: %" PRIu64 "\n", count);
    qemu_plugin_outs(line);
    if (hist_n) {
        qsort(hist, HIST_SLOTS, sizeof hist[0], by_count);
        for (uint64_t i = 0; i < hist_n && i < HIST_SLOTS && hist[i].n; i++) {
            snprintf(line, sizeof line, "hot %#" PRIx64 ": %" PRIu64 "\n", hist[i].pc, hist[i].n);
            qemu_plugin_outs(line);
        }
    }
}

static bool parse_addr(const char *arg, const char *key, uint64_t *out) {
    size_t k = strlen(key);
    if (strncmp(arg, key, k) != 0 || arg[k] != '=')
        return false;
    /* Thumb function symbols carry the interworking bit; instructions don't. */
    *out = strtoull(arg + k + 1, NULL, 0) & ~(uint64_t)1;
    return true;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (!parse_addr(argv[i], "start", &start_addr) && !parse_addr(argv[i], "end", &end_addr) &&
            !(strncmp(argv[i], "hist=", 5) == 0 && (hist_n = strtoull(argv[i] + 5, NULL, 0), 1))) {
            fprintf(stderr, "insn_windows: unknown argument %s (want start=ADDR,end=ADDR[,hist=N])\n", argv[i]);
            return -1;
        }
    }
    if (!start_addr || !end_addr) {
        fprintf(stderr, "insn_windows: start= and end= are required\n");
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_atexit, NULL);
    return 0;
}
