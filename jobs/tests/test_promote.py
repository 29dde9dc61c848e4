"""Promotion: @champion moves to a version only when its card passes the gate; a refusal says
the verdict and exits 1; a forced promotion needs a reason and is audited with it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from botrader.core.cli.main import main
from botrader.jobs.promote import CHALLENGER, tag_card

PASSING = {
    "pbo": 0.1,
    "dsr": 0.9,
    "psr": 0.95,
    "trials": 12,
    "passes": True,
    "verdict": "evidence of skill: PBO 0.10",
}
FAILING = {
    "pbo": 0.62,
    "dsr": 0.08,
    "psr": 0.4,
    "trials": 240,
    "passes": False,
    "verdict": "no evidence of skill: PBO 0.62",
}


@pytest.fixture
def registry(tmp_path: Path, monkeypatch) -> tuple[object, str, str]:
    from mlflow import MlflowClient

    monkeypatch.chdir(tmp_path)
    uri, db = f"sqlite:///{tmp_path / 'mlflow.db'}", f"sqlite:///{tmp_path / 'botrader.db'}"
    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("ci", artifact_location=(tmp_path / "mlruns").as_uri())
    client.create_registered_model("m")
    for card in (PASSING, FAILING):  # version 1 passes, version 2 (the challenger) does not
        run = client.create_run(experiment).info.run_id
        version = client.create_model_version("m", f"runs:/{run}/model", run_id=run).version
        tag_card(client, "m", version, card)
        client.set_registered_model_alias("m", CHALLENGER, version)
    return client, uri, db


def promote(capsys, uri: str, db: str, *argv: str) -> tuple[int, str, str]:
    rc = main(["promote", "m", "--mlflow-uri", uri, "--db", db, *argv])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_champion_moves_only_for_a_passing_card_and_every_move_is_audited(registry, capsys) -> None:
    client, uri, db = registry
    rc, out, _ = promote(capsys, uri, db, "--version", "1", "--json")
    assert rc == 0 and json.loads(out)["version"] == "1"
    assert str(client.get_model_version_by_alias("m", "champion").version) == "1"
    rc, _, err = promote(capsys, uri, db)  # the challenger, version 2, fails its gate
    assert rc == 1 and "refused: m version 2: no evidence of skill: PBO 0.62" in err
    assert str(client.get_model_version_by_alias("m", "champion").version) == "1"
    rc, _, err = promote(capsys, uri, db, "--force")
    assert rc == 2 and "--force needs --reason" in err
    rc, out, _ = promote(capsys, uri, db, "--force", "--reason", "paper test of the new features")
    assert rc == 0 and "forced: paper test of the new features" in out and "(was 1)" in out
    assert str(client.get_model_version_by_alias("m", "champion").version) == "2"
    with create_engine(db).connect() as conn:
        rows = conn.execute(text("select actor, bot, action, before, after from audit order by id")).all()
    assert [(r.bot, r.action) for r in rows] == [("m", "promote"), ("m", "promote")]
    forced = json.loads(rows[1].after)
    assert forced["forced"] and forced["reason"] == "paper test of the new features"
    assert json.loads(rows[1].before) == {"champion": "1"} and rows[1].actor.startswith("cli:")


def test_a_loosened_gate_passes_what_the_default_refuses(registry, capsys) -> None:
    _, uri, db = registry
    rc, _, _ = promote(capsys, uri, db, "--max-pbo", "0.7", "--min-dsr", "0.05")
    assert rc == 0


def test_an_unknown_model_is_one_line(registry, capsys) -> None:
    _, uri, db = registry
    assert main(["promote", "nope", "--mlflow-uri", uri, "--db", db]) == 2
    err = capsys.readouterr().err
    assert "no registered model 'nope' (registered: m)" in err and "Traceback" not in err
