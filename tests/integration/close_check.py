#!/usr/bin/env python3
"""How a server ends a connection after the request it is sent.

    close_check.py PORT REQUEST [--tls HOST CAFILE] [--then COMMAND]

Sends REQUEST (backslash escapes such as \\r\\n are decoded) in one write, reads until the
server ends the connection, and prints one line:
    <bytes read> <end>
where <end> is "fin" (a plain close after the data), "close_notify" (TLS: the alert, then
the close), "eof_without_close_notify" (TLS), "reset" (the data may be lost) or "timeout"
(the server kept the connection open for 5 s). With --then, COMMAND (a shell command) runs
after that while this side of the connection is still open, and its output follows.
"""
import socket
import ssl
import subprocess
import sys


def main():
    args = sys.argv[3:]
    port, request = int(sys.argv[1]), sys.argv[2].encode().decode("unicode_escape").encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    tls = args[:1] == ["--tls"]
    if tls:
        ctx = ssl.create_default_context(cafile=args[2])
        sock = ctx.wrap_socket(sock, server_hostname=args[1], suppress_ragged_eofs=False)
        args = args[3:]
    sock.sendall(request)
    got = 0
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                # Python's TLS reads end empty only on the peer's close_notify
                end = "close_notify" if tls else "fin"
                break
            got += len(data)
    except ssl.SSLEOFError:
        end = "eof_without_close_notify"
    except ConnectionResetError:
        end = "reset"
    except (socket.timeout, TimeoutError):
        end = "timeout"
    print(got, end, flush=True)
    if args[:1] == ["--then"]:
        subprocess.run(args[1], shell=True, check=False)
    sock.close()


if __name__ == "__main__":
    main()
