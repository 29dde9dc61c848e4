"""Checks of the CLI contract shared by every distribution's command tests."""

from __future__ import annotations


def one_error_line(capsys, *needles: str) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err
    return err
