/* Arrays on the stack through computed pointers: the input is folded into
 * a 64-word histogram and a 32-word ring on the stack, indexed by values
 * computed from the data, then both are summed with a walking pointer.
 * Exercises stack loads and stores whose addresses are computed at run
 * time (on eBPF: r10-relative pointers held in other registers). */
#include "kernel.h"

// bench-input: 256 seed 11
KERNEL(stack_array) {
    u32 hist[64];
    u32 ring[32];
    for (u32 i = 0; i < 64; i++)
        hist[i] = 0;
    for (u32 i = 0; i < 32; i++)
        ring[i] = i;
    u32 *h = hist;
    for (u32 i = 0; i < len; i++) {
        u32 b = buf[i];
        h[b & 63] += b;
        ring[(i + b) & 31] ^= h[(b >> 2) & 63] + i;
    }
    u32 sum = 0;
    for (u32 *p = hist; p < hist + 64; p++)
        sum = sum * 3 + *p;
    for (u32 *p = ring; p < ring + 32; p++)
        sum ^= *p + (sum << 5);
    return sum;
}
