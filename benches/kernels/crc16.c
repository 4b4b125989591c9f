/* CRC-16/CCITT-FALSE (polynomial 0x1021, initial 0xffff), bit by bit, MSB
 * first: 16-bit values in 32-bit registers, a data-dependent branch per
 * bit. */
#include "kernel.h"

// bench-input: 256 seed 18
KERNEL(crc16) {
    u32 crc = 0xffff;
    for (u32 i = 0; i < len; i++) {
        crc ^= (u32)buf[i] << 8;
        for (u32 k = 0; k < 8; k++) {
            if (crc & 0x8000)
                crc = ((crc << 1) ^ 0x1021) & 0xffff;
            else
                crc = (crc << 1) & 0xffff;
        }
    }
    return crc;
}
