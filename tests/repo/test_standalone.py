"""The repository stands alone: a clone with nothing beside it passes its tests. Nothing
tracked may reach outside the repository — no path into a sibling folder, no link that leaves
it or points at a file that is not there — and the bundled real data is the file its
provenance names."""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

from tests.support.paths import REAL_MONTH, REPO

SIBLING = "../" + "shared"  # spelled in two parts so that this file does not match itself
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
MONTH_SHA256 = "3f611f39d06552c0e668a282e5d88bb9a36087c76f1691db7a385e0884db7b7b"


def tracked_text_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout.split(
        b"\0"
    )
    files = []
    for name in filter(None, names):
        path = REPO / name.decode()
        if path.is_file() and b"\0" not in path.read_bytes()[:4096]:
            files.append(path)
    return files


def test_no_tracked_file_reaches_a_sibling_folder() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{n}"
        for path in tracked_text_files()
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if SIBLING in line or re.search(r"(^|[\s\"'(=])/work/", line)
    ]
    assert offenders == [], "these lines reach outside the repository: " + ", ".join(offenders)


def test_every_markdown_link_stays_inside_and_resolves() -> None:
    broken = []
    for doc in (p for p in tracked_text_files() if p.suffix == ".md"):
        for target in LINK.findall(doc.read_text()):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue  # a URL or an anchor in the same page
            resolved = (doc.parent / target.split("#")[0]).resolve()
            if not resolved.is_relative_to(REPO) or not resolved.exists():
                broken.append(f"{doc.relative_to(REPO)} → {target}")
    assert broken == [], "links that leave the repository or point nowhere: " + ", ".join(broken)


def test_the_bundled_month_is_the_file_its_provenance_names() -> None:
    assert hashlib.sha256(REAL_MONTH.read_bytes()).hexdigest() == MONTH_SHA256
    assert MONTH_SHA256 in (REAL_MONTH.parent / "README.md").read_text()


BINANCE_MONTHS = {
    "ALGOUSDT": "bcca053fd38c34abb0ff068dca7594b5e41649a3cd9d4771141a630aa75a9ba4",
    "AVAXUSDT": "64a4b326f8bd7186c882bada5e9f4743b412b0e3744274b26e3bbd053eb0d27f",
    "FILUSDT": "d73a4a21d4522ca87314d41039776326404ad56acceadd317fad65fde07bf947",
    "NEARUSDT": "e57ca23c2ca1e24a6826b7cd98b27952816f2d7b1101e1338f3814dca41b7a55",
}


def test_the_binance_months_are_the_files_their_provenance_names() -> None:
    readme = (REAL_MONTH.parent / "README.md").read_text()
    for symbol, digest in BINANCE_MONTHS.items():
        path = REAL_MONTH.parent / f"{symbol}-1m-2025-02.csv.gz"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, symbol
        assert f"{digest[:8]}…{digest[-8:]}" in readme, symbol
