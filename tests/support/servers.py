"""Real servers for tests and benchmarks, started on loopback from Debian's packages.

PostgreSQL refuses to run as root, so when the tests run as root the throw-away cluster
is initialised and started as the `postgres` system user that Debian's package creates.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PG_BIN = Path(os.environ.get("BOTRADER_PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_owner(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


class PostgresServer:
    """A private PostgreSQL cluster in a temp dir; `durable=False` trades fsync for speed."""

    def __init__(self, *, durable: bool = False) -> None:
        self.durable = durable
        self.port = free_port()
        self.datadir = Path(tempfile.mkdtemp(prefix="botrader-pg-"))
        self.admin_url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> PostgresServer:
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(
                f"no PostgreSQL 15 server in {PG_BIN}: run scripts/system-deps.sh (apt postgresql-15)"
            )
        if os.geteuid() == 0:
            shutil.chown(self.datadir, "postgres", "postgres")
        pgdata = self.datadir / "data"
        subprocess.run(
            _as_owner(
                [
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(pgdata),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
        )
        opts = f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if not self.durable:
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        subprocess.run(
            _as_owner(
                [
                    str(PG_BIN / "pg_ctl"),
                    "-D",
                    str(pgdata),
                    "-o",
                    opts,
                    "-l",
                    str(self.datadir / "log"),
                    "-w",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )
        return self

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(
            self.admin_url.replace("postgresql://", "postgresql://", 1), autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        subprocess.run(
            _as_owner([str(PG_BIN / "pg_ctl"), "-D", str(self.datadir / "data"), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(self.datadir, ignore_errors=True)


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout} s")


class LoopbackProcess:
    """A server subprocess on a free loopback port with a scratch directory."""

    prefix = "botrader-server-"

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix=self.prefix))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class PrometheusServer(LoopbackProcess):
    """A real Prometheus scraping the given loopback targets every `interval` seconds."""

    prefix = "botrader-prom-"

    def __init__(self, targets: list[str], *, interval: float = 0.5) -> None:
        super().__init__()
        config = self.dir / "prometheus.yml"
        config.write_text(
            "global:\n"
            f"  scrape_interval: {int(interval * 1000)}ms\n"
            "scrape_configs:\n"
            "  - job_name: botrader\n"
            f"    static_configs: [{{targets: {targets!r}}}]\n".replace("'", '"')
        )
        self.config = config

    def start(self) -> PrometheusServer:
        binary = shutil.which("prometheus")
        if binary is None:
            raise RuntimeError("prometheus not installed; run .ci/run or apt-get install prometheus")
        self.proc = subprocess.Popen(
            [
                binary,
                f"--config.file={self.config}",
                f"--storage.tsdb.path={self.dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, 20)
        return self


class MlflowServer(LoopbackProcess):
    """A real `mlflow server` (SQLite backend, local artifact store) on loopback."""

    prefix = "botrader-mlflow-"

    def start(self) -> MlflowServer:
        import sys

        binary = Path(sys.executable).with_name("mlflow")
        self.proc = subprocess.Popen(
            [
                str(binary),
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
                "--backend-store-uri",
                f"sqlite:///{self.dir / 'mlflow.db'}",
                "--artifacts-destination",
                str(self.dir / "artifacts"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(self.dir / "server.log", "wb"),
        )
        wait_for_port(self.port, 90)
        return self
