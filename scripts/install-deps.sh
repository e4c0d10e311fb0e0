#!/bin/sh
# Installs the Debian 12 packages edgetrack builds, tests and benchmarks with.
# Idempotent: asks apt only when something is missing.
set -eu

PKGS="
build-essential make pkg-config gcc clang llvm libclang-rt-14-dev
python3 python3-kconfiglib
liburing-dev libssl-dev openssl libjansson-dev libcmocka-dev
libbpf-dev libelf-dev zlib1g-dev bpftool
libmbedtls-dev libcurl4-openssl-dev libc-ares-dev pebble
libsodium-dev minisign
libnats-dev liblz4-dev nats-server
curl wrk nginx-light nghttp2-client iproute2 procps util-linux xdp-tools
"

# bench/profile.sh: callgrind (its default) or perf.
PKGS="$PKGS
valgrind linux-perf
"

# The domain doctor (edgetrackctl domain): libpsl with Debian's public suffix list for
# organizational domains; Knot serving test zones and Unbound resolving in front of it for
# the integration test and bench/dns.sh.
PKGS="$PKGS
libpsl-dev publicsuffix knot knot-dnsutils unbound
"

# The metrics and status page tests: Prometheus scrapes edgetrackd (promtool checks the
# exposition), headless Chromium loads the status page.
PKGS="$PKGS
prometheus chromium
"

# Firmware images (make image / qemu-run / qemu-test): QEMU and its UEFI firmware (OVMF,
# AAVMF), image tools, GRUB's tools (grub-mkimage, grub-editenv), RAUC (bundles), and the
# arm64 cross toolchain with the multiarch -dev packages of every library edgetrackd links.
# The boards' kernels, GRUB's EFI modules and the guests' Debian packages are not installed:
# images/build.sh downloads and unpacks them (scripts/fw-fetch-deb.sh).
PKGS="$PKGS
qemu-system-x86 qemu-system-arm qemu-utils ovmf qemu-efi-aarch64 busybox-static genimage
squashfs-tools e2fsprogs dosfstools mtools grub-common rauc
cpio bc gcc-aarch64-linux-gnu libc6-dev-arm64-cross
libc6-dev:arm64 liburing-dev:arm64 libjansson-dev:arm64 libssl-dev:arm64 libbpf-dev:arm64
libelf-dev:arm64 zlib1g-dev:arm64 libmbedtls-dev:arm64 libcurl4-openssl-dev:arm64
libc-ares-dev:arm64 libsodium-dev:arm64 libpsl-dev:arm64 libnats-dev:arm64 liblz4-dev:arm64
"
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	[ "$(id -u)" -ne 0 ] && ADD_SUDO=sudo || ADD_SUDO=""
	$ADD_SUDO dpkg --add-architecture arm64
fi

# One dpkg-query for all of them (make run/check/bench call this every time): native
# packages may be listed with their architecture (libc6-dev:amd64), foreign ones always are.
missing=$(dpkg-query -W -f='${binary:Package} ${db:Status-Status}\n' 2>/dev/null |
	awk -v native=":$(dpkg --print-architecture)" -v want="$PKGS" '
	$2 == "installed" { sub(native "$", "", $1); have[$1] = 1 }
	END { k = split(want, w); for (i = 1; i <= k; i++) if (!(w[i] in have)) printf " %s", w[i] }')
[ -z "$missing" ] && exit 0

echo "installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
