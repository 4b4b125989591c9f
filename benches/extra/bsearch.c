/* Binary search of each 16-bit key of the input in a sorted table of 64
 * signed thresholds in .rodata (a calibration or lookup curve): the index
 * found selects a bucket whose counter on the stack is bumped; the counters
 * are then folded. Data-dependent branches and table loads. Written after
 * round 6b's changes, as an unseen kernel. */
#include "kernel.h"

static const short CURVE[64] = {
    -32000, -30500, -29000, -27000, -25000, -23500, -22000, -20000,
    -18000, -16500, -15000, -13500, -12000, -10500, -9000,  -7800,
    -6600,  -5500,  -4500,  -3600,  -2800,  -2100,  -1500,  -1000,
    -600,   -300,   -100,   0,      100,    300,    600,    1000,
    1500,   2100,   2800,   3600,   4500,   5500,   6600,   7800,
    9000,   10500,  12000,  13500,  15000,  16500,  18000,  20000,
    22000,  23500,  25000,  27000,  29000,  30500,  31500,  32000,
    32100,  32200,  32300,  32400,  32500,  32600,  32700,  32767,
};

// bench-input: 512 seed 33
KERNEL(bsearch) {
    u32 buckets[16];
    for (int b = 0; b < 16; b++)
        buckets[b] = 0;
    for (u32 i = 0; i + 1 < len; i += 2) {
        short key = (short)(buf[i] | buf[i + 1] << 8);
        int lo = 0, hi = 63;
        while (lo < hi) {
            int mid = (lo + hi) >> 1;
            if (CURVE[mid] < key)
                lo = mid + 1;
            else
                hi = mid;
        }
        buckets[lo >> 2]++;
    }
    u32 h = 0;
    for (int b = 0; b < 16; b++)
        h = h * 31 + buckets[b];
    return h;
}
