"""A throw-away PostgreSQL server for tests and benchmarks (initdb + pg_ctl in a temporary directory).

It listens on a Unix socket only (``listen_addresses=''``), with fsync off. initdb and postgres
refuse to run as root: as root the server runs as the ``postgres`` OS user (or ``yibao-pg``,
created if absent) through ``runuser`` (``su`` if runuser is missing), in a directory owned by
that user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

FALLBACK_USER = "yibao-pg"


def find_binaries() -> dict[str, str] | None:
    """initdb, pg_ctl and postgres from PATH, else from a Debian-style /usr/lib/postgresql/N/bin."""
    names = ("initdb", "pg_ctl", "postgres")
    found = {n: shutil.which(n) for n in names}
    if all(found.values()):
        return found  # type: ignore[return-value]
    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        paths = {n: os.path.join(bindir, n) for n in names}
        if all(os.access(p, os.X_OK) for p in paths.values()):
            return paths
    return None


def _server_user() -> str | None:
    """None when not root; else an unprivileged OS user to run the server as (created if needed)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", FALLBACK_USER):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", FALLBACK_USER],
        check=True, capture_output=True,
    )
    return FALLBACK_USER


def _free_port() -> int:
    with socket.socket() as s:  # only names the socket file; the server does not listen on TCP
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    bins: dict[str, str]
    extra_options: str = ""  # more ``-c name=value`` settings, e.g. a benchmark's max_connections
    prefix: str = "yibao-pg-"
    base: Path = field(init=False)
    port: int = field(init=False)
    user: str | None = field(init=False)

    def _run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
        cmd = list(argv)
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd] if shutil.which("runuser") else ["su", self.user, "-s", "/bin/sh", "-c", shlex.join(cmd)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.base)
        if proc.returncode != 0:
            log = self.base / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{shlex.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n{tail}")
        return proc

    def start(self) -> "PostgresServer":
        self.user = _server_user()
        self.base = Path(tempfile.mkdtemp(prefix=self.prefix))
        if self.user is not None:
            info = pwd.getpwnam(self.user)
            os.chown(self.base, info.pw_uid, info.pw_gid)
        self.port = _free_port()
        data = self.base / "data"
        self._run(self.bins["initdb"], "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
        options = f"-p {self.port} -k {self.base} -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off {self.extra_options}".strip()
        self._run(self.bins["pg_ctl"], "-D", str(data), "-o", options, "-l", str(self.base / "server.log"), "-w", "-t", "60", "start")
        return self

    def stop(self) -> None:
        try:
            self._run(self.bins["pg_ctl"], "-D", str(self.base / "data"), "-m", "immediate", "-w", "stop", timeout=60)
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.base}&port={self.port}"
