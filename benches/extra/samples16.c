/* Signed 16-bit sensor samples: absolute values, clamping, a moving average
 * and threshold crossings, as a sensor script does. */
#include "kernel.h"

// bench-input: 512 seed 9
KERNEL(samples16) {
    short *s = (short *)buf;
    int n = (int)(len / 2);
    int avg = 0, crossings = 0, peak = 0, prev = 0;
    for (int i = 0; i < n; i++) {
        int x = s[i];
        if (x > 12000)
            x = 12000;
        else if (x < -12000)
            x = -12000;
        int m = x < 0 ? -x : x;
        if (m > peak)
            peak = m;
        avg += (x - avg) >> 3;
        if ((prev < 0) != (x < 0))
            crossings++;
        prev = x;
    }
    return (u32)(avg * 65599 + crossings * 257 + peak);
}
