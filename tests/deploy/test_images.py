"""The three Dockerfiles, checked without a Docker engine: hadolint, COPY sources that exist
(after .dockerignore), a non-root numeric USER, an entrypoint that is a real console script
whose default command exists, and an operator image with no torch or ray in it."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.support.paths import REPO

IMAGES = {
    "operator": ["core", "operator"],
    "services": ["core", "services"],
    "jobs": ["core", "services", "jobs"],
}
HEAVY = ("torch", "ray", "mlflow", "gymnasium")


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, rest = line.partition(" ")
            found.append((op.upper(), rest.strip()))
    return found


def final_stage(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last:]


def dependencies(distribution: str, extras: bool) -> list[str]:
    project = tomllib.loads((REPO / distribution / "pyproject.toml").read_text())["project"]
    deps = list(project.get("dependencies", []))
    if extras:
        deps += [d for group in project.get("optional-dependencies", {}).values() for d in group]
    return [re.split(r"[<>=\[ ;]", d, maxsplit=1)[0].lower() for d in deps]


@pytest.mark.parametrize("image", sorted(IMAGES))
def test_dockerfile(image: str) -> None:
    dockerfile = REPO / image / "Dockerfile"
    steps = instructions(dockerfile)
    copies = [rest.split() for op, rest in steps if op == "COPY" and "--from=" not in rest]
    sources = [parts[0] for parts in copies]
    for source in sources:
        assert (REPO / source).exists(), f"{dockerfile}: COPY {source} does not exist"
    assert {s for s in sources if s != "crds"} == set(IMAGES[image])  # exactly its distributions
    stage = final_stage(steps)
    user = next(rest for op, rest in reversed(stage) if op == "USER")
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, f"USER {user} must be a numeric non-root uid"
    entrypoint = json.loads(next(rest for op, rest in stage if op == "ENTRYPOINT"))
    scripts = tomllib.loads((REPO / "core" / "pyproject.toml").read_text())["project"]["scripts"]
    assert entrypoint == ["botrader"] and "botrader" in scripts
    command = json.loads(next(rest for op, rest in stage if op == "CMD"))
    done = subprocess.run(
        [str(REPO / ".venv" / "bin" / "botrader"), command[0], "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0, f"`botrader {command[0]}` is not a command: {done.stderr}"


def test_hadolint_passes() -> None:
    files = [str(REPO / name / "Dockerfile") for name in sorted(IMAGES)]
    done = subprocess.run([str(REPO / ".venv" / "bin" / "hadolint"), *files], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_operator_image_carries_no_torch_or_ray() -> None:
    installed = " ".join(rest for op, rest in instructions(REPO / "operator" / "Dockerfile") if op == "RUN")
    assert "[rl]" not in installed and "torch" not in installed
    for distribution in IMAGES["operator"]:
        assert not set(dependencies(distribution, extras=False)) & set(HEAVY), distribution
    assert set(HEAVY) <= set(dependencies("jobs", extras=True))  # they live in the jobs image


def test_dockerignore_keeps_sources_and_drops_local_state() -> None:
    ignored = (REPO / ".dockerignore").read_text().split()
    assert "**/.venv" in ignored and ".git" in ignored
    assert not any(pattern.strip("*/") in ("src", "crds", "core") for pattern in ignored)
