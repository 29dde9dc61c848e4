"""The dashboard in a real headless Chromium (Debian's), driven by playwright-core: the chart
renders candles, a trade appears after the trader makes one, new candles and fills arrive over
the WebSocket with no poll, the Stop button pauses the bot.
Screenshots are kept under tests/e2e/artifacts/."""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPO
from tests.support.servers import free_port, wait_for_port

BROWSER_DIR = REPO / "tests" / "e2e" / "browser"
ARTIFACTS = REPO / "tests" / "e2e" / "artifacts"


@pytest.mark.slow
def test_dashboard_in_chromium(tmp_path: Path) -> None:
    assert shutil.which("node") and Path("/usr/bin/chromium").exists(), (
        "make test installs chromium and node deps"
    )
    assert (BROWSER_DIR / "node_modules" / "playwright-core").exists(), (
        "run: npm ci --prefix tests/e2e/browser"
    )
    port, token = free_port(), "browser-test-token"
    env = {**os.environ, "BOTRADER_API_TOKEN": token}
    app = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "botrader.core",
            "up",
            "-f",
            str(REPO / "examples" / "tradingbot-replay.yaml"),
            "--db",
            f"sqlite:///{tmp_path / 'demo.db'}",
            "--port",
            str(port),
            "--speed",
            "6000",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        wait_for_port(port, 30)
        ARTIFACTS.mkdir(exist_ok=True)
        run = subprocess.run(
            ["node", str(BROWSER_DIR / "dashboard.mjs"), f"http://127.0.0.1:{port}/", token, str(ARTIFACTS)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr + run.stdout
        assert '"phase":"Paused"' in run.stdout and '"live":true' in run.stdout
        assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000
    finally:
        app.send_signal(signal.SIGINT)
        try:
            app.wait(20)
        except subprocess.TimeoutExpired:
            app.kill()
            raise
    assert app.returncode == 0, app.stderr.read().decode() if app.stderr else ""
