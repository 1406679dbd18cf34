#!/bin/sh
# The test guest's /init (busybox sh). Every CPU writes its own pattern to /dev/vda with O_DIRECT
# (CPU c: 64 blocks of 4 KiB from byte c MiB; block b is the text "cpuC blkBBBB " repeated), then
# everything is read back with O_DIRECT after dropping caches and compared; then a timed run of
# direct 4 KiB reads. The host reads the lines starting with GUEST_.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk; do
  insmod /modules/$m.ko || echo "GUEST_ERROR insmod $m"
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -b /dev/vda ] || { echo "GUEST_ERROR no /dev/vda"; poweroff -f; }

cpus=$(grep -c ^processor /proc/cpuinfo)
echo "GUEST_INFO cpus=$cpus queues=$(ls /sys/block/vda/mq | wc -l)"
blocks=64
# The writer runs pinned to one CPU, so its requests leave through that CPU's queue.
cat > /tmp/writer.sh <<'WRITER'
c=$1; b=0
while [ $b -lt $2 ]; do
  yes "cpu$c blk$(printf %04d $b) " | head -c 4096 > /tmp/w$c
  dd if=/tmp/w$c of=/dev/vda bs=4096 seek=$((c * 256 + b)) count=1 oflag=direct conv=fsync 2>/dev/null || echo "GUEST_ERROR write cpu$c blk$b"
  b=$((b + 1))
done
WRITER
pattern() { yes "cpu$1 blk$(printf %04d $2) " | head -c 4096; }
c=0
while [ $c -lt $cpus ]; do taskset -c $c sh /tmp/writer.sh $c $blocks & c=$((c + 1)); done
wait
echo 3 > /proc/sys/vm/drop_caches
bad=0; c=0
while [ $c -lt $cpus ]; do
  b=0
  while [ $b -lt $blocks ]; do
    pattern $c $b > /tmp/expect
    dd if=/dev/vda of=/tmp/got bs=4096 skip=$((c * 256 + b)) count=1 iflag=direct 2>/dev/null
    cmp -s /tmp/expect /tmp/got || { echo "GUEST_ERROR read back cpu$c blk$b differs"; bad=$((bad + 1)); }
    b=$((b + 1))
  done
  c=$((c + 1))
done
[ $bad -eq 0 ] && echo "GUEST_CHECK data ok: $cpus cpus x $blocks blocks written and read back"

reads=${VQ_READS:-10000}
start=$(cut -d' ' -f1 /proc/uptime)
taskset -c 0 dd if=/dev/vda of=/dev/null bs=4096 count=$reads iflag=direct 2>/dev/null
end=$(cut -d' ' -f1 /proc/uptime)
echo "GUEST_READS reads=$reads start=$start end=$end"
[ $bad -eq 0 ] && echo "GUEST_RESULT PASS" || echo "GUEST_RESULT FAIL"
poweroff -f
