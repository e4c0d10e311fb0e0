#!/usr/bin/env python3
"""Run one shell command in a QEMU guest through its virtio-console root shell.

    guest.py SOCKET [--timeout S] -- COMMAND

Prints the command's output and exits with its exit status (124 on timeout). The end of
the output is found with a marker the guest shell has to compute, so the terminal's
echo of the command line can never be mistaken for it. With QEMU_WATCH_* set (see
scripts/lib/qemuwatch.py) every wait gives up as soon as the guest shows no progress,
with exit status 125 and the reason.
"""
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../scripts/lib"))
from qemuwatch import Watch  # noqa: E402


class NoProgress(Exception):
    pass


def watched(watch, what):
    """Raises NoProgress, with the report, when the guest shows no progress."""
    reason = watch.problem()
    if reason:
        raise NoProgress(watch.report("guest.py: " + what, reason))


def main():
    try:
        return run(Watch())
    except NoProgress as e:
        print(e, file=sys.stderr)
        return 125


def run(watch):
    args = sys.argv[1:]
    if len(args) < 3 or "--" not in args:
        print(__doc__, file=sys.stderr)
        return 2
    sock_path = args[0]
    timeout = 60.0
    if args[1] == "--timeout":
        timeout = float(args[2])
    cmd = " ".join(args[args.index("--") + 1:])
    tag = "%d%d" % (os.getpid(), int(time.time() * 1000) % 100000)
    # The shell prints ETEND<tag+1>:<status>; the echoed line only shows the expression.
    line = "%s; echo ETEND$((%s+1)):$?\n" % (cmd, tag)
    want = re.compile(r"ETEND%d:(\d+)" % (int(tag) + 1))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    deadline = time.time() + timeout
    while True:
        try:
            s.connect(sock_path)
            break
        except OSError:
            if time.time() > deadline:
                print("guest.py: cannot connect to %s" % sock_path, file=sys.stderr)
                return 124
            watched(watch, "connecting to %s" % sock_path)
            time.sleep(0.5)
    # The guest may still be booting, and lines sent before its command runner is up are
    # lost: ping until a computed answer comes back, then send the command.
    ping_tag = int(tag) + 7
    pong = ("ETPONG%d" % (ping_tag + 1)).encode()
    seen = b""
    while pong not in seen:
        if time.time() > deadline:
            print("guest.py: guest shell did not answer within %.0fs" % timeout, file=sys.stderr)
            return 124
        watched(watch, "waiting for the guest shell")
        s.sendall(("echo ETPONG$((%d+1))\n" % ping_tag).encode())
        end = time.time() + 1.0
        s.settimeout(0.2)
        while time.time() < end and pong not in seen:
            try:
                chunk = s.recv(65536)
                if not chunk:
                    watched(watch, "waiting for the guest shell")
                    print("guest.py: %s closed" % sock_path, file=sys.stderr)
                    return 124
                seen += chunk
            except socket.timeout:
                pass
    # Drain any answers to earlier pings.
    s.settimeout(0.3)
    try:
        while s.recv(65536):
            pass
    except OSError:
        pass
    s.sendall(line.encode())
    buf = b""
    while time.time() < deadline:
        s.settimeout(max(0.1, min(1.0, deadline - time.time())))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            watched(watch, "running: %s" % cmd)
            continue
        if not chunk:
            watched(watch, "running: %s" % cmd)
            break
        watch.progress()
        buf += chunk
        text = buf.decode(errors="replace")
        m = want.search(text)
        if m:
            out = text[:m.start()]
            # Drop the echoed command line, if the tty echoed it.
            first = out.find("ETEND$((")
            if first >= 0:
                out = out[out.find("\n", first) + 1:]
            # A slow guest may answer an earlier ping after the drain above gave up.
            lines = out.replace("\r", "").splitlines(True)
            sys.stdout.write("".join(l for l in lines if l.rstrip("\n") != pong.decode()))
            return int(m.group(1))
    sys.stdout.write(buf.decode(errors="replace"))
    print("guest.py: timed out after %.0fs: %s" % (timeout, cmd), file=sys.stderr)
    return 124


if __name__ == "__main__":
    sys.exit(main())
