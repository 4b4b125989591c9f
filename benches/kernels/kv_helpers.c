/* KV-helper loop: per-key running tallies kept in the runtime's key-value
 * store through its helpers (one fetch and one store per pair of input
 * bytes, 16 keys), then read back. The keys are reset first, so a run's
 * result does not depend on earlier runs. What a script that keeps state
 * between events does. */
// bench-input: 128 seed 6
#include "kernel.h"

KERNEL(kv_helpers) {
    u32 h = 0x811c9dc5;
    for (u32 k = 0; k < 16; k++)
        store_local(k, k);
    for (u32 i = 0; i + 1 < len; i += 2) {
        u32 key = buf[i] & 15;
        u32 v = 0;
        fetch_local(key, &v);
        v = v * 31 + buf[i + 1];
        store_local(key, v);
        h = (h ^ v) * 0x01000193;
    }
    for (u32 k = 0; k < 16; k++) {
        u32 v = 0;
        fetch_local(k, &v);
        h = (h ^ v) * 0x01000193;
    }
    return h;
}
