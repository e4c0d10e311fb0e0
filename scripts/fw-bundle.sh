#!/bin/sh
# Builds a signed firmware update bundle: a tar of
#   manifest        board, version and the SHA-256 of the root file system
#   manifest.sig    Ed25519 signature of manifest (OpenSSL), made with the operator's key
#   rootfs.squashfs the new read-only root file system
# The signature covers the manifest and the manifest pins the rootfs digest, so any change
# to either is detected by the update agent (firmware/rootfs/sbin/et-update).
#
#   scripts/fw-bundle.sh --board B --version V --rootfs FILE --key KEY.pem --out FILE
set -eu
board="" version="" rootfs="" key="" out=""
while [ $# -gt 0 ]; do
	case "$1" in
	--board) board=$2; shift 2 ;;
	--version) version=$2; shift 2 ;;
	--rootfs) rootfs=$2; shift 2 ;;
	--key) key=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	*) echo "fw-bundle: unknown argument $1" >&2; exit 2 ;;
	esac
done
for v in board version rootfs key out; do
	eval "[ -n \"\$$v\" ]" || { echo "fw-bundle: --$v is required" >&2; exit 2; }
done
echo "$version" | grep -Eq '^[0-9]+(\.[0-9]+){0,3}$' ||
	{ echo "fw-bundle: version '$version' must be numeric, dotted (1.2.3)" >&2; exit 2; }
[ -r "$rootfs" ] || { echo "fw-bundle: no rootfs $rootfs" >&2; exit 1; }
[ -r "$key" ] || { echo "fw-bundle: no signing key $key" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp "$rootfs" "$stage/rootfs.squashfs"
{
	echo "format=edgetrack-bundle-1"
	echo "board=$board"
	echo "version=$version"
	echo "rootfs_size=$(stat -c %s "$rootfs")"
	echo "rootfs_sha256=$(sha256sum "$rootfs" | cut -d' ' -f1)"
} > "$stage/manifest"
openssl pkeyutl -sign -inkey "$key" -rawin -in "$stage/manifest" -out "$stage/manifest.sig"
tar -C "$stage" -cf "$out.tmp" --format=ustar manifest manifest.sig rootfs.squashfs
mv "$out.tmp" "$out"
