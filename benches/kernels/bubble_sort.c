/* Bubble sort of the buffer's bytes, in place (the harness restores the
 * input before every run); returns a position-weighted sum of the result. */
#include "kernel.h"

// bench-input: 64 seed 3
KERNEL(bubble_sort) {
    for (u32 n = len; n > 1; n--) {
        u32 swapped = 0;
        for (u32 i = 1; i < n; i++) {
            u8 a = buf[i - 1], b = buf[i];
            if (a > b) {
                buf[i - 1] = b;
                buf[i] = a;
                swapped = 1;
            }
        }
        if (!swapped)
            break;
    }
    u32 sum = 0;
    for (u32 i = 0; i < len; i++)
        sum += (i + 1) * buf[i];
    return sum;
}
