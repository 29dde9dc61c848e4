"""Embedded mode (`botrader up`): what a manifest needs, in one process, no cluster.

The collector (live or replay) and the bot's paper trader share one event loop and one
database (SQLite by default); the collector pokes the trader after every commit, the API
and dashboard are served on the same loop, and a live table shows the newest candles with
RSI/MACD and the bot's state. TrainingRuns in the manifests train first
(`botrader.services.embedded.training`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from botrader.core import paramsref, settings
from botrader.core.cli.common import setup_logging
from botrader.core.errors import UserError
from botrader.core.manifests import TradingBot, load_manifests, parse_trading_bot
from botrader.core.modelref import training_run_ref
from botrader.core.shutdown import stop_on_signals
from botrader.services.api import control, server
from botrader.services.api.main import create_app
from botrader.services.collector import service as collector_service
from botrader.services.embedded.training import parse_training_run
from botrader.services.trader import service as trader_service


def run_embedded(
    files: list[Path],
    *,
    db: str | None,
    port: int,
    duration: float | None,
    speed: float | None,
    exit_after_replay: bool,
) -> None:
    setup_logging("WARNING")
    bot, runs = _load(files)
    replay = bot.replay_path()
    wanted = "folder" if bot.spec.is_portfolio else "file"  # a portfolio replays a folder of dumps
    if replay is not None and not (replay.is_dir() if bot.spec.is_portfolio else replay.is_file()):
        raise UserError(f"{bot.name}: spec.replay.path {bot.spec.replay.path!r}: no such {wanted}")  # type: ignore[union-attr]
    searches = [r for r in runs if r[0]["kind"] == "OptimizationRun"]
    trainings = [r for r in runs if r[0]["kind"] == "TrainingRun"]
    if searches:
        bot = _search(bot, searches, settings.db_url(db))
    if trainings:
        bot = _train(bot, trainings, settings.db_url(db))
    spec = bot.spec
    cfg = collector_service.CollectorConfig(
        symbols=spec.traded_symbols,
        interval=spec.interval,
        source=spec.source,
        db_url=settings.db_url(db),
        replay_file=bot.replay_path(),
        duration=duration,
        port=None,  # the API serves /metrics for every component of this process
        speed=speed if speed is not None else (spec.replay.speed if spec.replay else 60.0),
    )
    asyncio.run(_run(cfg, bot, port, exit_after_replay, files))


def _load(files: list[Path]) -> tuple[TradingBot, list[tuple[dict[str, Any], Path]]]:
    """One TradingBot and any TrainingRuns and OptimizationRuns from the files, each validated
    as the cluster would."""
    bots, runs = [], []
    for path in files:
        for doc in load_manifests(path):
            if doc.get("kind") == "TradingBot":
                bot = parse_trading_bot(doc, source=str(path), manifest_dir=path.parent)
                if bot.spec.not_on_paper:
                    raise UserError(f"{path}: {bot.name}: {bot.spec.not_on_paper}")
                bots.append(bot)
            elif doc.get("kind") in ("TrainingRun", "OptimizationRun"):
                runs.append((parse_training_run(doc, str(path)), path.parent))
            else:
                raise UserError(
                    f"{path}: kind {doc.get('kind')!r}: botrader up runs TradingBot, TrainingRun "
                    "and OptimizationRun"
                )
    if len(bots) != 1:
        names = ", ".join(b.name for b in bots) or "none"
        raise UserError(f"botrader up runs exactly one TradingBot; the manifests hold {len(bots)} ({names})")
    ref = training_run_ref(bots[0].spec.model_dump(by_alias=True, exclude_none=True))
    if ref is not None and ref not in {r["metadata"]["name"] for r, _ in runs}:
        raise UserError(
            f"{bots[0].name}: spec.strategy.modelRef names TrainingRun {ref!r}, which is not in the "
            "manifests (add its file with -f, or give a model path or MLflow URI)"
        )
    searched = paramsref.optimization_run_ref(bots[0].spec.model_dump(by_alias=True, exclude_none=True))
    searches = {r["metadata"]["name"] for r, _ in runs if r["kind"] == "OptimizationRun"}
    if searched is not None and searched not in searches:
        raise UserError(
            f"{bots[0].name}: spec.strategy.paramsFrom names OptimizationRun {searched!r}, which is not "
            "in the manifests (add its file with -f)"
        )
    return bots[0], runs


def _search(bot: TradingBot, runs: list[tuple[dict[str, Any], Path]], db_url: str) -> TradingBot:
    """Every OptimizationRun first; the bot then takes the parameters its paramsFrom names."""
    from botrader.core.cli.common import console as make_console
    from botrader.core.cli.main import has_command, install_hint
    from botrader.services.embedded.searches import run_search, with_searched_params

    if not has_command("optimize"):
        raise UserError(f"the manifests hold OptimizationRuns: {install_hint('optimize')}")
    console = make_console()
    ref = paramsref.optimization_run_ref(bot.spec.model_dump(by_alias=True, exclude_none=True))
    for run, folder in runs:
        found = run_search(run, folder, db_url, console)
        name = run["metadata"]["name"]
        console.print(f"OptimizationRun {name}: {found['verdict']}")
        if name == ref:
            bot = with_searched_params(bot, name, found)
    return bot


def _train(bot: TradingBot, runs: list[tuple[dict[str, Any], Path]], db_url: str) -> TradingBot:
    """Every TrainingRun first; the bot then trades the model its modelRef names."""
    import os

    from botrader.core.cli.common import console as make_console
    from botrader.core.cli.main import has_command, install_hint
    from botrader.services.embedded.training import run_training, tracking_uri, with_trained_model

    if not has_command("train"):
        raise UserError(f"the manifests hold TrainingRuns: {install_hint('train')}")
    os.environ["MLFLOW_TRACKING_URI"] = tracking_uri(db_url)  # the trader loads models from it
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # the live table owns the console
    console = make_console()
    ref = training_run_ref(bot.spec.model_dump(by_alias=True, exclude_none=True))
    for run, folder in runs:
        results = run_training(run, folder, db_url, console)
        name = run["metadata"]["name"]
        console.print(
            f"TrainingRun {name}: " + ", ".join(f"{r['budget']:g} → {r['modelUri']}" for r in results)
        )
        if name == ref:
            bot = with_trained_model(bot, name, results)
    return bot


async def _start_api(db_url: str, port: int) -> tuple[Any, Any, control.LocalController, str]:
    import os
    import secrets

    from botrader.core.db import connect, upgrade

    engine = connect(db_url)
    upgrade(engine)
    controller = control.LocalController()
    token = os.environ.get("BOTRADER_API_TOKEN") or secrets.token_urlsafe(12)
    app = create_app(engine, controller=controller, token=token, in_process=True)
    api, task = await server.serve_embedded(app, "127.0.0.1", port)
    return api, task, controller, token


def botrader_command() -> str:
    """How the user can type this command again: `botrader` when it is on PATH, else the
    path it was started by (`make demo` runs `.venv/bin/botrader`)."""
    import os
    import shutil
    import sys

    started = Path(sys.argv[0])
    if started.name == "botrader" and shutil.which("botrader") != str(started.resolve()):
        return os.path.relpath(started)
    return "botrader"


def next_steps(url: str, token: str, bot: TradingBot, files: list[Path]) -> str:
    """What a newcomer can try once the replay has ended (the demo stays up for it)."""
    data = bot.replay_path() or Path("FILE.csv.gz")
    me = botrader_command()
    stop = f"curl -X POST -H 'Authorization: Bearer {token}' {url}bots/{bot.name}/stop"
    return "\n".join(
        [
            "[bold]What to try next[/bold] (the bot and its API stay up until Ctrl-C):",
            f"  open the dashboard         {url}",
            f"  stop the bot               {stop}",
            f"  backtest the same candles  {me} backtest --bot {files[0]} --data {data}",
            f"  write your own strategy    {me} strategy new my_strategy && "
            f"{me} backtest --strategy my_strategy.py:MyStrategy --data {data}",
            f"  train a PPO model          make install && {me} up -f examples/tradingbot-ppo-replay.yaml",
        ]
    )


async def _run(cfg: Any, bot: TradingBot, port: int, exit_after_replay: bool, files: list[Path]) -> None:
    from rich.console import Group
    from rich.live import Live

    from botrader.core.cli.common import console as make_console
    from botrader.services.embedded.live_table import LiveCandles

    console = make_console()
    stop = asyncio.Event()
    stop_on_signals(stop)
    spec = bot.spec
    api, api_task, controller, token = await _start_api(cfg.db_url, port)
    url = f"http://127.0.0.1:{server.bound_port(api)}/"
    console.print(
        f"[bold]botrader up[/bold]: {bot.name} ({', '.join(spec.traded_symbols)} {spec.interval}, "
        f"source {spec.source}, strategy {spec.strategy.type}, budget {spec.budget:,.0f})\n"
        f"dashboard {url}  API docs {url}docs  control token {token}"
    )
    view = LiveCandles(cfg.keys()[0])  # a portfolio's first pair
    waker = trader_service.Waker({str(k) for k in cfg.keys()})
    trader_stop, started = asyncio.Event(), asyncio.Event()
    holder: dict[str, Any] = {}

    def on_start(trader: Any) -> None:
        holder["trader"] = trader
        controller.register(trader)

    trader_task = asyncio.create_task(
        trader_service.run_trader(
            bot,
            trader_service.TraderSettings(cfg.db_url, port=None),
            stop=trader_stop,
            waker=waker,
            started=started,
            on_start=on_start,
            drain_on_stop=True,
        )
    )
    await started.wait()
    with Live(view.render(), console=console, refresh_per_second=4, transient=False) as live:

        def refresh() -> None:
            live.update(Group(view.render(), view.render_bot(holder["trader"])))

        said = 0  # breaker openings already printed

        def say_trips() -> None:
            """Each breaker that opened since the last time, once (after a commit, and after
            the trader's last steps: one may open after the last commit)."""
            nonlocal said
            trips = holder["trader"].trips
            for line in breaker_lines(bot.name, trips[said:]):
                live.console.print(line)
            said = len(trips)

        def on_commit(key: Any, candles: Any, changed: int) -> None:
            view.add(key, candles, changed)
            waker.poke()
            refresh()
            say_trips()

        result = await collector_service.run_collector(cfg, stop=stop, on_commit=on_commit)
        if cfg.source == "replay" and not exit_after_replay and not stop.is_set() and cfg.duration is None:
            await _caught_up(holder["trader"])
            refresh()
            say_trips()
            live.stop()
            s = holder["trader"].summary()
            console.print(
                f"replay finished: {result.written} candles, {bot.name} {s['phase']}, "
                f"equity {s['equity']:,.2f} ({s['pnl_percent']:+.2f}%), {s['trades']} fills\n"
                + next_steps(url, token, bot, files)
            )
            await stop.wait()
        trader_stop.set()
        trader = await trader_task
        say_trips()
        refresh()
    api.should_exit = True
    await api_task
    console.line()
    s = trader.summary()
    console.print(
        f"stopped: {result.written} candles written to {cfg.db_url}; {bot.name}: {s['phase']}, "
        f"equity {s['equity']:,.2f} ({s['pnl_percent']:+.2f}%), {s['trades']} fills"
    )


def breaker_lines(name: str, trips: list[tuple[int, str, str]]) -> list[str]:
    """One line per circuit breaker that opened: the bot stops trading until it clears
    (README "Risk and circuit breakers" says when each does)."""
    from botrader.core.timeutil import format_ms

    return [
        f"[yellow]{name} halted[/yellow] at {format_ms(t)}: circuit breaker {b} opened — {why}"
        for t, b, why in trips
    ]


async def _caught_up(trader: Any) -> None:
    """Let the trader take every stored candle before the summary is printed."""
    while await asyncio.to_thread(trader.step):
        pass
