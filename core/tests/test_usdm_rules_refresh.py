"""`botrader symbols refresh --source binance-usdm` against a local server that speaks USD-M's
formats and checks signatures as Binance does: filters, liquidation fees and adjusted funding
intervals from the public endpoints, brackets from the signed leverageBracket (with keys) or
kept from the rules in use (without), and a refused signature said in one line."""

import asyncio
from decimal import Decimal

from botrader.core.binance.usdm import perp_rules_for
from botrader.core.cli.main import main
from tests.support.cli import one_error_line

NEW = [
    {"bracket": 1, "initialLeverage": 20, "notionalCap": 5000, "notionalFloor": 0, "maintMarginRatio": 0.02},
    {
        "bracket": 2,
        "initialLeverage": 10,
        "notionalCap": 25000,
        "notionalFloor": 5000,
        "maintMarginRatio": 0.05,
    },
]
for b, cum in zip(NEW, (0, 150), strict=True):
    b["cum"] = cum


def refresh(candles_slice, fake_binance_factory, monkeypatch, tmp_path, **server: object) -> int:
    async def go() -> int:
        fake = await fake_binance_factory(
            {("AVAXUSDT", "1m"): candles_slice(0, 5)},
            market="usdm",
            filters={"AVAXUSDT": ("0.0010", "1", "5"), "NEWUSDT": ("0.00010", "10", "5")},
            funding_hours={"AVAXUSDT": 4},
            brackets={"AVAXUSDT": NEW, "NEWUSDT": NEW},
            api_credentials=("key-1", "secret-1"),
            **server,
        )
        monkeypatch.setenv("BOTRADER_BINANCE_REST_URL", fake.rest_url)
        out = ["symbols", "refresh", "--source", "binance-usdm", "--out", str(tmp_path / "usdm.json")]
        return await asyncio.to_thread(main, out)

    return asyncio.run(go())


def test_without_keys_the_brackets_in_use_are_kept(
    candles_slice, fake_binance_factory, monkeypatch, tmp_path, capsys
) -> None:
    monkeypatch.delenv("BINANCE_API_KEY", raising=False)
    kept = perp_rules_for("AVAXUSDT").brackets
    assert refresh(candles_slice, fake_binance_factory, monkeypatch, tmp_path) == 0
    said = capsys.readouterr().out
    assert "1 symbols (brackets from the rules in use)" in said and "1 without brackets left out" in said
    monkeypatch.setenv("BOTRADER_USDM_RULES", str(tmp_path / "usdm.json"))
    rules = perp_rules_for("AVAXUSDT")
    assert rules.brackets == kept and rules.funding_interval_ms == 4 * 3_600_000  # fundingInfo's 4 h
    assert rules.market.tick_size == Decimal("0.001")  # the server's filters


def test_with_keys_the_signed_brackets(
    candles_slice, fake_binance_factory, monkeypatch, tmp_path, capsys
) -> None:
    monkeypatch.setenv("BINANCE_API_KEY", "key-1")
    monkeypatch.setenv("BINANCE_API_SECRET", "secret-1")
    monkeypatch.delenv("BINANCE_PRIVATE_KEY_FILE", raising=False)
    monkeypatch.delenv("BOTRADER_VENUE_CREDENTIALS_DIR", raising=False)
    assert refresh(candles_slice, fake_binance_factory, monkeypatch, tmp_path) == 0
    assert "2 symbols (brackets from leverageBracket)" in capsys.readouterr().out
    monkeypatch.setenv("BOTRADER_USDM_RULES", str(tmp_path / "usdm.json"))
    rules = perp_rules_for("NEWUSDT")
    assert [b.max_leverage for b in rules.brackets] == [20, 10] and rules.funding_interval_ms == 8 * 3_600_000
    # a wrong secret: Binance's -1022, in one line, and nothing written over the file
    monkeypatch.setenv("BINANCE_API_SECRET", "wrong")
    before = (tmp_path / "usdm.json").read_text()
    assert refresh(candles_slice, fake_binance_factory, monkeypatch, tmp_path) == 2
    assert "Signature for this request is not valid" in one_error_line(capsys)
    assert (tmp_path / "usdm.json").read_text() == before
