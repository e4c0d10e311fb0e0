#!/bin/sh
# Download Debian packages for an architecture into build/dl and unpack them. Nothing is
# installed on the host.
#   scripts/fw-fetch-deb.sh PACKAGE ARCH DEST        one package into DEST
#   scripts/fw-fetch-deb.sh -m ARCH DEST PACKAGE...  several, unpacked together into DEST
#                                                    (a sysroot; one apt-get call for all)
# A kernel metapackage (linux-image-cloud-amd64, linux-image-arm64) is followed to the
# versioned image package it depends on.
set -eu
dl=${FW_DL_DIR:-build/dl}
mkdir -p "$dl"

resolve() { # PACKAGE ARCH: the package to download
	case "$1" in
	linux-image-*)
		real=$(apt-cache depends "$1:$2" 2>/dev/null |
			awk '/Depends: linux-image-[0-9]/ { sub(/:.*/, "", $2); print $2; exit }')
		[ -n "$real" ] || { echo "fw-fetch-deb: cannot resolve $1:$2 (run apt-get update; for arm64: dpkg --add-architecture arm64)" >&2; exit 1; }
		echo "$real" ;;
	*) echo "$1" ;;
	esac
}
# The downloaded .deb of a package for ARCH ("all" packages too), or nothing.
have() { ls "$dl/${1}_"*"_$2.deb" "$dl/${1}_"*"_all.deb" 2>/dev/null | tail -n1 || true; }

download() { # ARCH PACKAGE...: fetches those not in build/dl yet
	arch=$1; shift
	want=""
	for p; do [ -n "$(have "$p" "$arch")" ] || want="$want $p:$arch"; done
	[ -z "$want" ] && return 0
	# shellcheck disable=SC2086
	(cd "$dl" && apt-get download -qq $want 2>&1 | grep -v unsandboxed) || true
	for p; do
		[ -n "$(have "$p" "$arch")" ] || { echo "fw-fetch-deb: download of $p:$arch failed" >&2; exit 1; }
	done
}

if [ "${1:-}" = -m ]; then
	arch=$2 dest=$3
	shift 3
	download "$arch" "$@"
	debs=$(for p; do have "$p" "$arch"; done)
	stamp="$dest/.unpacked-$(echo "$debs" | md5sum | cut -c1-16)"
	[ -e "$stamp" ] && exit 0
	rm -rf "$dest"
	mkdir -p "$dest"
	for d in $debs; do dpkg-deb -x "$d" "$dest"; done
	touch "$stamp"
	exit 0
fi

pkg=$(resolve "$1" "$2") arch=$2 dest=$3
download "$arch" "$pkg"
deb=$(have "$pkg" "$arch")
stamp="$dest/.$(basename "$deb").unpacked"
[ -e "$stamp" ] && exit 0
rm -rf "$dest"
mkdir -p "$dest"
dpkg-deb -x "$deb" "$dest"
touch "$stamp"
