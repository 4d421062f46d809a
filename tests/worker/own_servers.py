"""Servers a fault test owns and may kill: a redis-server and a TCP proxy, each on a free port.

The shared Redis (6379) and PostgreSQL (5432) are never touched: a test that crashes Redis runs
its own `redis-server` in its tmp dir, and a test that takes the database away puts a `Proxy`
between the catalog and the shared PostgreSQL and cuts that instead.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

from tests.worker.harness import wait_for


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """`redis-server` on a free loopback port, data in `folder`; `kill()` is SIGKILL (a crash),
    `start()` again reuses the port and, with AOF, the data."""

    def __init__(self, folder: Path, *, aof: bool) -> None:
        self.folder, self.aof, self.port = folder, aof, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        args = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.folder), "--save", "",
            # Celery's "key eviction" caveat (RELIABILITY 7): never drop a queued message.
            "--maxmemory-policy", "noeviction",
            "--appendonly", "yes" if self.aof else "no",
            "--appendfsync", "always",  # what a SIGKILL can lose is then nothing, not 1 s
        ]
        log = open(self.folder / "redis.log", "ab")  # noqa: SIM115 - lives as long as the server
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_for(self.ping, 20, what=f"redis-server on {self.port}")
        return self

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


class Proxy:
    """A TCP proxy from a free loopback port to `target`, on a thread; the test cuts it.

    `cut()` is a database restart as clients see it: every open connection is closed and new
    ones are closed as soon as they are accepted. `hang()` is a black hole instead: new
    connections are accepted and never answered (a dead host, a stuck load balancer).
    `restore()` forwards again.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.mode = "forward"
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, name="proxy", daemon=True)
        self._thread.start()

    def cut(self) -> None:
        with self._lock:
            self.mode = "cut"
            pairs, self._pairs = self._pairs, []
        for a, b in pairs:
            _close(a)
            _close(b)

    def hang(self) -> None:
        self.cut()
        self.mode = "hang"

    def restore(self) -> None:
        with self._lock:
            self.mode = "forward"
            held, self._held = self._held, []
        for s in held:
            _close(s)

    def close(self) -> None:
        self._stop.set()
        self.cut()
        self.restore()
        _close(self.listener)

    def _accept_loop(self) -> None:
        self.listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except (TimeoutError, OSError):
                continue
            if self.mode == "cut":
                _close(client)
                continue
            if self.mode == "hang":
                with self._lock:
                    self._held.append(client)
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._pairs.append((client, server))
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        sel = selectors.DefaultSelector()
        for s in (a, b):
            s.setblocking(True)
            sel.register(s, selectors.EVENT_READ)
        try:
            while not self._stop.is_set():
                for key, _ in sel.select(0.5):
                    src: socket.socket = key.fileobj  # type: ignore[assignment]
                    data = src.recv(65536)
                    if not data:
                        return
                    (b if src is a else a).sendall(data)
        except (OSError, ValueError):
            return
        finally:
            sel.close()
            _close(a)
            _close(b)


def _close(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        s.close()


def settle(seconds: float) -> None:
    """Let an outage last `seconds` (the length of a fault, not a limit on anything)."""
    time.sleep(seconds)
