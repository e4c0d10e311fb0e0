# Sourced (bash) by the QEMU tests: a board booted in the background and watched, so that
# every wait on it fails fast (scripts/lib/qemuwatch.py).
#
#   qemu_start BOARD DISK DIR
#       scripts/qemu-launch.sh BOARD DISK in the background, with its serial console in
#       DIR/console.log, the root shell at DIR/shell.sock, QMP at DIR/qmp.sock and QEMU's own
#       output in DIR/qemu.out; the caller's other QEMU_* settings go along. Sets qemu_pid and
#       exports QEMU_WATCH_* for qemuwatch.py and tests/qemu/guest.py.
#   qemu_wait_http URL SECONDS
#       until URL answers; fails with the reason as soon as the guest shows no progress

qemu_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

qemu_start() { # BOARD DISK DIR
	QEMU_CONSOLE=$3/console.log QEMU_SHELL_SOCK=$3/shell.sock QEMU_QMP=$3/qmp.sock \
		QEMU_PIDFILE=$3/qemu.pid "$qemu_lib/../qemu-launch.sh" "$1" "$2" > "$3/qemu.out" 2>&1 &
	qemu_pid=$!
	export QEMU_WATCH_PID=$qemu_pid QEMU_WATCH_QMP=$3/qmp.sock \
		QEMU_WATCH_CONSOLE=$3/console.log QEMU_WATCH_LOG=$3/qemu.out
}

qemu_wait_http() { # URL SECONDS
	"$qemu_lib/qemuwatch.py" wait --timeout "$2" --what "waiting for $1" -- \
		curl -s -m 2 -o /dev/null "$1"
}
