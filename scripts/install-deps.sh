#!/bin/sh
# Installs the Debian 12 packages edgetrack builds, tests and benchmarks with.
# Idempotent: asks apt only when something is missing.
set -eu

PKGS="
build-essential make pkg-config gcc clang llvm libclang-rt-14-dev
python3 python3-kconfiglib
liburing-dev libssl-dev openssl libjansson-dev libcmocka-dev
libbpf-dev libelf-dev zlib1g-dev bpftool
libmbedtls-dev libcurl4-openssl-dev libc-ares-dev
curl wrk nginx-light nghttp2-client iproute2 procps util-linux xdp-tools
"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

echo "installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
