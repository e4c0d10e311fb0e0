#!/bin/bash
# The QEMU rig itself, quickly and without firmware images: the KVM probe guest boots, the
# default accelerator here, a /dev/kvm on which no guest runs falls back to TCG, and every
# way a guest can fail to make progress (QEMU stopped the guest as on a KVM internal error,
# QEMU exited, the guest is silent) fails the waits of scripts/lib/qemuwatch.py and
# tests/qemu/guest.py at once, with the reason and the logs. The guest is the probe guest
# booted by scripts/qemu-launch.sh as the firmware of qemu_x86_64 (QEMU_FIRMWARE; TCG runs it
# anywhere).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
src=$(cd "$(dirname "$0")/../.." && pwd)
cd "$src" || exit 1
# shellcheck source=scripts/lib/qemu-accel.sh
. scripts/lib/qemu-accel.sh
# shellcheck source=scripts/lib/qemu-guest.sh
. scripts/lib/qemu-guest.sh

# A stand-in for QEMU on a machine whose /dev/kvm runs no guest. With -accel kvm and
# FAKE_KVM=stopped it prints what QEMU prints there and keeps the guest stopped (TCG and
# -S, so QMP says so too); FAKE_KVM=exits: QEMU that cannot open KVM; FAKE_KVM=silent: the
# guest runs but its serial console goes nowhere. Anything else runs the real QEMU.
REAL_QEMU=$(command -v qemu-system-x86_64)
mkdir -p "$T/bin"
cat > "$T/bin/qemu-system-x86_64" << EOF
#!/bin/bash
echo "\$*" >> "$T/qemu-calls"
args=() kvm=0
for a; do
	case \$a in
	kvm) kvm=1; a=tcg ;;
	file:*) [ "\${FAKE_KVM:-}" = silent ] && a=null ;;
	esac
	args+=("\$a")
done
[ \$kvm = 1 ] || exec "$REAL_QEMU" "\$@"
case \${FAKE_KVM:-} in
stopped) printf 'KVM internal error. Suberror: 1\nemulation failure\n' >&2
	exec "$REAL_QEMU" "\${args[@]}" -S ;;
exits) echo "Could not access KVM kernel module: No such file or directory" >&2; exit 1 ;;
*) exec "$REAL_QEMU" "\${args[@]}" ;;
esac
EOF
chmod +x "$T/bin/qemu-system-x86_64"

# Firmware of qemu_x86_64 for qemu-launch.sh: the probe guest as a ROM, with an empty disk.
. board/qemu_x86_64/board.conf
qemu_probe_firmware x86_64 > "$T/probe.fd"
truncate -s 1M "$T/disk.img"
export QEMU_FIRMWARE=$T/probe.fd

boot() { # NAME: qemu_x86_64 in $T/NAME, with the caller's QEMU_* and FAKE_KVM
	mkdir -p "$T/$1"
	QEMU_HTTP_PORT=$(free_port) QEMU_HTTPS_PORT=$(free_port) qemu_start qemu_x86_64 "$T/disk.img" "$T/$1"
	ET_PIDS+=("$qemu_pid")
	URL=http://127.0.0.1:$(free_port)/healthz # nothing answers there: the wait relies on the watch
}
within() { # SECONDS T0: true when no more than SECONDS passed since T0
	local took=$(($(date +%s) - $2))
	[ "$took" -le "$1" ] || { echo "    took $took s, more than $1 s" >&2; return 1; }
}
waits() { # NAME RC-WANTED REASON SECONDS: the boot wait ends with RC and REASON within SECONDS
	local t0 rc
	t0=$(date +%s)
	qemu_wait_http "$URL" 600 2> "$T/$1/wait.err"
	rc=$?
	sed 's/^/    /' "$T/$1/wait.err"
	check "$1: the wait fails (rc $rc)" eq "$rc" "$2"
	check "$1: ... within $4 s" within "$4" "$t0"
	check "$1: ... saying why" contains "$(cat "$T/$1/wait.err")" "$3"
}

# ------------------------------------------------------------------ the probe and the choice
for b in qemu_x86_64 qemu_aarch64; do
	(. "board/$b/board.conf" && qemu_probe "$QEMU_TCG" "$T/probe-$b")
	check "probe guest of $b prints its marker under TCG" grep -q "$QEMU_PROBE_MARK" "$T/probe-$b/console"
done

if [ ! -w /dev/kvm ]; then
	check "no usable /dev/kvm here: TCG" eq "$(qemu_accel "$T/accel")" "$QEMU_TCG"
else
	v=$(qemu_accel "$T/accel")
	check "/dev/kvm here: KVM exactly when the probe guest boots on it ($v)" \
		eq "$v" "$(if qemu_probe kvm "$T/probe-kvm"; then echo kvm; else echo "$QEMU_TCG"; fi)"
fi

touch "$T/kvm"
t0=$(date +%s)
v=$(PATH=$T/bin:$PATH QEMU_KVM_DEV=$T/kvm QEMU_PROBE_TIMEOUT=3 FAKE_KVM=stopped \
	BOARD_ARCH=$(uname -m) qemu_accel "$T/accel-broken" 2> "$T/accel.err")
check "/dev/kvm on which no guest runs: TCG ($v)" eq "$v" "$QEMU_TCG"
check "... decided within 15 s" within 15 "$t0"
check "... and says why" contains "$(cat "$T/accel.err")" "did not boot on KVM"
calls=$(wc -l < "$T/qemu-calls")
PATH=$T/bin:$PATH QEMU_KVM_DEV=$T/kvm BOARD_ARCH=$(uname -m) \
	qemu_accel "$T/accel-broken" > /dev/null 2>&1
check "... once per host boot (no second probe)" eq "$(wc -l < "$T/qemu-calls")" "$calls"

# ------------------------------------------------------------------ a running guest passes
QEMU_ACCEL=auto boot running
qemuwatch() { scripts/lib/qemuwatch.py "$@"; }
for _ in $(seq 100); do grep -q "$QEMU_PROBE_MARK" "$T/running/console.log" 2> /dev/null && break; sleep 0.1; done
check "default launch: the guest runs" qemuwatch check
check "... on ${QEMU_TCG%%,*} here" bash -c "[ -w /dev/kvm ] || grep -q -- '-accel $QEMU_TCG' '$T/running/qemu.out'"
kill "$qemu_pid"

# ------------------------------------------------------------------ guests that make no progress
QEMU_ACCEL=kvm FAKE_KVM=stopped PATH=$T/bin:$PATH boot stopped
waits stopped 1 "QEMU is not running the guest" 30
check "... with QEMU's output in the report" contains "$(cat "$T/stopped/wait.err")" "KVM internal error"
t0=$(date +%s)
tests/qemu/guest.py "$T/stopped/shell.sock" --timeout 600 -- true 2> "$T/stopped/guest.err"
rc=$?
check "guest.py on that guest fails (rc $rc)" eq "$rc" 125
check "... within 30 s" within 30 "$t0"
check "... saying why" contains "$(cat "$T/stopped/guest.err")" "QEMU is not running the guest"
kill "$qemu_pid"

QEMU_ACCEL=kvm FAKE_KVM=exits PATH=$T/bin:$PATH boot exits
waits exits 1 "has exited" 30
check "... with QEMU's output in the report" contains "$(cat "$T/exits/wait.err")" "Could not access KVM"

QEMU_ACCEL=kvm FAKE_KVM=silent PATH=$T/bin:$PATH QEMU_WATCH_SILENCE=5 boot silent
QEMU_WATCH_SILENCE=5 waits silent 1 "silent for" 30
kill "$qemu_pid"

finish
