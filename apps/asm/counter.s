# A counter in the app's key-value namespace (key 1): fetch, add one,
# store, return the new value (0xdead when the store is full). The device
# tests use it; apps/c/counter.c is the same in C.
    stw [%r10-8], 0
    mov %r1, 1
    mov %r2, %r10
    sub %r2, 8
    call 0x12               # bpf_fetch_local(1, &value)
    ldxw %r0, [%r10-8]
    add %r0, 1
    stxw [%r10-8], %r0
    mov %r1, 1
    mov %r2, %r0
    call 0x10               # bpf_store_local(1, value)
    jne %r0, 0, full
    ldxw %r0, [%r10-8]
    exit
full:
    mov %r0, 0xdead
    exit
