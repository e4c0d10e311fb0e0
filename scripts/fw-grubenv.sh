#!/bin/sh
# Reads or changes GRUB's environment block (EFI/BOOT/grubenv on the EFI system partition)
# inside a board's disk image, from the host, while no guest runs on it (mtools, grub-editenv).
#   scripts/fw-grubenv.sh DISK                  list it
#   scripts/fw-grubenv.sh DISK KEY=VALUE...     set variables (VALUE may be empty)
# See images/grub.cfg for the variables (ORDER, A_OK, A_TRY, ..., MAX_TRIES, EXTRA_CMDLINE).
set -eu
disk=${1:?usage: scripts/fw-grubenv.sh DISK [KEY=VALUE...]}
shift
# The EFI system partition: partition 1 (images/genimage.cfg).
start=$(partx -g -o START -n 1 "$disk" 2>/dev/null | tr -d ' ') ||
	{ echo "fw-grubenv: $disk has no partition table" >&2; exit 1; }
[ -n "$start" ] || { echo "fw-grubenv: $disk has no partition 1" >&2; exit 1; }
img="$disk@@$((start * 512))"
export MTOOLS_SKIP_CHECK=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mcopy -n -i "$img" ::/EFI/BOOT/grubenv "$tmp/grubenv" ||
	{ echo "fw-grubenv: no EFI/BOOT/grubenv on partition 1 of $disk" >&2; exit 1; }
if [ $# -eq 0 ]; then
	grub-editenv "$tmp/grubenv" list
	exit 0
fi
grub-editenv "$tmp/grubenv" set "$@"
mcopy -o -i "$img" "$tmp/grubenv" ::/EFI/BOOT/grubenv
