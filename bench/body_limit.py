"""Request body limit (TERMSERVER_MAX_BODY_MB): peak server memory for oversized bodies.

    .venv/bin/python bench/body_limit.py [--port 18310] [--size-mb 200]

Starts the real server (`python -m termserver serve`, SQLite in a temporary folder) as a
subprocess and sends, on raw sockets, a `POST /fhir/CodeSystem/$lookup` of --size-mb MB
(a) with Content-Length and (b) chunked, stopping as soon as the server answers. Printed per
case: the status line, how much of the body had been sent when the answer came, and the
server's peak RSS (VmHWM) above its RSS before the case. Goal (issue 12): 413 and no more
than about the limit in extra memory (before: +450 MB for 200 MB). A script, not a test.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
CHUNK = 256 * 1024
PATH = "/fhir/CodeSystem/$lookup"


def _status(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _reset_peak(pid: int) -> None:
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        pass


def _send(port: int, size: int, chunked: bool) -> tuple[str, int]:
    """Send the body until the server answers; (status line, bytes of body sent)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    head = (f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/fhir+json\r\n")
    head += "Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {size}\r\n"
    sock.sendall((head + "\r\n").encode())
    sock.setblocking(False)
    block = b" " * CHUNK
    sent, answer = 0, b""
    try:
        while sent < size:
            try:
                answer += sock.recv(65536)
            except BlockingIOError:
                pass
            if answer:
                break
            data = f"{len(block):x}\r\n".encode() + block + b"\r\n" if chunked else block
            try:
                sock.setblocking(True)
                sock.sendall(data)
                sock.setblocking(False)
            except OSError:  # the server closed the connection after answering
                break
            sent += len(block)
        sock.setblocking(True)
        sock.settimeout(30)
        while b"\r\n" not in answer:
            more = sock.recv(65536)
            if not more:
                break
            answer += more
    finally:
        sock.close()
    return answer.split(b"\r\n", 1)[0].decode("latin-1"), sent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=18310)
    parser.add_argument("--size-mb", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "TERMSERVER_LOG_LEVEL": "WARNING"}
        server = subprocess.Popen(
            [sys.executable, "-m", "termserver", "serve", "--port", str(args.port),
             "--db", f"sqlite:///{tmp}/limit.db"], cwd=ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", args.port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.2)
            print("| case | answer | body sent when answered | server peak RSS above start |")
            print("|---|---|---|---|")
            for chunked in (False, True):
                before = _status(server.pid, "VmRSS")
                _reset_peak(server.pid)
                status, sent = _send(args.port, args.size_mb * MB, chunked)
                peak = _status(server.pid, "VmHWM")
                case = f"{args.size_mb} MB {'chunked' if chunked else 'Content-Length'}"
                print(f"| {case} | {status} | {sent / MB:.1f} MB | "
                      f"{max(0, peak - before) / MB:.1f} MB |")
        finally:
            server.terminate()
            server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
