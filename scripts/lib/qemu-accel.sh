# Sourced (POSIX sh) by scripts/qemu-launch.sh and the QEMU rig test: which accelerator a
# board's guest runs on. KVM only where it is proven to work: some machines expose a
# writable /dev/kvm on which no guest runs (nested KVM: "KVM internal error ... emulation
# failure", the guest paused before its first line). Reads board.conf's BOARD_ARCH,
# QEMU_SYSTEM and QEMU_MACHINE.
#
#   qemu_accel CACHE_DIR     prints the -accel argument: kvm, or tcg,thread=multi
#   qemu_probe ACCEL DIR     boots the probe guest; 0 when it printed its marker in time
# Environment:
#   QEMU_ACCEL=kvm|tcg|auto  kvm or tcg forces one; auto (default) probes KVM once per host
#                            boot, caching the verdict in CACHE_DIR, and else uses TCG
#   QEMU_PROBE_TIMEOUT       seconds the probe guest gets to print its marker (10)
#   QEMU_KVM_DEV             the KVM device (/dev/kvm)

QEMU_TCG="tcg,thread=multi"
QEMU_PROBE_MARK=ET-PROBE-OK

qemu_accel() { # CACHE_DIR
	case ${QEMU_ACCEL:-auto} in
	kvm) echo kvm ;;
	tcg) echo "$QEMU_TCG" ;;
	auto) if qemu_kvm_works "$1"; then echo kvm; else echo "$QEMU_TCG"; fi ;;
	*) echo "QEMU_ACCEL=$QEMU_ACCEL: use kvm, tcg or auto" >&2; return 1 ;;
	esac
}

# 0 when KVM is there for this board's architecture and a probe guest booted on it during
# this host boot. A failed probe is reported on every call, so each QEMU log says why TCG.
qemu_kvm_works() { # CACHE_DIR
	local verdict
	[ -w "${QEMU_KVM_DEV:-/dev/kvm}" ] && [ "$(uname -m)" = "$BOARD_ARCH" ] || return 1
	verdict=$1/$(cat /proc/sys/kernel/random/boot_id)-$BOARD_ARCH
	mkdir -p "$1"
	( # one probe at a time; earlier boots' verdicts go
		flock 9
		[ -f "$verdict" ] && exit 0
		for f in "$1"/*-"$BOARD_ARCH"; do rm -rf "$f" "$f.probe"; done
		if qemu_probe kvm "$verdict.probe"; then echo kvm; else echo tcg; fi > "$verdict.new"
		mv "$verdict.new" "$verdict"
	) 9> "$1/lock"
	[ "$(cat "$verdict")" = kvm ] && return 0
	echo "qemu: ${QEMU_KVM_DEV:-/dev/kvm} is there but a probe guest did not boot on KVM" \
		"(see $verdict.probe/); using TCG. QEMU_ACCEL=kvm forces KVM." >&2
	return 1
}

qemu_probe() { # ACCEL DIR
	local pid rc=1 alive end
	mkdir -p "$2"
	qemu_probe_guest "$BOARD_ARCH" > "$2/guest" || return 1
	: > "$2/console"
	# shellcheck disable=SC2086
	"$QEMU_SYSTEM" $QEMU_MACHINE -accel "$1" -smp 1 -nodefaults -display none -no-reboot \
		-kernel "$2/guest" -serial "file:$2/console" > "$2/qemu.out" 2>&1 &
	pid=$!
	end=$(($(date +%s) + ${QEMU_PROBE_TIMEOUT:-10}))
	while :; do
		alive=0
		kill -0 "$pid" 2> /dev/null && alive=1
		grep -q "$QEMU_PROBE_MARK" "$2/console" && { rc=0; break; }
		[ $alive = 1 ] || { echo "QEMU exited" >> "$2/qemu.out"; break; }
		[ "$(date +%s)" -lt "$end" ] || { echo "no marker in ${QEMU_PROBE_TIMEOUT:-10} s" >> "$2/qemu.out"; break; }
		sleep 0.1
	done
	kill "$pid" 2> /dev/null || :
	wait "$pid" 2> /dev/null || :
	return $rc
}

# The probe guest: a few instructions that write the marker to the board's serial port.
# x86_64: a multiboot image (QEMU loads it at 1 MiB in 32-bit protected mode), writes to
# the 16550 at 0x3f8. aarch64: an arm64 Image header, then writes to the virt machine's
# PL011 at 0x09000000. Both then stop in a loop.
qemu_probe_guest() { # ARCH
	local c
	case $1 in
	x86_64)
		le32 0x1BADB002 0x00010000 0xE4514FFE \
			0x00100000 0x00100000 0 0 0x00100020 # magic, flags, checksum, addresses, entry
		bytes 0xBA 0xF8 0x03 0x00 0x00                  # mov edx, 0x3f8
		for c in $(chars "$QEMU_PROBE_MARK"); do
			bytes 0xB0 "$c" 0xEE                    # mov al, c; out dx, al
		done
		bytes 0xB0 0x0A 0xEE 0xFA 0xF4 0xEB 0xFD        # '\n'; cli; hlt; jmp hlt
		;;
	aarch64)
		le32 0x14000010 0 0x00080000 0 0 0 0 0 \
			0 0 0 0 0 0 0x644D5241 0          # b code; text_offset; ...; "ARM\x64"
		le32 0xD2A12001                                 # movz x1, #0x0900, lsl #16
		for c in $(chars "$QEMU_PROBE_MARK") 10; do
			le32 $((0x52800000 | c << 5)) 0x39000020  # mov w0, #c; strb w0, [x1]
		done
		le32 0x14000000                                 # b .
		;;
	*) echo "qemu: no probe guest for $1" >&2; return 1 ;;
	esac
}

# The probe as firmware (QEMU's -bios) for the rig's tests of scripts/qemu-launch.sh: the
# same marker on the same serial port, from the first instruction the CPU runs. x86_64: a
# 64 KiB ROM whose reset vector (offset 0xfff0, 16-bit real mode) jumps to the code at its
# start. aarch64: the probe guest itself (the virt machine starts at the flash's first byte).
qemu_probe_firmware() { # ARCH
	local c
	case $1 in
	x86_64)
		bytes 0xBA 0xF8 0x03                            # mov dx, 0x3f8
		for c in $(chars "$QEMU_PROBE_MARK"); do
			bytes 0xB0 "$c" 0xEE                    # mov al, c; out dx, al
		done
		bytes 0xB0 0x0A 0xEE 0xFA 0xF4 0xEB 0xFD        # '\n'; cli; hlt; jmp hlt
		head -c $((0xfff0 - 3 - 3 * ${#QEMU_PROBE_MARK} - 7)) /dev/zero
		bytes 0xEA 0x00 0x00 0x00 0xF0                  # jmp far f000:0000
		head -c 11 /dev/zero
		;;
	aarch64) qemu_probe_guest aarch64 ;;
	*) echo "qemu: no probe firmware for $1" >&2; return 1 ;;
	esac
}

bytes() { local b; for b; do printf "\\$(printf %03o $((b)))"; done; }
le32() { local w; for w; do bytes $((w & 255)) $((w >> 8 & 255)) $((w >> 16 & 255)) $((w >> 24 & 255)); done; }
chars() { printf %s "$1" | od -An -tu1; }
