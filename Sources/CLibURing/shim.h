// liburing for Swift. Order matters (verified in shared/PLATFORM.md):
//  1. libc first, because liburing.h defines _XOPEN_SOURCE/_GNU_SOURCE and would otherwise
//     give fd_set a definition that clashes with Swift's Glibc module;
//  2. the kernel's <linux/io_uring.h>, which shares its include guard with liburing's bundled
//     copy, so io_uring_sqe is declared once, with the kernel's field types (the same types
//     swift-system's CSystem sees, which avoids the rw_flags clash);
//  3. liburing itself.
// Only modules that do io_uring I/O import CLibURing.
#include <stdio.h>
#include <linux/io_uring.h>
#include <liburing.h>
