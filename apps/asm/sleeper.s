# Waits in bpf_ztimer_periodic_wakeup (helper 0x61; a device caps each wait
# at 10 ms) for ever: at the default budget, ~28 minutes of waiting on a
# device without a wall-time limit. The device tests use it to check that
# a run stops at its time limit (docs/helpers.md, "Time limit").
    stw [%r10-8], 0
loop:
    mov %r1, %r10
    sub %r1, 8
    mov %r2, 1000000
    call 97                 # bpf_ztimer_periodic_wakeup(&last, 1 s)
    ja loop
    exit
