/* 64-bit arithmetic: a xorshift64* generator seeded from the buffer, 4
 * draws per input byte, each counted with a SWAR popcount and folded in.
 * 64-bit shifts, multiplies and masks (two words each on a 32-bit core). */
#include "kernel.h"

static u32 popcount64(u64 x) {
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (u32)((x * 0x0101010101010101ULL) >> 56);
}

// bench-input: 128 seed 17
KERNEL(prng64) {
    u64 s = 0x9e3779b97f4a7c15ULL;
    u32 bits = 0;
    u64 acc = 0;
    for (u32 i = 0; i < len; i++) {
        s ^= (u64)buf[i] << ((i & 7) * 8);
        for (u32 k = 0; k < 4; k++) {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            u64 r = s * 0x2545f4914f6cdd1dULL;
            bits += popcount64(r);
            acc += r >> 7;
        }
    }
    return (u32)(acc ^ (acc >> 32)) + bits;
}
