/* Network-order records: 8-byte records of a big-endian 16-bit field and a
 * big-endian 32-bit field (read as ntohs/ntohl do: a load and a byte swap),
 * each scaled by a divisor taken from the data (unsigned division and
 * remainder by a register, 32- and 64-bit). The byte swaps and the
 * divisions by a register of network and telemetry code. */
#include "kernel.h"

// bench-input: 512 seed 7
KERNEL(netsum) {
    u32 sum = 0, rem = 0;
    u64 acc = 0;
    for (u32 i = 0; i + 8 <= len; i += 8) {
        u16 h;
        u32 w;
        __builtin_memcpy(&h, buf + i, 2);
        __builtin_memcpy(&w, buf + i + 4, 4);
        u32 port = __builtin_bswap16(h);
        u32 word = __builtin_bswap32(w);
        u32 div = (port & 0xff) + 1;
        sum += word / div;
        rem ^= word % (port | 1);
        acc += ((u64)word << 16 | port) / (u64)(div + 3);
        acc ^= (acc << 8) % ((u64)word + 1);
    }
    return sum ^ rem ^ (u32)acc ^ (u32)(acc >> 32);
}
