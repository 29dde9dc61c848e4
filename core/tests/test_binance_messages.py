import pytest

from botrader.core.binance.messages import MalformedMessage, candle_from_rest, kline_from_stream

# Shapes copied from Binance's spot API documentation (kline/candlestick streams and GET /api/v3/klines).
STREAM_MESSAGE = {
    "stream": "btcusdt@kline_1m",
    "data": {
        "e": "kline",
        "E": 1672515782136,
        "s": "BTCUSDT",
        "k": {
            "t": 1672515780000,
            "T": 1672515839999,
            "s": "BTCUSDT",
            "i": "1m",
            "f": 100,
            "L": 200,
            "o": "0.00100000",
            "c": "0.00200000",
            "h": "0.00300000",
            "l": "0.00050000",
            "v": "1000.00000000",
            "n": 100,
            "x": False,
            "q": "1.00000000",
            "V": "500.00000000",
            "Q": "0.50000000",
            "B": "123456",
        },
    },
}
REST_ROW = [
    1499040000000,
    "0.01634790",
    "0.80000000",
    "0.01575800",
    "0.01577100",
    "148976.11427815",
    1499644799999,
    "2434.19055334",
    308,
    "1756.87402397",
    "28.46694368",
    "0",
]


def test_stream_kline_is_parsed() -> None:
    event = kline_from_stream(STREAM_MESSAGE)
    assert (event.symbol, event.interval, event.closed) == ("BTCUSDT", "1m", False)
    assert event.candle.open_time == 1672515780000
    assert event.close_time == 1672515839999
    assert (event.candle.open, event.candle.high, event.candle.low, event.candle.close) == (
        0.001,
        0.003,
        0.0005,
        0.002,
    )
    assert event.candle.volume == 1000.0 and event.candle.trades == 100


def test_rest_row_is_parsed() -> None:
    candle, close_time = candle_from_rest(REST_ROW)
    assert candle.open_time == 1499040000000 and close_time == 1499644799999
    assert candle.close == 0.015771 and candle.quote_volume == 2434.19055334 and candle.trades == 308


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ([1, 2], "not_object"),
        ({"result": None, "id": 1}, "unexpected_event"),
        ({"stream": "x", "data": {"e": "trade"}}, "unexpected_event"),
        ({"stream": "x", "data": {"e": "kline", "E": 1, "k": {"t": 1}}}, "bad_kline"),
        (
            {"data": {**STREAM_MESSAGE["data"], "k": {**STREAM_MESSAGE["data"]["k"], "x": "true"}}},
            "bad_kline",
        ),
        ({"data": {**STREAM_MESSAGE["data"], "k": {**STREAM_MESSAGE["data"]["k"], "o": "abc"}}}, "bad_kline"),
    ],
)
def test_malformed_messages_carry_a_bounded_reason(message: object, reason: str) -> None:
    with pytest.raises(MalformedMessage) as info:
        kline_from_stream(message)
    assert info.value.reason == reason


def test_malformed_rest_row() -> None:
    with pytest.raises(MalformedMessage):
        candle_from_rest([1, "x"])
