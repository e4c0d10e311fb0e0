#!/bin/sh
# Image recipe for a qemu board. Expects the board's userspace already built into
# build/<board>/ (the Makefile's `image` target does that first), then assembles:
#   build/<board>/images/rootfs.squashfs  a root slot: busybox, edgetrackd, RAUC, firmware/,
#                                         with /boot/vmlinuz (Debian's kernel) and
#                                         /boot/initramfs.img (drivers, mount, switch_root)
#   build/<board>/images/BOOT*.EFI        GRUB (grub-mkimage, Debian's grub-efi-*-bin modules)
#   build/<board>/images/disk.img         GPT: EFI system partition (GRUB, grub.cfg, grubenv),
#                                         root slot A, root slot B (empty), data (genimage)
#   build/<board>/images/edgetrack-<board>-<version>.raucb   RAUC bundle of the root slot
# and prints their sizes.
#
#   images/build.sh BOARD                              everything above
#   images/build.sh BOARD rootfs VERSION OUT.squashfs  only a root slot image
#
# Environment: FW_VERSION (default images/VERSION); FW_SQUASHFS_COMP (the root file system's
# compressor: xz, the default, or gzip, quicker to make); the bundle's signer: ET_SIGNING_KEY and
# ET_SIGNING_CERT (PEM; both or neither; default build/keys/rauc-dev.{key,cert}.pem, a
# development key and self-signed certificate made on first use) and ET_SIGNING_KEYRING (the
# CA certificates the firmware trusts, put into the read-only root as /etc/rauc/keyring.pem;
# default the signing certificate itself).
# The trust roots of the cert/config bundles, public parts only (make variables of the same names):
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
key=${ET_SIGNING_KEY:-build/keys/rauc-dev.key.pem}
cert=${ET_SIGNING_CERT:-build/keys/rauc-dev.cert.pem}
keyring=${ET_SIGNING_KEYRING:-$cert}
compatible=edgetrack-$board
root_pub=${ET_BUNDLE_ROOT_PUB:-build/keys/bundle-root.pub}
operator_ca=${ET_OPERATOR_CA:-build/keys/operator-ca.crt}
T=$BOARD_TRIPLET
READELF=${BOARD_CROSS}readelf
STRIP=${BOARD_CROSS}strip
# GRUB's modules, built into the EFI image (the EFI system partition holds no module folder).
GRUB_MODULES="part_gpt fat squash4 ext2 normal linux echo test loadenv regexp gzio xzio reboot
efi_gop"
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
	scripts/fw-fetch-deb.sh "$BOARD_GRUB_PKG" "$BOARD_DEB_ARCH" "$WORK/grub"
	GRUB_MODDIR=$WORK/grub/usr/lib/grub/$BOARD_GRUB_TARGET
	# RAUC, D-Bus, grub-editenv and their libraries, of the board's architecture
	SYSROOT=$WORK/sysroot
	# shellcheck disable=SC2046
	scripts/fw-fetch-deb.sh -m "$BOARD_DEB_ARCH" "$SYSROOT" $(sed 's/#.*//' images/guest-debs)
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

release() { # VERSION: the release file of a root slot (and of its initramfs)
	echo "BOARD=$board"
	echo "VERSION=$1"
	echo "KERNEL=$KVER"
}

# ------------------------------------------------------------------ boot stage
# Copies MODULES and their dependencies from the kernel package into ROOT/lib/modules and
# lists them, in order, in ROOT/etc/LIST (modules built into the kernel are skipped).
install_modules() { # ROOT LIST MODULES...
	root=$1 list=$2; shift 2
	kd=$WORK/kernel/lib/modules/$KVER
	[ -f "$kd/modules.dep" ] || /bin/busybox depmod -b "$WORK/kernel" "$KVER"
	mkdir -p "$root/etc"
	: > "$root/etc/$list"
	mods=""
	for m; do
		path=$(sed -n "s|^\(.*/$(echo "$m" | sed 's/_/[_-]/g')\.ko\):.*|\1|p" "$kd/modules.dep" | head -n1)
		if [ -z "$path" ]; then
			grep -Eq "/$(echo "$m" | sed 's/_/[_-]/g')\.ko\$" "$kd/modules.builtin" ||
				{ echo "images/build.sh: module $m is not in kernel $KVER" >&2; exit 1; }
			continue # built into the kernel
		fi
		deps=$(sed -n "s|^$path: *||p" "$kd/modules.dep")
		mods="$mods $path $deps"
		echo "$m" >> "$root/etc/$list"
	done
	for p in $(echo "$mods" | tr ' ' '\n' | sort -u); do
		mkdir -p "$root/lib/modules/$KVER/$(dirname "$p")"
		cp "$kd/$p" "$root/lib/modules/$KVER/$p"
	done
	cp "$kd/modules.order" "$kd/modules.builtin" "$root/lib/modules/$KVER/" 2>/dev/null || true
	/bin/busybox depmod -b "$root" "$KVER"
}

build_initramfs() { # VERSION OUT
	d=$WORK/initramfs
	rm -rf "$d" && mkdir -p "$d/proc" "$d/sys" "$d/dev" "$d/etc" "$d/lib" "$d/run"
	install_busybox "$d"
	cp firmware/initramfs/init "$d/init"
	release "$1" > "$d/etc/release"
	# shellcheck disable=SC2086
	install_modules "$d" modules $BOARD_MODULES
	(cd "$d" && find . | sort | cpio -o -H newc --quiet -R 0:0) | gzip -9 > "$2"
}

# ------------------------------------------------------------------ root file system
lib_path() { # SONAME: the board's sysroot (Debian packages) first, then the host's multiarch dirs
	for dir in "$SYSROOT/lib/$T" "$SYSROOT/usr/lib/$T" /lib/$T /usr/lib/$T /usr/$T/lib /lib /usr/lib; do
		[ -e "$dir/$1" ] && { echo "$dir/$1"; return 0; }
	done
	echo "images/build.sh: shared library $1 for $T not found (add its package to images/guest-debs, or a multiarch -dev package to scripts/install-deps.sh)" >&2
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
		"$r/var" "$r/boot/efi"
	ln -s /run "$r/var/run"
	ln -s /data "$r/var/lib"
	cp -a firmware/rootfs/. "$r/"
	ln -s /data/machine-id "$r/etc/machine-id"
	for p in edgetrackd edgetrackctl; do
		$STRIP -o "$r/usr/bin/$p" "$B/$p"
	done
	cp "$OPENSSL_BIN" "$r/usr/bin/openssl"
	# openssl req (first-boot demo cert) reads the default config
	mkdir -p "$r/usr/lib/ssl" && cp /usr/lib/ssl/openssl.cnf "$r/usr/lib/ssl/openssl.cnf"
	# RAUC (its service and CLI), the system bus, and grub-editenv for RAUC's grub backend
	for p in rauc dbus-daemon grub-editenv; do
		$STRIP -o "$r/usr/bin/$p" "$SYSROOT/usr/bin/$p"
	done
	sed "s/@COMPATIBLE@/$compatible/" firmware/rootfs/etc/rauc/system.conf > "$r/etc/rauc/system.conf"
	cp "$keyring" "$r/etc/rauc/keyring.pem"
	install_libs "$r" "$r/usr/bin/edgetrackd" "$r/usr/bin/edgetrackctl" "$r/usr/bin/openssl" \
		"$r/usr/bin/rauc" "$r/usr/bin/dbus-daemon" "$r/usr/bin/grub-editenv"
	interp=$($READELF -l "$r/usr/bin/edgetrackd" | sed -n 's/.*interpreter: \(.*\)\]/\1/p')
	mkdir -p "$r$(dirname "$interp")"
	[ -e "$r$interp" ] || cp -L "$(lib_path "$(basename "$interp")")" "$r$interp"
	$STRIP --strip-unneeded "$r"/lib/*.so* 2>/dev/null || true
	release "$1" > "$r/etc/edgetrack/release"
	install -m 444 "$root_pub" "$r/etc/edgetrack/bundle-root.pub"
	install -m 444 "$operator_ca" "$r/etc/edgetrack/operator-ca.crt"
	# What RAUC needs of the kernel (the EFI system partition, loop + dm-verity for bundles),
	# loaded by et-rauc once the boot is healthy.
	# shellcheck disable=SC2086
	install_modules "$r" modules-rauc $BOARD_RAUC_MODULES
	# The slot's own kernel and initramfs, read by GRUB.
	cp "$VMLINUZ" "$r/boot/vmlinuz"
	build_initramfs "$1" "$r/boot/initramfs.img"
	# GRUB reads the kernel and initramfs out of the squashfs: stored uncompressed (both are
	# compressed already), since GRUB's xz decoder takes seconds for them on a slow CPU.
	mksquashfs "$r" "$2" -comp "${FW_SQUASHFS_COMP:-xz}" -noappend -all-root -quiet -no-progress \
		-action 'uncompressed@name(vmlinuz) || name(initramfs.img)' > /dev/null
}

ensure_keys() {
	if [ -n "${ET_SIGNING_KEY:-}${ET_SIGNING_CERT:-}" ]; then
		[ -r "$key" ] && [ -r "$cert" ] ||
			{ echo "images/build.sh: ET_SIGNING_KEY and ET_SIGNING_CERT must both name readable PEM files" >&2; exit 1; }
	elif [ ! -r "$key" ] || [ ! -r "$cert" ]; then
		mkdir -p "$(dirname "$key")"
		(umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-days 3650 -subj "/O=edgetrack development/CN=edgetrack development update signing" \
			-keyout "$key" -out "$cert" 2> /dev/null)
		log "created development signing key $key and certificate $cert (set ET_SIGNING_KEY and ET_SIGNING_CERT for real ones)"
	fi
	[ -r "$keyring" ] || { echo "images/build.sh: cannot read ET_SIGNING_KEYRING=$keyring" >&2; exit 1; }
}

# ------------------------------------------------------------------ boot loader
build_esp() { # DIR: the EFI system partition's files
	e=$1/EFI/BOOT
	rm -rf "$1" && mkdir -p "$e"
	# shellcheck disable=SC2086
	grub-mkimage -O "$BOARD_GRUB_TARGET" -d "$GRUB_MODDIR" -p /EFI/BOOT -o "$e/$BOARD_EFI_IMAGE" $GRUB_MODULES
	cp "$e/$BOARD_EFI_IMAGE" "$OUT/$BOARD_EFI_IMAGE"
	sed "s|@CMDLINE@|$(cat "board/$board/cmdline")|" images/grub.cfg > "$e/grub.cfg"
	grub-editenv "$e/grubenv" create
	grub-editenv "$e/grubenv" set ORDER="A B" A_OK=1 A_TRY=0 B_OK=0 B_TRY=0 MAX_TRIES=3
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
	esp=16M slot=64M data=192M
	g=$WORK/genimage
	rm -rf "$g" && mkdir -p "$g/root" "$g/tmp" "$g/in"
	build_esp "$g/in/esp"
	cp "$OUT/rootfs.squashfs" "$g/in/"
	mke2fs -q -t ext4 -L data -O ^has_journal -d "$g/root" "$g/in/data.ext4" "$data" > /dev/null
	sed -e "s/@SLOT_SIZE@/$slot/g" -e "s/@DATA_SIZE@/$data/g" -e "s/@ESP_SIZE@/$esp/g" \
		-e "s/@EFI_IMAGE@/$BOARD_EFI_IMAGE/g" images/genimage.cfg > "$g/genimage.cfg"
	[ "$(stat -c %s "$OUT/rootfs.squashfs")" -le $((${slot%M} * 1048576)) ] ||
		{ echo "images/build.sh: rootfs.squashfs does not fit a $slot slot" >&2; exit 1; }
	genimage --config "$g/genimage.cfg" --rootpath "$g/root" --tmppath "$g/tmp" \
		--inputpath "$g/in" --outputpath "$g/out" > "$g/log" 2>&1 ||
		{ cat "$g/log" >&2; exit 1; }
	mv "$g/out/disk.img" "$OUT/disk.img"
}

bundle() { # VERSION ROOTFS OUT
	scripts/fw-bundle.sh --compatible "$compatible" --version "$1" --rootfs "$2" \
		--key "$key" --cert "$cert" --keyring "$keyring" --out "$3"
}

sizes() {
	echo "  SIZE    $board images (bytes; disk.img: apparent / allocated):"
	for f in "$BOARD_EFI_IMAGE" rootfs.squashfs "edgetrack-$board-$version.raucb"; do
		printf '          %-40s %10s\n' "$f" "$(stat -c %s "$OUT/$f")"
	done
	printf '          %-40s %10s  (kernel %s, initramfs %s)\n' "" "" \
		"$(stat -c %s "$VMLINUZ")" "$(stat -c %s "$WORK/rootfs/boot/initramfs.img")"
	printf '          %-40s %10s / %s\n' disk.img "$(stat -c %s "$OUT/disk.img")" \
		"$(( $(stat -c %b "$OUT/disk.img") * $(stat -c %B "$OUT/disk.img") ))"
}

fetch_inputs
ensure_keys
ensure_trust
case "${2:-all}" in
rootfs)
	build_rootfs "${3:?version}" "${4:?output}"
	;;
all)
	log "rootfs $version (kernel $KVER, initramfs, RAUC)"
	build_rootfs "$version" "$OUT/rootfs.squashfs"
	log "disk.img (EFI system partition with GRUB, root slots A/B, data)"
	build_disk
	rm -f "$OUT"/edgetrack-"$board"-*.raucb "$OUT"/edgetrack-"$board"-*.bundle
	bundle "$version" "$OUT/rootfs.squashfs" "$OUT/edgetrack-$board-$version.raucb"
	rm -f "$OUT/vmlinuz" "$OUT/initramfs.img" "$OUT/cmdline"
	sizes
	;;
*) echo "images/build.sh: unknown step $2" >&2; exit 2 ;;
esac
