// vqtrace is Linux-only, and says so at build time instead of failing somewhere deep in a C
// shim: its engine is io_uring and O_DIRECT, its notifications eventfds, its guest memory
// memfd, its vhost-user back-end Unix sockets with SCM_RIGHTS. Every module that makes system
// calls depends on this one.
#if !os(Linux)
#error("vqtrace builds on Linux only: it needs io_uring, eventfd, memfd_create and O_DIRECT")
#endif
