#!/bin/sh
# Builds a signed RAUC bundle (verity format) of one root slot image:
#   manifest.raucm   compatible (edgetrack-<board>), version, the image for slot class rootfs
#   rootfs.squashfs  the new root slot (root file system with its kernel and initramfs)
# signed by RAUC (CMS) with the operator's certificate and key. RAUC on the appliance checks
# the signature against its keyring, the compatible against its own, and the payload through
# dm-verity; the firmware's pre-install handler refuses a version that is not newer.
#
#   scripts/fw-bundle.sh --compatible C --version V --rootfs FILE --key KEY.pem --cert CERT.pem
#                        [--keyring CA.pem] --out FILE.raucb
# With --keyring, the new bundle's signature is checked against it right away.
set -eu
compatible="" version="" rootfs="" key="" cert="" keyring="" out=""
while [ $# -gt 0 ]; do
	case "$1" in
	--compatible) compatible=$2; shift 2 ;;
	--version) version=$2; shift 2 ;;
	--rootfs) rootfs=$2; shift 2 ;;
	--key) key=$2; shift 2 ;;
	--cert) cert=$2; shift 2 ;;
	--keyring) keyring=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	*) echo "fw-bundle: unknown argument $1" >&2; exit 2 ;;
	esac
done
for v in compatible version rootfs key cert out; do
	eval "[ -n \"\$$v\" ]" || { echo "fw-bundle: --$v is required" >&2; exit 2; }
done
echo "$version" | grep -Eq '^[0-9]+(\.[0-9]+){0,3}$' ||
	{ echo "fw-bundle: version '$version' must be numeric, dotted (1.2.3)" >&2; exit 2; }
case "$out" in *.raucb) ;; *) echo "fw-bundle: --out must end in .raucb" >&2; exit 2 ;; esac
[ -r "$rootfs" ] || { echo "fw-bundle: no rootfs $rootfs" >&2; exit 1; }
[ -r "$key" ] && [ -r "$cert" ] || { echo "fw-bundle: cannot read key $key / cert $cert" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/content"
ln "$rootfs" "$stage/content/rootfs.squashfs" 2>/dev/null || cp "$rootfs" "$stage/content/rootfs.squashfs"
cat > "$stage/content/manifest.raucm" << MF
[update]
compatible=$compatible
version=$version
description=edgetrack firmware $version

[bundle]
format=verity

[image.rootfs]
filename=rootfs.squashfs
MF
set -- --cert "$cert" --key "$key"
[ -n "$keyring" ] && set -- "$@" --keyring "$keyring"
rm -f "$out"
# The payload is a compressed squashfs already: no second compression.
rauc bundle "$@" --mksquashfs-args="-noI -noD -noF -noX" "$stage/content" "$stage/out.raucb" > "$stage/log" 2>&1 ||
	{ cat "$stage/log" >&2; exit 1; }
mv "$stage/out.raucb" "$out"
