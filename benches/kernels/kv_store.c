/* A key-value store loop: the first half of the buffer holds 16-bit keys,
 * the second half is an open-addressed table of (key, count) u32 pairs that
 * the kernel clears, fills (counting duplicates) and probes; returns a
 * checksum of the lookups. Exercises stores, loads and data-dependent
 * branches on a writable region. */
#include "kernel.h"

#define SLOTS 32u /* table: 32 slots of 8 bytes = 256 bytes */

static u32 hash(u32 k) {
    k ^= k >> 7;
    k *= 0x9e3779b1u;
    return k >> 27; /* 5 bits: 0..31 */
}

KERNEL(kv_store) {
    if (len < 8 * SLOTS + 2)
        return 0;
    u32 nkeys = (len - 8 * SLOTS) / 2;
    u32 *table = (u32 *)(buf + len - 8 * SLOTS);
    for (u32 i = 0; i < 2 * SLOTS; i++)
        table[i] = 0;
    u32 used = 0;
    for (u32 i = 0; i < nkeys; i++) {
        u32 key = ((u32)buf[2 * i] | ((u32)buf[2 * i + 1] << 8)) + 1; /* 0 marks empty */
        u32 s = hash(key);
        for (u32 probe = 0; probe < SLOTS; probe++) {
            u32 k = table[2 * s];
            if (k == key) {
                table[2 * s + 1]++;
                break;
            }
            if (k == 0) {
                if (used == SLOTS - 1)
                    break; /* keep one slot free so lookups end */
                table[2 * s] = key;
                table[2 * s + 1] = 1;
                used++;
                break;
            }
            s = (s + 1) & (SLOTS - 1);
        }
    }
    u32 sum = 0;
    for (u32 i = 0; i < nkeys; i += 3) {
        u32 key = ((u32)buf[2 * i] | ((u32)buf[2 * i + 1] << 8)) + 1;
        u32 s = hash(key);
        for (;;) {
            u32 k = table[2 * s];
            if (k == key) {
                sum = sum * 31 + table[2 * s + 1];
                break;
            }
            if (k == 0)
                break;
            s = (s + 1) & (SLOTS - 1);
        }
    }
    return sum ^ used;
}
