"""Real redis-server and PostgreSQL processes on loopback, for the cluster tests.

Each server runs on a free 127.0.0.1 port from its own temporary directory
and is stopped (and the directory removed) at the end. PostgreSQL refuses to
run as root, so as root its cluster is owned by, and run as, the ``postgres``
user (``runuser``). Nothing here is persistent: Redis saves nothing, the
PostgreSQL cluster runs with ``fsync=off`` in a throw-away directory.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SETUP_HINT = "run tools/ensure-servers.sh (installs Debian redis-server and postgresql)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, timeout: float, what: str, proc: subprocess.Popen[bytes] | None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before listening")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout}s")


def redis_binary() -> str | None:
    return shutil.which("redis-server")


def postgres_bindir() -> str | None:
    found = shutil.which("pg_ctl")
    if found:
        return str(Path(os.path.realpath(found)).parent)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return str(Path(candidates[-1]).parent) if candidates else None


class RedisServer:
    """``redis-server`` without persistence; ``freeze``/``thaw`` send SIGSTOP/SIGCONT."""

    def __init__(self) -> None:
        binary = redis_binary()
        assert binary is not None
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="cc-redis-")
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
                "--save", "", "--appendonly", "no", "--daemonize", "no",
                "--protected-mode", "yes", "--loglevel", "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_port(self.port, 10, "redis-server", self.proc)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGCONT)
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def restart_empty(self) -> None:
        """Stop and start again on the same port: every key is gone."""
        self.stop()
        self.start()

    def freeze(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class PostgresServer:
    """A throw-away PostgreSQL cluster; ``admin_dsn`` carries the superuser's password."""

    def __init__(self) -> None:
        bindir = postgres_bindir()
        assert bindir is not None
        self.bindir = bindir
        self.port = free_port()
        self.password = secrets.token_hex(16)
        self.root = tempfile.mkdtemp(prefix="cc-pg-")
        self.data = os.path.join(self.root, "data")
        self.log = os.path.join(self.root, "server.log")
        self._as: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        os.chmod(self.root, 0o700)

    @property
    def admin_dsn(self) -> str:
        return self.dsn("postgres", self.password)

    def dsn(self, user: str, password: str, dbname: str = "postgres") -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{dbname}"

    def _run(self, *args: str) -> None:
        subprocess.run(
            [*self._as, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def init(self) -> None:
        pwfile = os.path.join(self.root, "pw")
        with open(pwfile, "w") as f:
            f.write(self.password + "\n")
        if self._as:
            user = pwd.getpwnam("postgres")
            os.chown(pwfile, user.pw_uid, user.pw_gid)
        self._run(
            os.path.join(self.bindir, "initdb"), "-D", self.data, "-U", "postgres",
            "--auth=scram-sha-256", f"--pwfile={pwfile}", "--no-sync", "-E", "UTF8",
            "--locale=C",
        )  # fmt: skip
        os.unlink(pwfile)

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            "-c fsync=off -c synchronous_commit=on -c full_page_writes=off"
        )
        self._run(
            os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-l", self.log,
            "-o", options, "-w", "-t", "30", "start",
        )  # fmt: skip
        _wait_port(self.port, 10, "postgres", None)

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            pg_ctl = os.path.join(self.bindir, "pg_ctl")
            self._run(pg_ctl, "-D", self.data, "-m", "fast", "-w", "stop")

    def ensure_running(self) -> None:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                return
        self.start()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
