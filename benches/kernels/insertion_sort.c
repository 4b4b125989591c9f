/* Insertion sort of up to 120 16-bit words copied onto the stack: the inner
 * loop's branch depends on the data; returns a position-weighted sum. */
#include "kernel.h"

#define N 120

// bench-input: 240 seed 12
KERNEL(insertion_sort) {
    u16 a[N];
    u32 n = len / 2;
    if (n > N)
        n = N;
    for (u32 i = 0; i < n; i++)
        a[i] = (u16)(buf[2 * i] | (buf[2 * i + 1] << 8));
    for (u32 i = 1; i < n; i++) {
        u16 v = a[i];
        u32 j = i;
        while (j > 0 && a[j - 1] > v) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = v;
    }
    u32 sum = 0;
    for (u32 i = 0; i < n; i++)
        sum += (i + 1) * a[i];
    return sum;
}
