#!/bin/bash
# Builds the test guest into DIR (default .build-guest): a Debian cloud kernel (apt-get download,
# nothing installed on the host) and a busybox initramfs with the virtio-pci and virtio_blk modules
# and guest/init.sh as /init. Idempotent: an existing kernel or initramfs is kept.
# Exit status 3 means a tool or the kernel package is missing (the caller may skip).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${1:-.build-guest}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

for tool in qemu-system-x86_64 cpio depmod gzip; do
  command -v "$tool" >/dev/null || { echo "build-guest: $tool not found (apt-get install qemu-system-x86 cpio kmod)" >&2; exit 3; }
done
[ -x /bin/busybox ] && /bin/busybox --list >/dev/null 2>&1 || { echo "build-guest: /bin/busybox not found (apt-get install busybox-static)" >&2; exit 3; }
file -L /bin/busybox 2>/dev/null | grep -q "statically linked" || ldd /bin/busybox 2>&1 | grep -q "not a dynamic" \
  || { echo "build-guest: /bin/busybox is not static (apt-get install busybox-static)" >&2; exit 3; }

if [ ! -f "$dir/vmlinuz" ]; then
  # The kernel package the cloud meta-package points at today.
  package=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  [ -n "$package" ] || package=$(apt-cache search --names-only '^linux-image-[0-9.]+-[0-9]+-cloud-amd64$' | awk '{print $1}' | sort -V | tail -1)
  [ -n "$package" ] || { echo "build-guest: no linux-image-*-cloud-amd64 package in apt's lists (apt-get update?)" >&2; exit 3; }
  echo "build-guest: downloading $package"
  rm -rf "$dir/kernel" && mkdir -p "$dir/kernel"
  (cd "$dir" && apt-get download "$package" >/dev/null 2>&1) || { echo "build-guest: apt-get download $package failed" >&2; exit 3; }
  dpkg -x "$dir"/${package}_*.deb "$dir/kernel"
  rm -f "$dir"/${package}_*.deb
  version=$(ls "$dir/kernel/lib/modules" | head -1)
  depmod -b "$dir/kernel" "$version"
  cp "$dir/kernel/boot/vmlinuz-$version" "$dir/vmlinuz.tmp" && mv "$dir/vmlinuz.tmp" "$dir/vmlinuz"
  rm -f "$dir/initrd.gz"
fi

if [ ! -f "$dir/initrd.gz" ] || [ "$here/init.sh" -nt "$dir/initrd.gz" ]; then
  version=$(ls "$dir/kernel/lib/modules" | head -1)
  root="$dir/initramfs"
  rm -rf "$root" && mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,modules}
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"; done
  for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk; do
    ko=$(find "$dir/kernel/lib/modules/$version" -name "$m.ko*" | head -1)
    [ -n "$ko" ] || { echo "build-guest: module $m not in $version" >&2; exit 3; }
    case "$ko" in
      *.xz) xz -dc "$ko" > "$root/modules/$m.ko" ;;
      *.zst) zstd -dqc "$ko" > "$root/modules/$m.ko" ;;
      *) cp "$ko" "$root/modules/$m.ko" ;;
    esac
  done
  cp "$here/init.sh" "$root/init" && chmod +x "$root/init"
  (cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1 > "$dir/initrd.gz.tmp") && mv "$dir/initrd.gz.tmp" "$dir/initrd.gz"
fi
echo "build-guest: $dir/vmlinuz and $dir/initrd.gz ready"
