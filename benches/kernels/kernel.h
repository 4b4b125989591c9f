/* The benchmark kernels' shared conventions.
 *
 * Every kernel is one exported function `uint32_t NAME(uint8_t *buf, uint32_t len)`
 * written so that the same source compiles for the host (native), eBPF
 * (clang -target bpf -O2: no writable globals, no library calls) and
 * wasm32. The only calls out are the KV helpers below. */
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

/* The runtime's local key-value helpers (alkyl.h: `bpf_store_local`,
 * `bpf_fetch_local`): `store_local(key, value)`, `fetch_local(key, &value)`
 * (an absent key reads 0); both return 0 or a negative error. On eBPF they
 * are the helper calls (ids 16 and 18, the documented helper convention);
 * natively and on Wasm they are host functions the benchmark harness
 * supplies over the same store (docs/benchmarks.md, "The KV-helper
 * kernel"). A kernel that uses them is a helper kernel: it runs where the
 * harness supplies them. */
#if defined(__bpf__)
static int (*const store_local)(u32 key, u32 value) = (void *)16;
static int (*const fetch_local)(u32 key, u32 *value) = (void *)18;
#elif defined(__wasm__)
__attribute__((import_module("env"), import_name("store_local"))) int store_local(u32 key, u32 value);
__attribute__((import_module("env"), import_name("fetch_local"))) int fetch_local(u32 key, u32 *value);
#else
int alkyl_store_local(u32 key, u32 value);
int alkyl_fetch_local(u32 key, u32 *value);
#define store_local alkyl_store_local
#define fetch_local alkyl_fetch_local
#endif

#endif
