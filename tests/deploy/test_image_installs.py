"""What each image's `pip install` line installs, done for real (no Docker engine here): the
Dockerfile's own install arguments, non-editable, into a fresh venv — so packaging mistakes
that editable installs hide (the CRDs shipped inside botrader-core, entry points, missing
dependencies) fail here. Then the image's commands run, and the operator's has no torch/ray."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.test_images import instructions
from tests.support.paths import REPO

COMMANDS = {
    "operator": [["operator", "--help"]],
    "services": [
        ["api", "--help"],
        ["collect", "--help"],
        ["backfill", "--help"],  # the operator's backfill Job runs in this image
        ["trade", "--help"],
        ["up", "--help"],
        ["db", "upgrade"],
    ],
}
# What each image's `botrader --help` lists: exactly the commands it can run.
LISTED = {
    "operator": ["backtest", "strategy", "symbols", "operator", "db"],
    "services": ["up", "collect", "backfill", "trade", "api", "backtest", "strategy", "symbols", "db"],
}


def listed_commands(help_text: str) -> list[str]:
    """The names in the Commands panel of `botrader --help`."""
    panel = help_text.split("Commands")[1].split("╰")[0]
    return re.findall(r"^│ ([a-z]+) ", panel, flags=re.M)


def install_arguments(image: str) -> list[str]:
    """`pip install /src/core /src/operator ${DEV_TOOLS}` → the repository paths it names."""
    line = next(
        rest
        for op, rest in instructions(REPO / image / "Dockerfile")
        if op == "RUN" and " install /src/" in rest
    )
    return [
        str(REPO / m.group(1)) + (m.group(2) or "") for m in re.finditer(r'"?/src/(\w+)(\[\w+\])?"?', line)
    ]


@pytest.mark.slow
@pytest.mark.parametrize("image", sorted(COMMANDS))
def test_image_install_line_works_and_its_commands_run(image: str, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "-q",
            "--disable-pip-version-check",
            *install_arguments(image),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert pip.returncode == 0, pip.stderr[-2000:]
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "BOTRADER_DB_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
    }
    listing = subprocess.run(
        [str(venv / "bin" / "botrader"), "--help"], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert listing.returncode == 0, listing.stderr[-1000:]
    assert sorted(listed_commands(listing.stdout)) == sorted(LISTED[image])
    for command in COMMANDS[image]:
        done = subprocess.run(
            [str(venv / "bin" / "botrader"), *command], capture_output=True, text=True, env=env, cwd=tmp_path
        )
        assert done.returncode == 0, f"botrader {' '.join(command)}: {done.stderr[-1000:]}"
    probe = (
        "import importlib.util, json, pathlib, sys\n"
        "from botrader.core.crds import crd_dir\n"
        "from botrader.core.manifests import load_trading_bot\n"
        "bot = load_trading_bot(pathlib.Path(sys.argv[1]))\n"
        "heavy = [m for m in ('torch', 'ray', 'mlflow') if importlib.util.find_spec(m)]\n"
        "print(json.dumps({'crds': str(crd_dir()), 'heavy': heavy, 'bot': bot.name}))\n"
    )
    example = str(REPO / "examples" / "tradingbot-rsi.yaml")
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", probe, example],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-1000:]
    found = json.loads(done.stdout)
    assert found["crds"].endswith("site-packages/botrader/core/_crds")  # the CRDs ship inside the wheel
    assert found["heavy"] == [] and found["bot"] == "btc-rsi"  # validated against the packaged CRDs
