"""Every component runs `upgrade()` when it starts, so a fresh install starts several at once
(collector, trader and API in one pod set; the chart's migration hook too): concurrent upgrades
must all succeed and leave one schema. Seen failing before as `table candles already exists`."""

import subprocess
import sys

import pytest
from sqlalchemy import inspect

from botrader.core.db import connect
from botrader.core.db.migrate import current_revision

PROCESSES = 6


@pytest.mark.slow
def test_concurrent_upgrades_of_a_fresh_database(db_url: str) -> None:
    command = [sys.executable, "-m", "botrader.core", "db", "upgrade", "--db", db_url]
    procs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(PROCESSES)
    ]
    results = [(p.wait(60), p.stderr.read()) for p in procs]
    assert [rc for rc, _ in results] == [0] * PROCESSES, [err[-500:] for rc, err in results if rc]
    engine = connect(db_url)
    assert current_revision(engine) == "0007"
    assert {"candles", "bots", "orders", "trades", "equity", "audit"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()
