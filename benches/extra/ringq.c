/* A bounded FIFO of 16-bit events in a ring buffer on the stack, as an
 * event loop keeps one: each input byte either enqueues an event (a type and
 * a value) or, when the queue is full or the byte says so, drains the
 * oldest few, folding them into a running digest. Written after round 6b's
 * changes, as an unseen kernel. */
#include "kernel.h"

#define QLEN 32

// bench-input: 384 seed 21
KERNEL(ringq) {
    u16 q[QLEN];
    u32 head = 0, tail = 0, count = 0;
    u32 digest = 5381, dropped = 0;
    for (u32 i = 0; i + 1 < len; i += 2) {
        u32 kind = buf[i] & 7;
        u32 value = buf[i + 1];
        if (kind < 5 && count < QLEN) {
            q[tail] = (u16)(kind << 8 | value);
            tail = (tail + 1) % QLEN;
            count++;
        } else {
            if (kind >= 5 && count == QLEN)
                dropped++;
            u32 n = kind == 7 ? count : (count < 3 ? count : 3);
            while (n--) {
                u32 e = q[head];
                head = (head + 1) % QLEN;
                count--;
                digest = digest * 33 + (e >> 8) * 7 + (e & 255);
            }
        }
    }
    while (count--) {
        digest = digest * 33 + q[head];
        head = (head + 1) % QLEN;
    }
    return digest ^ (dropped << 24) ^ tail;
}
