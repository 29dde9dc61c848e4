"""`botrader up`: run what a manifest needs in one process, no cluster required.

Embedded mode: the collector (live or replay) and the bot's paper trader share one event
loop and one database (SQLite by default); the collector pokes the trader after every
commit. A live table shows the newest candles with RSI/MACD and the bot's state. The status
API joins when it lands.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer

from botrader.core import settings
from botrader.core.cli.common import require, setup_logging
from botrader.core.cli.db import DbOption
from botrader.core.errors import UserError
from botrader.core.manifests import TradingBot, load_manifests, parse_trading_bot
from botrader.core.modelref import training_run_ref
from botrader.core.signals import stop_on_signals


def up(
    files: Annotated[
        list[Path],
        typer.Option(
            "-f",
            "--file",
            help="Manifest (YAML) as for kubectl apply: one TradingBot, optionally TrainingRuns; repeatable.",
        ),
    ],
    db: DbOption = None,
    port: Annotated[int, typer.Option(help="API and dashboard port (0 = any free port).")] = 8001,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    speed: Annotated[float | None, typer.Option(help="Override spec.replay.speed.")] = None,
    exit_after_replay: Annotated[
        bool, typer.Option(help="Stop when a replay ends instead of serving on.")
    ] = False,
) -> None:
    """Run a bot manifest locally (embedded mode: SQLite, collector, trader and API in one process;
    TrainingRuns in the manifests train first, with local Ray and a local MLflow store)."""
    setup_logging("WARNING")
    bot, runs = _load(files)
    replay = bot.replay_path()
    if replay is not None and not replay.is_file():  # before any training: fail fast
        raise UserError(f"{bot.name}: spec.replay.path {bot.spec.replay.path!r} not found")  # type: ignore[union-attr]
    if runs:
        bot = _train(bot, runs, settings.db_url(db))
    collector = require("botrader.services.collector.service")
    spec = bot.spec
    cfg = collector.CollectorConfig(
        symbols=[spec.symbol],
        interval=spec.interval,
        source=spec.source,
        db_url=settings.db_url(db),
        replay_file=bot.replay_path(),
        duration=duration,
        port=None,  # the API serves /metrics for every component of this process
        speed=speed if speed is not None else (spec.replay.speed if spec.replay else 60.0),
    )
    services = {
        name: require(f"botrader.services.{name}")
        for name in ("collector.service", "trader.service", "api.main", "api.server", "api.control")
    }
    asyncio.run(_run(cfg, bot, services, port, exit_after_replay))


def _load(files: list[Path]) -> tuple[TradingBot, list[tuple[dict[str, Any], Path]]]:
    """One TradingBot and any TrainingRuns from the files, each validated as the cluster would."""
    from botrader.core.cli.embedded_training import parse_training_run

    bots, runs = [], []
    for path in files:
        for doc in load_manifests(path):
            if doc.get("kind") == "TradingBot":
                bots.append(parse_trading_bot(doc, source=str(path), manifest_dir=path.parent))
            elif doc.get("kind") == "TrainingRun":
                runs.append((parse_training_run(doc, str(path)), path.parent))
            else:
                raise UserError(
                    f"{path}: kind {doc.get('kind')!r}: botrader up runs TradingBot and TrainingRun"
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
    return bots[0], runs


def _train(bot: TradingBot, runs: list[tuple[dict[str, Any], Path]], db_url: str) -> TradingBot:
    """Every TrainingRun first; the bot then trades the model its modelRef names."""
    import os

    from botrader.core.cli.common import console as make_console
    from botrader.core.cli.embedded_training import run_training, tracking_uri, with_trained_model

    require("botrader.jobs.train.run")
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


async def _start_api(cfg: Any, services: dict[str, Any], port: int) -> tuple[Any, Any, Any, str]:
    import os
    import secrets

    from botrader.core.db import connect, upgrade

    engine = connect(cfg.db_url)
    upgrade(engine)
    controller = services["api.control"].LocalController()
    token = os.environ.get("BOTRADER_API_TOKEN") or secrets.token_urlsafe(12)
    app = services["api.main"].create_app(engine, controller=controller, token=token)
    server, task = await services["api.server"].serve_embedded(app, "127.0.0.1", port)
    return server, task, controller, token


async def _run(
    cfg: Any, bot: TradingBot, services: dict[str, Any], port: int, exit_after_replay: bool
) -> None:
    from rich.console import Group
    from rich.live import Live

    from botrader.core.cli.common import console as make_console

    trader_service = services["trader.service"]
    console = make_console()
    stop = asyncio.Event()
    stop_on_signals(stop)
    spec = bot.spec
    server, api_task, controller, token = await _start_api(cfg, services, port)
    url = f"http://127.0.0.1:{services['api.server'].bound_port(server)}/"
    console.print(
        f"[bold]botrader up[/bold]: {bot.name} ({spec.symbol} {spec.interval}, "
        f"source {spec.source}, strategy {spec.strategy.type}, budget {spec.budget:,.0f})\n"
        f"dashboard {url}  API docs {url}docs  control token {token}"
    )
    from botrader.core.cli.live_table import LiveCandles  # pandas/ta: only `up` needs them

    view = LiveCandles(cfg.keys()[0])
    waker = trader_service.Waker(str(cfg.keys()[0]))
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

        def on_commit(key: Any, candles: Any, changed: int) -> None:
            view.add(key, candles, changed)
            waker.poke()
            refresh()

        result = await services["collector.service"].run_collector(cfg, stop=stop, on_commit=on_commit)
        if cfg.source == "replay" and not exit_after_replay and not stop.is_set() and cfg.duration is None:
            live.stop()
            console.print(f"replay finished; still serving {url} — Ctrl-C to stop")
            await stop.wait()
        trader_stop.set()
        trader = await trader_task
        refresh()
    server.should_exit = True
    await api_task
    console.line()
    s = trader.summary()
    console.print(
        f"stopped: {result.written} candles written to {cfg.db_url}; {bot.name}: {s['phase']}, "
        f"equity {s['equity']:,.2f} ({s['pnl_percent']:+.2f}%), {s['trades']} fills"
    )
