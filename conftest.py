"""Fixtures shared by every distribution's tests: real servers and real data."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.support.paths import REAL_MONTH
from tests.support.servers import PostgresServer


@pytest.fixture(scope="session")
def real_candles() -> pd.DataFrame:
    """A month of real BTCUSDT 1m candles (examples/data, bundled)."""
    from botrader.core.data.files import read_candles_frame

    assert REAL_MONTH.exists(), f"real data missing: {REAL_MONTH}"
    return read_candles_frame(REAL_MONTH)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer | str]:
    """PostgreSQL 15 on loopback: $BOTRADER_TEST_PG_URL's server, or a private cluster."""
    external = os.environ.get("BOTRADER_TEST_PG_URL")
    if external:
        yield external
        return
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server: PostgresServer | str) -> str:
    """A fresh, empty database for one test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    if isinstance(pg_server, str):
        import psycopg

        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return pg_server.rsplit("/", 1)[0] + f"/{name}"
    return pg_server.create_database(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'botrader.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Runs the test once on SQLite and once on PostgreSQL."""
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


@pytest.fixture
def store(db_url: str):
    """A migrated candle store, once on SQLite and once on PostgreSQL."""
    from botrader.core.db import connect, upgrade
    from botrader.core.db.candles import CandleStore

    engine = connect(db_url)
    upgrade(engine)
    yield CandleStore(engine)
    engine.dispose()


@pytest.fixture
def candles_slice(real_candles: pd.DataFrame) -> Callable[[int, int], list]:
    from botrader.core.data.files import frame_to_candles

    def take(start: int, count: int) -> list:
        return frame_to_candles(real_candles.iloc[start : start + count])

    return take


@pytest.fixture
async def fake_binance_factory() -> AsyncIterator[Callable[..., object]]:
    """Start FakeBinance servers on loopback; all are stopped after the test."""
    from tests.support.fake_binance import FakeBinance

    servers: list[FakeBinance] = []

    async def make(series: dict, **kwargs: object) -> FakeBinance:
        server = await FakeBinance(series, **kwargs).start()  # type: ignore[arg-type]
        servers.append(server)
        return server

    yield make
    for server in servers:
        await server.stop()


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real Kubernetes control plane on loopback (etcd, kube-apiserver with RBAC,
    kube-controller-manager, kube-scheduler, kwok nodes): `scripts/testenv.sh`, whose
    binaries `make test` builds once and caches under .tools/."""
    import subprocess

    from tests.support import testenv
    from tests.support.paths import REPO

    bin_dir = Path(
        subprocess.run(
            ["bash", str(REPO / "scripts" / "testenv.sh"), "bin"], capture_output=True, text=True
        ).stdout.strip()
    )
    missing = [b for b in testenv.BINARIES if not (bin_dir / b).exists()]
    assert not missing, (
        f"control plane binaries missing in {bin_dir}: {missing}; run scripts/testenv.sh build"
    )
    where = tmp_path_factory.mktemp("control-plane")
    plane = testenv.start(str(where), str(bin_dir))
    yield plane
    testenv.stop(str(where))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by the real servers they use, so `-m "not postgres"` works without listing them."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        params = getattr(getattr(item, "callspec", None), "params", {})
        if names & {"pg_url", "pg_server"} or params.get("db_url") == "postgres":
            item.add_marker(pytest.mark.postgres)
        if "control_plane" in names:
            item.add_marker(pytest.mark.kube)
