/* Fletcher-32 over little-endian 16-bit words (an odd last byte is ignored),
 * as in the rBPF / Femto-Container benchmark: the paper's 361 bytes give
 * 0x5bac8c3d. `buf` must be 2-byte aligned (eBPF forbids unaligned loads). */
#include "kernel.h"

KERNEL(fletcher32) {
    const u16 *data = (const u16 *)buf;
    u32 words = len / 2;
    u32 c0 = 0, c1 = 0;
    while (words) {
        /* 359 words is the longest block whose sums cannot overflow 32 bits. */
        u32 block = words > 359 ? 359 : words;
        words -= block;
        do {
            c0 += *data++;
            c1 += c0;
        } while (--block);
        c0 %= 65535;
        c1 %= 65535;
    }
    return (c1 << 16) | c0;
}
