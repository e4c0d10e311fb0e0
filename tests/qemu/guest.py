#!/usr/bin/env python3
"""Run one shell command in a QEMU guest through its virtio-console root shell.

    guest.py SOCKET [--timeout S] -- COMMAND

Prints the command's output and exits with its exit status (124 on timeout). The end of
the output is found with a marker the guest shell has to compute, so the terminal's
echo of the command line can never be mistaken for it.
"""
import os
import re
import socket
import sys
import time


def main():
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
        s.sendall(("echo ETPONG$((%d+1))\n" % ping_tag).encode())
        end = time.time() + 1.0
        s.settimeout(0.2)
        while time.time() < end and pong not in seen:
            try:
                chunk = s.recv(65536)
                if not chunk:
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
        s.settimeout(max(0.1, deadline - time.time()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        buf += chunk
        text = buf.decode(errors="replace")
        m = want.search(text)
        if m:
            out = text[:m.start()]
            # Drop the echoed command line, if the tty echoed it.
            first = out.find("ETEND$((")
            if first >= 0:
                out = out[out.find("\n", first) + 1:]
            sys.stdout.write(out.replace("\r", ""))
            return int(m.group(1))
    sys.stdout.write(buf.decode(errors="replace"))
    print("guest.py: timed out after %.0fs: %s" % (timeout, cmd), file=sys.stderr)
    return 124


if __name__ == "__main__":
    sys.exit(main())
