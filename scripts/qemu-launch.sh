#!/bin/sh
# Boots a board's disk image under QEMU (TCG, or KVM where it is proven to work: see
# scripts/lib/qemu-accel.sh). QEMU gets the UEFI firmware (board.conf's QEMU_BIOS) and the
# disk, nothing else: the firmware starts GRUB from the disk's EFI system partition, and GRUB
# the kernel and initramfs of a root slot. User-mode networking forwards only loopback ports:
# 127.0.0.1:$QEMU_HTTP_PORT -> guest 80, 127.0.0.1:$QEMU_HTTPS_PORT -> guest 443 and
# 127.0.0.1:$QEMU_MGMT_PORT -> guest 8444 (the management API, mutual TLS).
#
#   scripts/qemu-launch.sh BOARD DISK
# Environment:
#   QEMU_HTTP_PORT / QEMU_HTTPS_PORT / QEMU_MGMT_PORT   host ports (8080 / 8443 / 8444)
#   QEMU_CONSOLE=FILE      serial console to FILE instead of this terminal
#   QEMU_SHELL_SOCK=PATH   root shell on a virtio console at this unix socket (the guest runs
#                          it with et.debug_shell=1: see QEMU_APPEND)
#   QEMU_XFER=FILE         second virtio disk (/dev/vdb in the guest) to hand files in
#   QEMU_APPEND="..."      extra kernel command line: written into DISK's grubenv
#                          (EXTRA_CMDLINE, scripts/fw-grubenv.sh) before QEMU starts
#   QEMU_FIRMWARE=FILE     firmware image instead of the board's UEFI firmware
#   QEMU_QMP=PATH          QMP monitor at this unix socket (scripts/lib/qemuwatch.py asks it
#                          whether the guest runs)
#   QEMU_ACCEL=kvm|tcg|auto, QEMU_PROBE_TIMEOUT   see scripts/lib/qemu-accel.sh
#   QEMU_SMP / QEMU_PIDFILE
set -eu
board=${1:?usage: scripts/qemu-launch.sh BOARD DISK}
disk=${2:?usage: scripts/qemu-launch.sh BOARD DISK}
src=$(cd "$(dirname "$0")/.." && pwd)
. "$src/board/$board/board.conf"
. "$src/scripts/lib/qemu-accel.sh"
http=${QEMU_HTTP_PORT:-8080}
https=${QEMU_HTTPS_PORT:-8443}
mgmt=${QEMU_MGMT_PORT:-8444}

if [ -n "${QEMU_APPEND:-}" ]; then
	"$src/scripts/fw-grubenv.sh" "$disk" EXTRA_CMDLINE="$QEMU_APPEND" ||
		echo "qemu-launch: cannot set EXTRA_CMDLINE in $disk; booting without it" >&2
fi
accel=$(qemu_accel "$src/build/qemu-accel")

# The system disk boots first; the NIC has no option ROM (no network boot).
set -- $QEMU_MACHINE -accel "$accel" -smp "${QEMU_SMP:-2}" \
	-bios "${QEMU_FIRMWARE:-$QEMU_BIOS}" \
	-drive "file=$disk,if=none,format=raw,id=sys,cache=unsafe" \
	-device virtio-blk-pci,drive=sys,addr=0x4,bootindex=0 \
	-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$http-:80,hostfwd=tcp:127.0.0.1:$https-:443,hostfwd=tcp:127.0.0.1:$mgmt-:8444" \
	-device virtio-net-pci,netdev=n0,addr=0x3,romfile= \
	-device virtio-rng-pci,addr=0x7 \
	-display none -monitor none
if [ -n "${QEMU_XFER:-}" ]; then
	set -- "$@" -drive "file=$QEMU_XFER,if=none,format=raw,id=xfer,readonly=on" \
		-device virtio-blk-pci,drive=xfer,addr=0x5
fi
if [ -n "${QEMU_SHELL_SOCK:-}" ]; then
	set -- "$@" -device virtio-serial-pci,addr=0x6 \
		-chardev "socket,id=sh,path=$QEMU_SHELL_SOCK,server=on,wait=off" \
		-device virtconsole,chardev=sh
fi
if [ -n "${QEMU_CONSOLE:-}" ]; then
	set -- "$@" -serial "file:$QEMU_CONSOLE"
else
	set -- "$@" -serial mon:stdio
	echo "qemu-launch: $board on 127.0.0.1:$http (http), :$https (https) and :$mgmt (management); Ctrl-A X quits" >&2
fi
[ -n "${QEMU_PIDFILE:-}" ] && set -- "$@" -pidfile "$QEMU_PIDFILE"
[ -n "${QEMU_QMP:-}" ] && set -- "$@" -qmp "unix:$QEMU_QMP,server=on,wait=off"
echo "qemu-launch: $QEMU_SYSTEM -accel $accel" >&2
exec "$QEMU_SYSTEM" "$@"
