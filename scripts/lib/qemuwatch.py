#!/usr/bin/env python3
"""Waits on a QEMU guest that fail as soon as the guest shows no progress.

A guest makes progress while its QEMU process lives, QMP says the guest is running (a KVM
internal error, for one, leaves QEMU alive with the guest stopped), and its serial console
or the caller hears from it within QEMU_WATCH_SILENCE seconds. The caller says what to
watch, once, in the environment:

    QEMU_WATCH_PID       QEMU's process id
    QEMU_WATCH_QMP       its QMP socket (scripts/qemu-launch.sh: QEMU_QMP)
    QEMU_WATCH_CONSOLE   its serial console file
    QEMU_WATCH_LOG       QEMU's own output
    QEMU_WATCH_SILENCE   seconds without progress that fail a wait (default 60; counted
                         only when a console is watched)

Any of them may be left out. Commands:

    qemuwatch.py check [--since EPOCH]
        exit 0 while the guest makes progress (silence counted from EPOCH at the earliest)
    qemuwatch.py wait [--timeout S] [--every S] [--what TEXT] -- CMD...
        run CMD every S seconds (default 0.5) until it exits 0; exit 1 as soon as the guest
        shows no progress, 124 after --timeout seconds (default 600)

    qemuwatch.py qmp JSON
        send one QMP command to QEMU_WATCH_QMP (e.g. '{"execute": "query-status"}') and print
        its answer; exit 1 when QEMU answers with an error or not at all

A failure prints the reason, then the tail of the console and of QEMU's output, to stderr.
tests/qemu/guest.py imports Watch for its own waits.
"""
import json
import os
import socket
import subprocess
import sys
import time

TAIL_LINES = 25


class Watch:
    def __init__(self, env=None, since=None):
        env = os.environ if env is None else env
        self.pid = int(env.get("QEMU_WATCH_PID") or 0)
        self.qmp = env.get("QEMU_WATCH_QMP") or None
        self.console = env.get("QEMU_WATCH_CONSOLE") or None
        self.log = env.get("QEMU_WATCH_LOG") or None
        self.silence = float(env.get("QEMU_WATCH_SILENCE") or 60)
        self.last = time.time() if since is None else since

    def progress(self):
        """The caller heard from the guest."""
        self.last = time.time()

    def problem(self):
        """None while the guest makes progress, else why it does not."""
        if self.pid and not _running(self.pid):
            return "QEMU (pid %d) has exited" % self.pid
        status = _qmp_status(self.qmp)
        if status not in (None, "running"):
            return "QEMU is not running the guest (status: %s)" % status
        if not self.console:
            return None
        try:
            self.last = max(self.last, os.stat(self.console).st_mtime)
        except OSError:
            pass
        idle = time.time() - self.last
        if idle > self.silence:
            return "no progress: the guest was silent for %.0f s" % idle
        return None

    def report(self, what, reason):
        """The failure text: what waited, why it gave up, and the tails of both logs."""
        out = ["%s: %s" % (what, reason)]
        for name, path in (("console", self.console), ("QEMU output", self.log)):
            if not path:
                continue
            try:
                with open(path, "rb") as f:
                    lines = f.read().decode(errors="replace").replace("\r", "").splitlines()
            except OSError as e:
                out.append("-- %s (%s): %s" % (name, path, e.strerror))
                continue
            out.append("-- last %d lines of the %s (%s):" % (min(TAIL_LINES, len(lines)), name, path))
            out.extend("   " + line for line in lines[-TAIL_LINES:])
        return "\n".join(out)


def _running(pid):
    """False once the process is gone or a zombie its parent has not reaped yet."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def qmp_command(path, command, timeout=5.0):
    """QEMU's answer (a dict) to one QMP command (a dict)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        f = s.makefile("rwb")
        f.readline()  # greeting
        for cmd in ({"execute": "qmp_capabilities"}, command):
            f.write(json.dumps(cmd).encode() + b"\n")
            f.flush()
            while True:  # skip events up to the command's answer
                msg = json.loads(f.readline() or b"{}")
                if "return" in msg or "error" in msg or not msg:
                    break
        return msg


def _qmp(args):
    if len(args) != 1 or not os.environ.get("QEMU_WATCH_QMP"):
        return _usage()
    try:
        answer = qmp_command(os.environ["QEMU_WATCH_QMP"], json.loads(args[0]))
    except (OSError, ValueError) as e:
        print("qemuwatch.py qmp: %s" % e, file=sys.stderr)
        return 1
    print(json.dumps(answer))
    return 0 if "return" in answer else 1


def _qmp_status(path, timeout=2.0):
    """The guest's run state from QMP's query-status; None when QMP does not answer."""
    if not path or not os.path.exists(path):
        return None
    try:
        answer = qmp_command(path, {"execute": "query-status"}, timeout).get("return")
    except (OSError, ValueError):
        return None
    return answer.get("status") if isinstance(answer, dict) else None


def _wait(args):
    timeout, every, what = 600.0, 0.5, "waiting on the QEMU guest"
    while args and args[0] != "--":
        opt, val, args = args[0], args[1], args[2:]
        if opt == "--timeout":
            timeout = float(val)
        elif opt == "--every":
            every = float(val)
        elif opt == "--what":
            what = val
        else:
            return _usage()
    if len(args) < 2:
        return _usage()
    w = Watch()
    end = time.time() + timeout
    while True:
        if subprocess.call(args[1:]) == 0:
            return 0
        reason, rc = w.problem(), 1
        if reason is None and time.time() >= end:
            reason, rc = "gave up after %.0f s" % timeout, 124
        if reason:
            print(w.report(what, reason), file=sys.stderr)
            return rc
        time.sleep(every)


def _check(args):
    since = None
    if args[:1] == ["--since"] and len(args) == 2:
        since = float(args[1])
    elif args:
        return _usage()
    w = Watch(since=since)
    reason = w.problem()
    if reason:
        print(w.report("QEMU guest", reason), file=sys.stderr)
        return 1
    return 0


def _usage():
    print(__doc__, file=sys.stderr)
    return 2


def main(argv):
    if argv[:1] == ["check"]:
        return _check(argv[1:])
    if argv[:1] == ["wait"]:
        return _wait(argv[1:])
    if argv[:1] == ["qmp"]:
        return _qmp(argv[1:])
    return _usage()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
