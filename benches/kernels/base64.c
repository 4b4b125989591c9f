/* Base64 encoding with the alphabet in a .rodata table: 3 bytes in, 4
 * table lookups out, 48 bytes at a time into a 64-byte stack buffer, whose
 * text is hashed (FNV-1a 32). */
#include "kernel.h"

static const char ALPHABET[64] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// bench-input: 288 seed 15
KERNEL(base64) {
    u8 out[64];
    u32 h = 0x811c9dc5;
    u32 i = 0;
    while (i + 3 <= len) {
        u32 o = 0;
        for (; o < 64 && i + 3 <= len; o += 4, i += 3) {
            u32 v = ((u32)buf[i] << 16) | ((u32)buf[i + 1] << 8) | buf[i + 2];
            out[o] = ALPHABET[v >> 18];
            out[o + 1] = ALPHABET[(v >> 12) & 63];
            out[o + 2] = ALPHABET[(v >> 6) & 63];
            out[o + 3] = ALPHABET[v & 63];
        }
        for (u32 j = 0; j < o; j++)
            h = (h ^ out[j]) * 0x01000193;
    }
    return h ^ (len - i);
}
