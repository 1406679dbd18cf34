#!/bin/bash
# Boots the test guest (build-guest.sh's DIR) under TCG with 2 vCPUs and shared memory, its disk a
# vhost-user-blk device on SOCKET with NUMQ queues; the serial console goes to stdout. Bounded by
# a timeout; the guest powers itself off when its test ends.
set -euo pipefail
dir="$1"; socket="$2"; numq="${3:-2}"
for i in $(seq 100); do [ -S "$socket" ] && break; sleep 0.1; done
[ -S "$socket" ] || { echo "boot: no socket at $socket" >&2; exit 2; }
exec timeout "${GUEST_TIMEOUT:-300}" qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 2 -m 512 \
  -nographic -no-reboot -monitor none -serial stdio \
  -kernel "$dir/vmlinuz" -initrd "$dir/initrd.gz" -append "console=ttyS0 quiet panic=-1" \
  -object memory-backend-memfd,id=mem,size=512M,share=on -numa node,memdev=mem \
  -chardev socket,id=c0,path="$socket" -device vhost-user-blk-pci,chardev=c0,num-queues="$numq"
