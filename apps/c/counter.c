/* A counter kept in the key-value store: each run increments the app's own
 * counter and a global one shared by all apps, and returns the new local
 * value. `reset` deletes the local counter. */
#include "alkyl.h"

#define COUNTER_KEY 0x1

uint32_t increment(void)
{
    uint32_t local = 0, global = 0;
    bpf_fetch_local(COUNTER_KEY, &local);
    bpf_fetch_global(COUNTER_KEY, &global);
    local++;
    global++;
    if (bpf_store_local(COUNTER_KEY, local) < 0 || bpf_store_global(COUNTER_KEY, global) < 0) {
        return 0;
    }
    return local;
}

int reset(void)
{
    return bpf_delete_local(COUNTER_KEY);
}
