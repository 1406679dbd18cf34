#define _GNU_SOURCE
#include "CLinuxShim.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <linux/fs.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <time.h>
#include <sys/mman.h>

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
