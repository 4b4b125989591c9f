/* CRC-32 (IEEE 802.3, reflected, polynomial 0xedb88320), bit by bit: no
 * table, so the program needs no .rodata. */
#include "kernel.h"

// bench-input: 256 seed 1
KERNEL(crc32) {
    u32 crc = 0xffffffff;
    for (u32 i = 0; i < len; i++) {
        crc ^= buf[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320 & (0 - (crc & 1)));
    }
    return ~crc;
}
