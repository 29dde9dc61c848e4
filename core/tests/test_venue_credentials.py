"""Venue keys from a mounted Secret's files (the operator's way) or the environment (`botrader
up`'s): the right kind of key, and one line naming what is missing."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from botrader.core.errors import UserError
from botrader.core.venue.binance_spot import Credentials


def test_a_mounted_secret_wins_over_the_environment(tmp_path) -> None:
    (tmp_path / "apiKey").write_text("mounted-key\n")
    (tmp_path / "secretKey").write_text("mounted-secret\n")  # kubectl create secret keeps newlines
    env = {
        "BOTRADER_VENUE_CREDENTIALS_DIR": str(tmp_path),
        "BINANCE_API_KEY": "env",
        "BINANCE_API_SECRET": "x",
    }
    found = Credentials.from_env(env)
    assert (found.api_key, found.secret, found.private_key_pem) == ("mounted-key", "mounted-secret", None)
    assert "mounted-secret" not in repr(found)


def test_an_ed25519_key_file_signs_in_base64(tmp_path) -> None:
    key = Ed25519PrivateKey.generate()
    (tmp_path / "apiKey").write_text("k")
    (tmp_path / "privateKey").write_bytes(
        key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    )
    found = Credentials.from_directory(tmp_path)
    key.public_key().verify(base64.b64decode(found.sign("a=1&b=2")), b"a=1&b=2")  # raises if wrong


@pytest.mark.parametrize(
    ("files", "says"),
    [
        ({}, "no apiKey"),
        ({"apiKey": "k"}, "apiKey needs privateKey (Ed25519 PEM) or secretKey (HMAC)"),
        ({"apiKey": "  \n"}, "no apiKey"),
    ],
)
def test_missing_keys_are_one_line_naming_the_folder(tmp_path, files: dict[str, str], says: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(UserError) as refused:
        Credentials.from_env({"BOTRADER_VENUE_CREDENTIALS_DIR": str(tmp_path)})
    assert (
        says in str(refused.value) and str(tmp_path) in str(refused.value) and "\n" not in str(refused.value)
    )
