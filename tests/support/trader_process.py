"""A paper trader process killed midway and resumed: `botrader trade` started on a manifest,
SIGKILLed once it has committed a batch with a fill, then run again until caught up."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

from botrader.core.cli.main import main
from botrader.core.db import connect
from botrader.core.db.trading import TradingStore
from botrader.core.timeutil import datetime_to_ms


async def kill_midway_then_resume(manifest: Path, db_url: str, bot: str, last: int) -> None:
    """`last`: the final candle's open time (the kill must land before it)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "botrader.core", "trade", "--bot", str(manifest), "--db", db_url,
        "--port", "0", "--batch", "300", "--log-level", "WARNING", env=dict(os.environ),
    )  # fmt: skip
    trading = TradingStore(connect(db_url))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row = trading.bot(bot)
        if row and row["last_candle_time"] is not None and row["trades"] > 0:
            break
        await asyncio.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    assert datetime_to_ms(trading.bot(bot)["last_candle_time"]) < last  # killed midway
    restart = ["trade", "--bot", str(manifest), "--db", db_url, "--port", "0", "--until-caught-up"]
    assert await asyncio.to_thread(main, restart) == 0
