/* Flag bits: a status byte per record, each bit tested and counted, and a
 * running mask updated from them. */
#include "kernel.h"

// bench-input: 384 seed 3
KERNEL(flags) {
    u32 counts[4] = {0, 0, 0, 0};
    u32 mask = 0;
    for (u32 i = 0; i < len; i++) {
        u32 f = buf[i];
        if (f & 0x01)
            counts[0]++;
        if (f & 0x04)
            counts[1] += 2;
        if ((f & 0x30) == 0x30)
            counts[2]++;
        if (f & 0x80)
            mask ^= f << (i & 15);
        else
            mask += f;
        if (mask & 0x10000)
            counts[3]++;
    }
    return counts[0] + (counts[1] << 8) + (counts[2] << 16) + (counts[3] << 24) + mask;
}
