#!/bin/sh
# Image recipe for a qemu board. Expects the board's userspace already built into
# build/<board>/ (the Makefile's `image` target does that first), then assembles:
#   build/<board>/images/vmlinuz         kernel from Debian's linux-image package
#   build/<board>/images/initramfs.img   boot stage: drivers, A/B slot choice, switch_root
#   build/<board>/images/rootfs.squashfs read-only root: busybox, edgetrackd, firmware/
#   build/<board>/images/disk.img        GPT: root A, root B, data (genimage)
#   build/<board>/images/edgetrack-<board>-<version>.bundle   signed update bundle
# and prints their sizes.
#
#   images/build.sh BOARD                 everything above
#   images/build.sh BOARD rootfs VERSION OUT.squashfs   only a root file system
#
# Environment: FW_VERSION (default images/VERSION), ET_SIGNING_KEY (Ed25519 private key
# in PEM; default build/keys/update-signing.pem, created on first use as a development key).
# The bundle trust root, public parts only (make variables of the same names):
#   ET_BUNDLE_ROOT_PUB  minisign public key that certifies bundle signing keys, installed as
#                       /etc/edgetrack/bundle-root.pub (default build/keys/bundle-root.pub)
#   ET_OPERATOR_CA      CA certificate (PEM) of the operators' management API client
#                       certificates, installed as /etc/edgetrack/operator-ca.crt
#                       (default build/keys/operator-ca.crt)
# Without them development ones are made once under build/keys/ (their private keys stay
# there, never in an image).
set -eu

board=${1:?usage: images/build.sh BOARD [rootfs VERSION OUT]}
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
[ -f "board/$board/board.conf" ] || { echo "images/build.sh: no board/$board/board.conf" >&2; exit 1; }
. "board/$board/board.conf"

B=build/$board
OUT=$B/images
WORK=$B/fw
version=${FW_VERSION:-$(cat images/VERSION)}
key=${ET_SIGNING_KEY:-build/keys/update-signing.pem}
root_pub=${ET_BUNDLE_ROOT_PUB:-build/keys/bundle-root.pub}
operator_ca=${ET_OPERATOR_CA:-build/keys/operator-ca.crt}
T=$BOARD_TRIPLET
READELF=${BOARD_CROSS}readelf
STRIP=${BOARD_CROSS}strip
mkdir -p "$OUT" "$WORK"

log() { echo "  FW      $*"; }

# ------------------------------------------------------------------ inputs from Debian
fetch_inputs() {
	scripts/fw-fetch-deb.sh "$BOARD_KERNEL_PKG" "$BOARD_DEB_ARCH" "$WORK/kernel"
	if [ "$BOARD_DEB_ARCH" = "$(dpkg --print-architecture)" ]; then
		BUSYBOX=/bin/busybox OPENSSL_BIN=/usr/bin/openssl
	else
		scripts/fw-fetch-deb.sh busybox-static "$BOARD_DEB_ARCH" "$WORK/busybox"
		scripts/fw-fetch-deb.sh openssl "$BOARD_DEB_ARCH" "$WORK/openssl"
		BUSYBOX=$WORK/busybox/bin/busybox OPENSSL_BIN=$WORK/openssl/usr/bin/openssl
	fi
	[ -x "$BUSYBOX" ] || { echo "images/build.sh: no busybox-static for $BOARD_DEB_ARCH" >&2; exit 1; }
	KVER=$(ls "$WORK/kernel/lib/modules" | head -n1)
	VMLINUZ=$WORK/kernel/boot/vmlinuz-$KVER
}

# Applet links: the applet list of the host's busybox-static (same Debian version).
install_busybox() { # DESTDIR
	mkdir -p "$1/bin" "$1/sbin" "$1/usr/bin" "$1/usr/sbin"
	cp "$BUSYBOX" "$1/bin/busybox"
	for a in $(/bin/busybox --list); do
		[ -e "$1/bin/$a" ] || ln -s busybox "$1/bin/$a"
	done
	for a in init reboot poweroff halt switch_root modprobe insmod depmod mdev udhcpc ip sysctl; do
		ln -sf ../bin/busybox "$1/sbin/$a"
	done
}

# ------------------------------------------------------------------ boot stage
build_initramfs() {
	d=$WORK/initramfs
	rm -rf "$d" && mkdir -p "$d/proc" "$d/sys" "$d/dev" "$d/etc" "$d/lib" "$d/run"
	install_busybox "$d"
	cp firmware/initramfs/init "$d/init"
	cp firmware/lib/bootstate.sh "$d/lib/bootstate.sh"
	# Resolve the board's modules and their dependencies with busybox depmod.
	kd=$WORK/kernel/lib/modules/$KVER
	[ -f "$kd/modules.dep" ] || /bin/busybox depmod -b "$WORK/kernel" "$KVER"
	: > "$d/etc/modules"
	mods=""
	for m in $BOARD_MODULES; do
		path=$(sed -n "s|^\(.*/$(echo "$m" | sed 's/_/[_-]/g')\.ko\):.*|\1|p" "$kd/modules.dep" | head -n1)
		if [ -z "$path" ]; then
			grep -Eq "/$(echo "$m" | sed 's/_/[_-]/g')\.ko\$" "$kd/modules.builtin" ||
				{ echo "images/build.sh: module $m is not in kernel $KVER" >&2; exit 1; }
			continue # built into the kernel
		fi
		deps=$(sed -n "s|^$path: *||p" "$kd/modules.dep")
		mods="$mods $path $deps"
		echo "$m" >> "$d/etc/modules"
	done
	for p in $(echo "$mods" | tr ' ' '\n' | sort -u); do
		mkdir -p "$d/lib/modules/$KVER/$(dirname "$p")"
		cp "$kd/$p" "$d/lib/modules/$KVER/$p"
	done
	cp "$kd/modules.order" "$kd/modules.builtin" "$d/lib/modules/$KVER/" 2>/dev/null || true
	/bin/busybox depmod -b "$d" "$KVER"
	(cd "$d" && find . | sort | cpio -o -H newc --quiet -R 0:0) | gzip -9 > "$OUT/initramfs.img"
	cp "$VMLINUZ" "$OUT/vmlinuz"
	cp "board/$board/cmdline" "$OUT/cmdline"
}

# ------------------------------------------------------------------ root file system
lib_path() { # SONAME
	for dir in /lib/$T /usr/lib/$T /usr/$T/lib /lib /usr/lib; do
		[ -e "$dir/$1" ] && { echo "$dir/$1"; return 0; }
	done
	echo "images/build.sh: shared library $1 for $T not found (multiarch -dev package missing?)" >&2
	return 1
}

install_libs() { # ROOT BINARY...: copies every NEEDED library, transitively, to ROOT/lib
	root=$1; shift
	todo="$*" seen=""
	while [ -n "$todo" ]; do
		set -- $todo; f=$1; shift; todo="$*"
		for so in $($READELF -d "$f" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
			case " $seen " in *" $so "*) continue ;; esac
			seen="$seen $so"
			p=$(lib_path "$so")
			cp -L "$p" "$root/lib/$so"
			todo="$todo $p"
		done
	done
}

build_rootfs() { # VERSION SQUASHFS
	r=$WORK/rootfs
	rm -rf "$r" && mkdir -p "$r"
	install_busybox "$r"
	mkdir -p "$r/proc" "$r/sys" "$r/dev" "$r/run" "$r/tmp" "$r/data" "$r/root" "$r/lib/edgetrack" \
		"$r/var"
	ln -s /run "$r/var/run"
	ln -s /data "$r/var/lib"
	cp -a firmware/rootfs/. "$r/"
	cp firmware/lib/bootstate.sh "$r/lib/edgetrack/bootstate.sh"
	for p in edgetrackd edgetrackctl; do
		$STRIP -o "$r/usr/bin/$p" "$B/$p"
	done
	cp "$OPENSSL_BIN" "$r/usr/bin/openssl"
	# openssl req (first-boot demo cert) reads the default config
	mkdir -p "$r/usr/lib/ssl" && cp /usr/lib/ssl/openssl.cnf "$r/usr/lib/ssl/openssl.cnf"
	install_libs "$r" "$r/usr/bin/edgetrackd" "$r/usr/bin/edgetrackctl" "$r/usr/bin/openssl"
	interp=$($READELF -l "$r/usr/bin/edgetrackd" | sed -n 's/.*interpreter: \(.*\)\]/\1/p')
	mkdir -p "$r$(dirname "$interp")"
	[ -e "$r$interp" ] || cp -L "$(lib_path "$(basename "$interp")")" "$r$interp"
	$STRIP --strip-unneeded "$r"/lib/*.so* 2>/dev/null || true
	{
		echo "BOARD=$board"
		echo "VERSION=$1"
		echo "KERNEL=$KVER"
	} > "$r/etc/edgetrack/release"
	openssl pkey -in "$key" -pubout -out "$r/etc/edgetrack/update-pubkey.pem"
	install -m 444 "$root_pub" "$r/etc/edgetrack/bundle-root.pub"
	install -m 444 "$operator_ca" "$r/etc/edgetrack/operator-ca.crt"
	mksquashfs "$r" "$2" -comp xz -noappend -all-root -quiet -no-progress > /dev/null
}

ensure_key() {
	given ET_SIGNING_KEY "$key" && return 0
	(umask 077 && openssl genpkey -algorithm ed25519 -out "$key")
	log "created development signing key $key (set ET_SIGNING_KEY for a real one)"
}

# The bundle root key and the operator CA: the operator's when given, else development ones
# made once beside the signing key.
ensure_trust() {
	given ET_BUNDLE_ROOT_PUB "$root_pub" || {
		(umask 077 && minisign -G -W -f -p "$root_pub" -s build/keys/bundle-root.key > /dev/null)
		log "created development bundle root key $root_pub (set ET_BUNDLE_ROOT_PUB for a real one)"
	}
	given ET_OPERATOR_CA "$operator_ca" || {
		(umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-days 3650 -subj "/CN=edgetrack development operator CA" \
			-keyout build/keys/operator-ca.key -out "$operator_ca" 2> /dev/null)
		log "created development operator CA $operator_ca (set ET_OPERATOR_CA for a real one)"
	}
}

given() { # VARIABLE FILE: true when FILE is there; fails the build when VARIABLE names it
	[ -r "$2" ] && return 0
	eval "[ -z \"\${$1:-}\" ]" || { echo "images/build.sh: cannot read $1=$2" >&2; exit 1; }
	mkdir -p "$(dirname "$2")"
	return 1
}

# ------------------------------------------------------------------ disk image
build_disk() {
	slot=32M data=192M
	rm -rf "$WORK/genimage" && mkdir -p "$WORK/genimage/root" "$WORK/genimage/tmp" "$WORK/genimage/in"
	cp "$OUT/rootfs.squashfs" "$WORK/genimage/in/"
	rm -f "$WORK/genimage/in/data.ext4"
	mke2fs -q -t ext4 -L data -O ^has_journal -d "$WORK/genimage/root" "$WORK/genimage/in/data.ext4" "$data"
	sed -e "s/@SLOT_SIZE@/$slot/g" -e "s/@DATA_SIZE@/$data/g" images/genimage.cfg > "$WORK/genimage/genimage.cfg"
	genimage --config "$WORK/genimage/genimage.cfg" --rootpath "$WORK/genimage/root" \
		--tmppath "$WORK/genimage/tmp" --inputpath "$WORK/genimage/in" \
		--outputpath "$WORK/genimage/out" > "$WORK/genimage/log" 2>&1 ||
		{ cat "$WORK/genimage/log" >&2; exit 1; }
	mv "$WORK/genimage/out/disk.img" "$OUT/disk.img"
}

sizes() {
	echo "  SIZE    $board images (bytes; disk.img: apparent / allocated):"
	for f in vmlinuz initramfs.img rootfs.squashfs "edgetrack-$board-$version.bundle"; do
		printf '          %-40s %10s\n' "$f" "$(stat -c %s "$OUT/$f")"
	done
	printf '          %-40s %10s / %s\n' disk.img "$(stat -c %s "$OUT/disk.img")" \
		"$(( $(stat -c %b "$OUT/disk.img") * $(stat -c %B "$OUT/disk.img") ))"
}

fetch_inputs
ensure_key
ensure_trust
case "${2:-all}" in
rootfs)
	build_rootfs "${3:?version}" "${4:?output}"
	;;
all)
	log "kernel $KVER, initramfs"
	build_initramfs
	log "rootfs $version"
	build_rootfs "$version" "$OUT/rootfs.squashfs"
	log "disk.img (A/B + data)"
	build_disk
	scripts/fw-bundle.sh --board "$board" --version "$version" --rootfs "$OUT/rootfs.squashfs" \
		--key "$key" --out "$OUT/edgetrack-$board-$version.bundle"
	sizes
	;;
*) echo "images/build.sh: unknown step $2" >&2; exit 2 ;;
esac
