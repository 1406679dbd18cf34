// GNU-only Linux names that Swift's Glibc module does not export (see shared/PLATFORM.md).
// The .c file defines _GNU_SOURCE; this header stays free of libc types so it imports cleanly.
#ifndef C_LINUX_SHIM_H
#define C_LINUX_SHIM_H

#include <stddef.h>
#include <stdint.h>

/// O_DIRECT for this architecture (the value differs between x86_64 and arm64).
extern const int linux_O_DIRECT;
/// EFD_CLOEXEC | EFD_NONBLOCK-style flags for linux_eventfd.
extern const int linux_EFD_CLOEXEC;
extern const int linux_EFD_NONBLOCK;
extern const unsigned int linux_MFD_CLOEXEC;

/// memfd_create(2): anonymous memory with a file descriptor, shareable with a vhost-user peer.
int linux_memfd_create(const char *name, unsigned int flags);
/// eventfd(2) and its 8-byte counter read/write; return -1 and set errno on failure.
int linux_eventfd(unsigned int initval, int flags);
int linux_eventfd_read(int fd, uint64_t *value);
int linux_eventfd_write(int fd, uint64_t value);
/// Pins the calling thread to the CPUs listed (cpus[0..count)); returns 0 or an errno value.
int linux_pin_current_thread(const int *cpus, int count);
/// fallocate(2) (punch hole, zero range); returns 0 or -1 with errno set.
int linux_fallocate(int fd, int mode, int64_t offset, int64_t length);
/// Names the calling thread (at most 15 characters show in top and ps).
void linux_set_thread_name(const char *name);
/// Block devices: size in bytes (BLKGETSIZE64), BLKDISCARD and BLKZEROOUT over [offset, offset+length).
/// Return 0, or -1 with errno set.
int linux_block_device_size(int fd, uint64_t *bytes);
int linux_block_discard(int fd, uint64_t offset, uint64_t length);
int linux_block_zeroout(int fd, uint64_t offset, uint64_t length);
/// Waits until `fd` is readable or `timeout_ns` passes (ppoll); returns 1 readable, 0 timeout, -1 error.
int linux_wait_readable(int fd, int64_t timeout_ns);
/// How many CPUs the calling thread may run on (sched_getaffinity): a container's or taskset's
/// share, not the machine's; at least 1.
int linux_allowed_cpu_count(void);
/// The CPUs the calling thread may run on (sched_getaffinity), ascending, at most `max` into
/// `out`; returns how many, or -1 with errno set.
int linux_allowed_cpus(int *out, int max);
/// An epoll set (close-on-exec) for one thread's waits on several eventfds; -1 and errno on failure.
int linux_epoll_create(void);
/// Adds `fd` (level-triggered, readable) to `epfd`; `token` comes back when it is ready.
int linux_epoll_add(int epfd, int fd, uint64_t token);
/// Waits up to `timeout_ns` (-1: forever; 0: no wait) with nanosecond resolution (epoll_pwait2)
/// for descriptors of `epfd`; writes the ready ones' tokens (at most `max`, at most 64) and
/// returns how many, 0 on timeout, -1 and errno on failure (EINTR included).
int linux_epoll_wait_tokens(int epfd, uint64_t *tokens, int max, int64_t timeout_ns);
/// Sleeps until the CLOCK_MONOTONIC time `deadline_ns` (absolute, so sleeps never accumulate drift).
void linux_sleep_until(uint64_t deadline_ns);
/// Sets the calling thread's timer slack (ns): the default 50 µs would make every timed sleep
/// that much late.
void linux_set_timer_slack(unsigned long ns);
/// Gives the calling thread SCHED_FIFO at `priority` (1-99); returns 0 or an errno value.
int linux_set_realtime(int priority);
/// The CPU the calling thread runs on now, or -1.
int linux_current_cpu(void);

/// Unix sockets with file descriptors (vhost-user): SCM_RIGHTS needs the CMSG_* macros, which do
/// not import into Swift.
/// Receives exactly `len` bytes (looping over short reads) and the descriptors that came with
/// them (close-on-exec), at most `max_fds` into `fds`; `*nfds` gets how many. Descriptors beyond
/// `max_fds` are closed and `*truncated` set. Returns `len`, 0 when the peer closed before the
/// first byte, or -1 with errno set (ECONNRESET when it closed halfway).
long linux_recv_exact_with_fds(int sock, void *buf, size_t len, int *fds, int max_fds, int *nfds, int *truncated);
/// Sends all `len` bytes (MSG_NOSIGNAL: a closed peer is an error, not a signal). Returns 0 or -1.
int linux_send_all(int sock, const void *buf, size_t len);
/// A listening Unix stream socket at `path` (an existing socket file there is replaced). Returns
/// the descriptor or -1 with errno set.
int linux_unix_listen(const char *path);
/// A Unix stream socket connected to `path`, or -1 with errno set (a vhost-user front-end's side).
int linux_unix_connect(const char *path);
/// Sends `len` bytes with `nfds` descriptors attached (SCM_RIGHTS). Returns 0 or -1 with errno.
int linux_send_with_fds(int sock, const void *buf, size_t len, const int *fds, int nfds);
/// mmap(2) of `length` bytes of `fd` at `offset`, shared, read-write; NULL with errno on failure.
void *linux_mmap_shared(int fd, uint64_t length, uint64_t offset);

/// Files published whole: renames `from` to `to` only when `to` does not exist (renameat2
/// RENAME_NOREPLACE), so that two writers racing for one name cannot clobber each other.
/// Returns 0, or -1 with errno set (EEXIST when `to` exists).
int linux_rename_noreplace(const char *from, const char *to);
/// An exclusive advisory lock on `fd` without waiting (flock LOCK_EX|LOCK_NB): 0, or -1 with
/// errno set (EWOULDBLOCK when another open file holds it).
int linux_try_lock_exclusive(int fd);

/// Makes standard output line-buffered even into a pipe (stdio would buffer whole blocks).
void linux_line_buffer_stdout(void);
/// One extent of a file as FIEMAP (FS_IOC_FIEMAP) reports it: [logical, logical+length) of the
/// file, and its FIEMAP_EXTENT_* flags.
struct linux_extent {
    uint64_t logical;
    uint64_t length;
    uint32_t flags;
};
/// FIEMAP_EXTENT_LAST (the file's last extent) and FIEMAP_EXTENT_UNWRITTEN (allocated, but reads
/// return zeros without touching the disk, as fallocate leaves it).
extern const uint32_t linux_FIEMAP_EXTENT_LAST;
extern const uint32_t linux_FIEMAP_EXTENT_UNWRITTEN;
/// The extents overlapping [start, start+length), at most `max` into `out` (FIEMAP_FLAG_SYNC
/// first, so that delayed allocation is resolved). Returns how many, or -1 with errno set
/// (EOPNOTSUPP where the filesystem has no FIEMAP, e.g. tmpfs).
int linux_fiemap(int fd, uint64_t start, uint64_t length, struct linux_extent *out, uint32_t max);
/// lseek(2) with SEEK_DATA / SEEK_HOLE: the next data (or hole) at or after `offset`, or -1 with
/// errno set (ENXIO: no data after `offset`).
int64_t linux_seek_data(int fd, int64_t offset);
int64_t linux_seek_hole(int fd, int64_t offset);
/// fgetxattr(2) / fsetxattr(2) (flags 0: create or replace). -1 with errno set on failure
/// (ENODATA: no such attribute; EOPNOTSUPP: the filesystem keeps no user attributes).
long linux_fgetxattr(int fd, const char *name, void *value, size_t size);
int linux_fsetxattr(int fd, const char *name, const void *value, size_t size);

#endif
