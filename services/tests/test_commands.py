"""The services' commands (collect, backfill, up) as a user runs them: bad input and
unreachable sources are one line and exit code 2, and nothing is written."""

import asyncio
from pathlib import Path

from botrader.core.cli.main import main
from tests.support.cli import one_error_line
from tests.support.servers import free_port


async def test_unreachable_and_unknown_symbol_write_nothing(
    sqlite_url, candles_slice, fake_binance_factory, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("BOTRADER_BINANCE_REST_URL", f"http://127.0.0.1:{free_port()}")
    rc = await asyncio.to_thread(
        main, ["backfill", "--symbol", "BTCUSDT", "--start", "2025-06-01", "--db", sqlite_url]
    )
    assert rc == 2
    one_error_line(capsys, "cannot reach Binance REST at http://127.0.0.1:")

    server = await fake_binance_factory({("BTCUSDT", "1m"): candles_slice(0, 10)})
    monkeypatch.setenv("BOTRADER_BINANCE_REST_URL", server.rest_url)
    monkeypatch.setenv("BOTRADER_BINANCE_WS_URL", server.ws_url)
    rc = await asyncio.to_thread(
        main, ["backfill", "--symbol", "ETHBTC", "--start", "2025-06-01", "--db", sqlite_url]
    )
    assert rc == 2
    one_error_line(capsys, "unknown symbol 'ETHBTC'")
    rc = await asyncio.to_thread(main, ["collect", "--symbol", "ETHBTC", "--db", sqlite_url, "--port", "0"])
    assert rc == 2
    one_error_line(capsys, "unknown symbol 'ETHBTC'")
    from sqlalchemy import create_engine, text

    with create_engine(sqlite_url).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM candles")).scalar() == 0


def test_manifest_errors_name_the_field(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bot.yaml"
    head = (
        "apiVersion: botrader.io/v1alpha1\nkind: TradingBot\nmetadata: {name: b}\nspec:\n  symbol: BTCUSDT\n"
    )
    bad.write_text(head + "  budget: -5\n")
    assert main(["up", "-f", str(bad)]) == 2
    one_error_line(capsys, "spec.budget", "-5")
    bad.write_text(head + "  risk: {maxPositionFraction: 1.5}\n")
    assert main(["up", "-f", str(bad)]) == 2
    one_error_line(capsys, "spec.risk.maxPositionFraction", "1.5")
    bad.write_text("kind: Deployment\n")
    assert main(["up", "-f", str(bad)]) == 2
    one_error_line(capsys, "kind 'Deployment': botrader up runs TradingBot, TrainingRun and OptimizationRun")
    bad.write_text("")
    assert main(["up", "-f", str(bad)]) == 2
    one_error_line(capsys, "botrader up runs exactly one TradingBot; the manifests hold 0 (none)")


def test_collect_replay_with_duration_stops_on_time(sqlite_url: str, capsys) -> None:
    import time

    from tests.support.paths import SAMPLE

    began = time.monotonic()
    rc = main(
        [
            "collect",
            "--symbol",
            "BTCUSDT",
            "--source",
            "replay",
            "--replay-file",
            str(SAMPLE),
            "--speed",
            "600",
            "--duration",
            "1.5",
            "--db",
            sqlite_url,
            "--port",
            "0",
            "--log-level",
            "WARNING",
        ]
    )
    elapsed = time.monotonic() - began
    assert rc == 0 and 1.4 < elapsed < 5
    written = int(capsys.readouterr().out.split("collector stopped: ")[1].split()[0])
    assert 10 <= written <= 20  # 600x real time: ten 1m candles a second


def test_what_to_try_next_after_a_replay() -> None:
    from botrader.core.manifests import load_trading_bot
    from botrader.services.embedded.runner import next_steps
    from tests.support.paths import REPO

    manifest = REPO / "examples" / "tradingbot-replay.yaml"
    text = next_steps("http://127.0.0.1:8001/", "tok", load_trading_bot(manifest), [manifest])
    for needle in (
        "open the dashboard         http://127.0.0.1:8001/",
        "curl -X POST -H 'Authorization: Bearer tok' http://127.0.0.1:8001/bots/btc-replay/stop",
        f"backtest --bot {manifest} --data {REPO / 'examples' / 'data' / 'btcusdt-1m-2025-06-01.csv.gz'}",
        "strategy new my_strategy",
        "up -f examples/tradingbot-ppo-replay.yaml",
    ):
        assert needle in text, needle
