/* FNV-1a, 64-bit: one multiply by a 64-bit prime per byte (64-bit
 * arithmetic costs double on a 32-bit core, which this kernel exposes). */
#include "kernel.h"

// bench-input: 1024 seed 2
KERNEL(fnv1a) {
    u64 h = 0xcbf29ce484222325ULL;
    for (u32 i = 0; i < len; i++) {
        h ^= buf[i];
        h *= 0x100000001b3ULL;
    }
    return (u32)(h ^ (h >> 32));
}
