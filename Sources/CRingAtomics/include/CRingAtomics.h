// Atomic accesses to virtqueue ring fields that live in shared guest memory.
//
// The split virtqueue protocol (virtio 1.2, 2.7) synchronizes a driver and a device through
// two 16-bit indices (avail.idx, used.idx) and two event fields (used_event, avail_event).
// Everything else (descriptors, ring entries) is plain memory ordered by these accesses:
//   writer: plain stores of descriptors/entries, then a RELEASE store of the index;
//   reader: ACQUIRE load of the index, then plain loads of what it covers.
// The notification decision additionally needs a full (seq_cst) fence between publishing an
// index and reading the peer's event field, otherwise both sides can miss each other's update.
//
// These are static inline so that Swift calls compile to single instructions (no call).
#ifndef C_RING_ATOMICS_H
#define C_RING_ATOMICS_H

#include <stdint.h>

static inline uint16_t vq_load_acquire_u16(const void *p) {
    return __atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE);
}
static inline uint16_t vq_load_relaxed_u16(const void *p) {
    return __atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED);
}
static inline void vq_store_release_u16(void *p, uint16_t v) {
    __atomic_store_n((uint16_t *)p, v, __ATOMIC_RELEASE);
}
static inline void vq_store_relaxed_u16(void *p, uint16_t v) {
    __atomic_store_n((uint16_t *)p, v, __ATOMIC_RELAXED);
}
/// Full barrier: orders an earlier store before a later load (store-load), which acquire/release cannot.
/// On x86-64 a locked add to the stack is a full barrier for ordinary memory and costs about half
/// of MFENCE (Linux's smp_mb() uses it for the same reason); elsewhere the C11 fence.
static inline void vq_fence_seq_cst(void) {
#if defined(__x86_64__)
    __asm__ __volatile__("lock; addl $0,-4(%%rsp)" ::: "memory", "cc");
#else
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}
static inline void vq_fence_acquire(void) { __atomic_thread_fence(__ATOMIC_ACQUIRE); }
static inline void vq_fence_release(void) { __atomic_thread_fence(__ATOMIC_RELEASE); }

#endif
