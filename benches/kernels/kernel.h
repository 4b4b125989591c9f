/* The benchmark kernels' shared conventions.
 *
 * Every kernel is one exported function `uint32_t NAME(uint8_t *buf, uint32_t len)`
 * written so that the same source compiles for the host (native), eBPF
 * (clang -target bpf -O2: no globals, no rodata, no helper calls, no
 * library calls, so `.text` is the whole program) and wasm32. */
#ifndef ALKYL_KERNEL_H
#define ALKYL_KERNEL_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

#if defined(__wasm__)
#define KERNEL(name) __attribute__((export_name(#name))) u32 name(u8 *buf, u32 len)
#elif defined(ALKYL_NATIVE)
/* Linked into the benchmark binary: prefixed so no libc name (crc32) clashes. */
#define KERNEL(name) u32 alkyl_native_##name(u8 *buf, u32 len)
#else
#define KERNEL(name) u32 name(u8 *buf, u32 len)
#endif

#endif
