#!/bin/sh
# Download a Debian package for an architecture into build/dl and unpack it into DEST.
# A kernel metapackage (linux-image-cloud-amd64, linux-image-arm64) is followed to the
# versioned image package it depends on. Nothing is installed on the host.
#   scripts/fw-fetch-deb.sh PACKAGE ARCH DEST
set -eu
pkg=$1 arch=$2 dest=$3
dl=${FW_DL_DIR:-build/dl}
mkdir -p "$dl"

case "$pkg" in
linux-image-*)
	real=$(apt-cache depends "$pkg:$arch" 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ { sub(/:.*/, "", $2); print $2; exit }')
	[ -n "$real" ] || { echo "fw-fetch-deb: cannot resolve $pkg:$arch (run apt-get update; for arm64: dpkg --add-architecture arm64)" >&2; exit 1; }
	pkg=$real ;;
esac

deb=$(ls "$dl/${pkg}_"*"_$arch.deb" 2>/dev/null | tail -n1 || true)
if [ -z "$deb" ]; then
	(cd "$dl" && apt-get download -q "$pkg:$arch" 2>&1 | grep -v unsandboxed) || true
	deb=$(ls "$dl/${pkg}_"*"_$arch.deb" 2>/dev/null | tail -n1 || true)
	[ -n "$deb" ] || { echo "fw-fetch-deb: download of $pkg:$arch failed" >&2; exit 1; }
fi
stamp="$dest/.$(basename "$deb").unpacked"
[ -e "$stamp" ] && exit 0
rm -rf "$dest"
mkdir -p "$dest"
dpkg-deb -x "$deb" "$dest"
touch "$stamp"
