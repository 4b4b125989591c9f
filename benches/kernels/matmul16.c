/* 16-bit matrix multiply: the buffer holds two 8x8 matrices of signed
 * 16-bit entries (little-endian); the 32-bit product is accumulated on the
 * stack and folded into a checksum. */
#include "kernel.h"

#define N 8

// bench-input: 256 seed 14
KERNEL(matmul16) {
    if (len < 4 * N * N)
        return 0;
    const short *a = (const short *)buf;
    const short *b = (const short *)(buf + 2 * N * N);
    int c[N * N];
    for (u32 i = 0; i < N; i++)
        for (u32 j = 0; j < N; j++) {
            int acc = 0;
            for (u32 k = 0; k < N; k++)
                acc += a[i * N + k] * b[k * N + j];
            c[i * N + j] = acc;
        }
    u32 sum = 0;
    for (u32 i = 0; i < N * N; i++)
        sum = (sum << 1 | sum >> 31) ^ (u32)c[i];
    return sum;
}
