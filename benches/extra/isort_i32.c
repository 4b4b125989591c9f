/* Insertion sort of signed 32-bit values in place, then a signed checksum. */
#include "kernel.h"

// bench-input: 256 seed 5
KERNEL(isort_i32) {
    int *a = (int *)buf;
    int n = (int)(len / 4);
    for (int i = 1; i < n; i++) {
        int v = a[i];
        int j = i - 1;
        while (j >= 0 && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
    int sum = 0;
    for (int i = 0; i < n; i++)
        sum = sum * 31 + (a[i] >> 3);
    return (u32)sum;
}
