"""skaffold.yaml, checked without a skaffold binary (none is installable here): Skaffold's own
published schema (check-jsonschema), and the wiring it relies on — Dockerfiles that exist, chart
values that exist and render, sync rules that match sources and the images' Python path."""

from __future__ import annotations

import glob
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.test_chart import CHART, helm
from tests.support.paths import REPO

SCHEMA = REPO / "tests" / "deploy" / "schemas" / "skaffold-v4beta13.json"
CHECK = str(REPO / ".venv" / "bin" / "check-jsonschema")


def config() -> dict[str, Any]:
    return yaml.safe_load((REPO / "skaffold.yaml").read_text())


def check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CHECK, "--schemafile", str(SCHEMA), str(path)], capture_output=True, text=True)


def test_skaffold_yaml_matches_the_published_schema(tmp_path: Path) -> None:
    done = check(REPO / "skaffold.yaml")
    assert done.returncode == 0, done.stdout + done.stderr
    broken = config()
    broken["build"]["artifacts"][0]["docker"]["dockerfil"] = "typo"
    (tmp_path / "skaffold.yaml").write_text(yaml.safe_dump(broken))
    assert check(tmp_path / "skaffold.yaml").returncode != 0  # the schema check has teeth


def test_artifacts_are_the_three_dockerfiles_wired_into_the_chart() -> None:
    cfg = config()
    artifacts = {a["image"]: a for a in cfg["build"]["artifacts"]}
    assert set(artifacts) == {"botrader-operator", "botrader-services", "botrader-jobs"}
    for artifact in artifacts.values():
        assert (REPO / artifact["context"] / artifact["docker"]["dockerfile"]).exists()
    templates = cfg["manifests"]["helm"]["releases"][0]["setValueTemplates"]
    sets = []
    for image in artifacts:
        key, token = image.removeprefix("botrader-"), image.replace("-", "_")
        assert templates[f"images.{key}.repository"] == f"{{{{.IMAGE_REPO_{token}}}}}"
        assert templates[f"images.{key}.tag"] == f"{{{{.IMAGE_TAG_{token}}}}}@{{{{.IMAGE_DIGEST_{token}}}}}"
        sets += ["--set", f"images.{key}.repository=localhost:5000/{image}"]
        sets += ["--set", f"images.{key}.tag=abc123@sha256:{'0' * 64}"]
    done = helm("template", "botrader", str(CHART), *sets)
    assert done.returncode == 0, done.stderr
    assert f"image: localhost:5000/botrader-operator:abc123@sha256:{'0' * 64}" in done.stdout


def test_dev_profile_syncs_into_the_installed_packages_and_renders() -> None:
    profile = next(p for p in config()["profiles"] if p["name"] == "dev")
    base_image = re.search(r"python:(\d+\.\d+)", (REPO / "operator" / "Dockerfile").read_text())
    site = f"/opt/botrader/lib/python{base_image.group(1)}/site-packages"
    rules = [
        rule
        for patch in profile["patches"]
        if patch["path"].endswith("/sync")
        for rule in patch["value"]["manual"]
    ]
    assert rules
    for rule in rules:
        assert rule["dest"] == site
        matched = glob.glob(str(REPO / rule["src"]), recursive=True)
        assert matched and all(
            Path(m).relative_to(REPO).as_posix().startswith(rule["strip"]) for m in matched
        )
    values = next(p["value"] for p in profile["patches"] if p["path"].endswith("/setValues"))
    sets = [arg for key, value in values.items() for arg in ("--set", f"{key}={str(value).lower()}")]
    done = helm("template", "botrader", str(CHART), *sets)
    assert done.returncode == 0, done.stderr
    assert 'command: [watchfiles, --filter, python, "botrader operator' in done.stdout
    assert f"{site}/botrader]" in done.stdout
