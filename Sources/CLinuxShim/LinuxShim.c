#define _GNU_SOURCE
#include "CLinuxShim.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <linux/fs.h>
#include <linux/fiemap.h>
#include <stdlib.h>
#include <sys/xattr.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <string.h>
#include <unistd.h>

const int linux_O_DIRECT = O_DIRECT;
const int linux_EFD_CLOEXEC = EFD_CLOEXEC;
const int linux_EFD_NONBLOCK = EFD_NONBLOCK;
const unsigned int linux_MFD_CLOEXEC = MFD_CLOEXEC;

int linux_memfd_create(const char *name, unsigned int flags) { return memfd_create(name, flags); }

int linux_eventfd(unsigned int initval, int flags) { return eventfd(initval, flags); }

int linux_eventfd_read(int fd, uint64_t *value) { return eventfd_read(fd, value); }

int linux_eventfd_write(int fd, uint64_t value) { return eventfd_write(fd, value); }

int linux_pin_current_thread(const int *cpus, int count) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int i = 0; i < count; i++) {
        if (cpus[i] < 0 || cpus[i] >= CPU_SETSIZE) return EINVAL;
        CPU_SET(cpus[i], &set);
    }
    return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

int linux_current_cpu(void) { return sched_getcpu(); }

int linux_fallocate(int fd, int mode, int64_t offset, int64_t length) {
    return fallocate(fd, mode, (off_t)offset, (off_t)length);
}

void linux_set_thread_name(const char *name) {
    pthread_setname_np(pthread_self(), name);
}

int linux_block_device_size(int fd, uint64_t *bytes) {
    return ioctl(fd, BLKGETSIZE64, bytes);
}

int linux_block_discard(int fd, uint64_t offset, uint64_t length) {
    uint64_t range[2] = { offset, length };
    return ioctl(fd, BLKDISCARD, range);
}

int linux_block_zeroout(int fd, uint64_t offset, uint64_t length) {
    uint64_t range[2] = { offset, length };
    return ioctl(fd, BLKZEROOUT, range);
}

int linux_wait_readable(int fd, int64_t timeout_ns) {
    struct pollfd p = { .fd = fd, .events = POLLIN, .revents = 0 };
    struct timespec t = { .tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000 };
    return ppoll(&p, 1, timeout_ns < 0 ? NULL : &t, NULL);
}

int linux_allowed_cpu_count(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    int n = CPU_COUNT(&set);
    return n > 0 ? n : 1;
}

int linux_allowed_cpus(int *out, int max) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
    int n = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && n < max; cpu++) {
        if (CPU_ISSET(cpu, &set)) out[n++] = cpu;
    }
    return n;
}

int linux_epoll_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

int linux_epoll_add(int epfd, int fd, uint64_t token) {
    struct epoll_event event = { .events = EPOLLIN, .data = { .u64 = token } };
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event);
}

int linux_epoll_wait_tokens(int epfd, uint64_t *tokens, int max, int64_t timeout_ns) {
    struct epoll_event events[64];
    if (max > 64) max = 64;
    struct timespec t = { .tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000 };
    int n = epoll_pwait2(epfd, events, max, timeout_ns < 0 ? NULL : &t, NULL);
    for (int i = 0; i < n; i++) tokens[i] = events[i].data.u64;
    return n;
}

void linux_sleep_until(uint64_t deadline_ns) {
    struct timespec t = { .tv_sec = (time_t)(deadline_ns / 1000000000), .tv_nsec = (long)(deadline_ns % 1000000000) };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR) {}
}

void linux_set_timer_slack(unsigned long ns) {
    prctl(PR_SET_TIMERSLACK, ns, 0, 0, 0);
}

int linux_set_realtime(int priority) {
    struct sched_param param = { .sched_priority = priority };
    return pthread_setschedparam(pthread_self(), SCHED_FIFO, &param);
}

long linux_recv_exact_with_fds(int sock, void *buf, size_t len, int *fds, int max_fds, int *nfds, int *truncated) {
    size_t done = 0;
    *nfds = 0;
    *truncated = 0;
    while (done < len) {
        char control[CMSG_SPACE(sizeof(int) * 32)];
        struct iovec iov = { (char *)buf + done, len - done };
        struct msghdr msg;
        memset(&msg, 0, sizeof msg);
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
            int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            int *received = (int *)CMSG_DATA(c);
            for (int i = 0; i < count; i++) {
                if (*nfds < max_fds) fds[(*nfds)++] = received[i];
                else { close(received[i]); *truncated = 1; }
            }
        }
        if (msg.msg_flags & MSG_CTRUNC) *truncated = 1;
        if (n == 0) {
            if (done == 0) return 0;
            errno = ECONNRESET;
            return -1;
        }
        done += (size_t)n;
    }
    return (long)done;
}

int linux_send_all(int sock, const void *buf, size_t len) {
    size_t done = 0;
    while (done < len) {
        ssize_t n = send(sock, (const char *)buf + done, len - done, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        done += (size_t)n;
    }
    return 0;
}

/* A Unix stream socket and the address of `path`; -1 with errno (ENAMETOOLONG) on failure. */
static int unix_socket_for(const char *path, struct sockaddr_un *addr) {
    memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof addr->sun_path) { errno = ENAMETOOLONG; return -1; }
    strcpy(addr->sun_path, path);
    return socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

int linux_unix_listen(const char *path) {
    struct sockaddr_un addr;
    int fd = unix_socket_for(path, &addr);
    if (fd < 0) return -1;
    unlink(path);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 1) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

void *linux_mmap_shared(int fd, uint64_t length, uint64_t offset) {
    void *p = mmap(NULL, (size_t)length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)offset);
    return p == MAP_FAILED ? NULL : p;
}

int linux_unix_connect(const char *path) {
    struct sockaddr_un addr;
    int fd = unix_socket_for(path, &addr);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int linux_send_with_fds(int sock, const void *buf, size_t len, const int *fds, int nfds) {
    if (nfds < 0 || nfds > 32) { errno = EINVAL; return -1; }
    char control[CMSG_SPACE(sizeof(int) * 32)];
    memset(control, 0, sizeof control);
    struct iovec iov = { (void *)buf, len };
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (nfds > 0) {
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    ssize_t n;
    do { n = sendmsg(sock, &msg, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
    if (n < 0) return -1;
    if ((size_t)n < len) return linux_send_all(sock, (const char *)buf + n, len - (size_t)n);
    return 0;
}

int linux_rename_noreplace(const char *from, const char *to) {
    return renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
}

int linux_try_lock_exclusive(int fd) { return flock(fd, LOCK_EX | LOCK_NB); }

void linux_line_buffer_stdout(void) { setvbuf(stdout, NULL, _IOLBF, 0); }
const uint32_t linux_FIEMAP_EXTENT_LAST = FIEMAP_EXTENT_LAST;
const uint32_t linux_FIEMAP_EXTENT_UNWRITTEN = FIEMAP_EXTENT_UNWRITTEN;

int linux_fiemap(int fd, uint64_t start, uint64_t length, struct linux_extent *out, uint32_t max) {
    size_t bytes = sizeof(struct fiemap) + (size_t)max * sizeof(struct fiemap_extent);
    struct fiemap *map = calloc(1, bytes);
    if (!map) { errno = ENOMEM; return -1; }
    map->fm_start = start;
    map->fm_length = length;
    map->fm_flags = FIEMAP_FLAG_SYNC;
    map->fm_extent_count = max;
    if (ioctl(fd, FS_IOC_FIEMAP, map) < 0) {
        int saved = errno;
        free(map);
        errno = saved;
        return -1;
    }
    uint32_t n = map->fm_mapped_extents;
    for (uint32_t i = 0; i < n; i++) {
        out[i].logical = map->fm_extents[i].fe_logical;
        out[i].length = map->fm_extents[i].fe_length;
        out[i].flags = map->fm_extents[i].fe_flags;
    }
    free(map);
    return (int)n;
}

int64_t linux_seek_data(int fd, int64_t offset) { return (int64_t)lseek(fd, (off_t)offset, SEEK_DATA); }

int64_t linux_seek_hole(int fd, int64_t offset) { return (int64_t)lseek(fd, (off_t)offset, SEEK_HOLE); }

long linux_fgetxattr(int fd, const char *name, void *value, size_t size) { return (long)fgetxattr(fd, name, value, size); }

int linux_fsetxattr(int fd, const char *name, const void *value, size_t size) { return fsetxattr(fd, name, value, size, 0); }
