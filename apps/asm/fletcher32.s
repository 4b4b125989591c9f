# Fletcher-32 over little-endian 16-bit words, as in the rBPF paper's benchmark.
# In:  r1 = address of the data, r2 = its length in bytes (an odd last byte is ignored).
# Out: r0 = (c1 << 16) | c0.
    mov %r3, %r2
    rsh %r3, 1              # words left
    mov %r4, 0              # c0
    mov %r5, 0              # c1
outer:
    jeq %r3, 0, done
    mov %r6, %r3            # block = min(words, 359): the sums cannot overflow 32 bits
    jle %r6, 359, block
    mov %r6, 359
block:
    sub %r3, %r6
inner:
    ldxh %r7, [%r1]
    add %r4, %r7
    add %r5, %r4
    add %r1, 2
    sub %r6, 1
    jne %r6, 0, inner
    mod %r4, 65535
    mod %r5, 65535
    ja outer
done:
    mov %r0, %r5
    lsh %r0, 16
    or %r0, %r4
    exit
