"""What a venue's error means for an order. One owner for the rule the executor lives by: a
rejection is final and says why; a lost answer is UNKNOWN, never a failure; a rate limit is a
wait; a ban stops all sending; a clock off by more than the receive window is fixed by resyncing.

Binance's codes (spot REST and WebSocket API): -1013 filter failure (LOT_SIZE, NOTIONAL,
PRICE_FILTER, …), -2010 new order rejected (insufficient balance, …), -1007 timeout waiting for
the backend ("execution status unknown"), -1021 timestamp outside recvWindow, -1022 invalid
signature, -2013 / -2011 order does not exist, -2014 / -2015 bad API key, -1003 too many requests.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class VenueError(Exception):
    status: int  # HTTP status (0: no answer at all)
    code: int  # the venue's code (0: none)
    message: str

    def __str__(self) -> str:
        return f"{self.code} {self.message}" if self.code else f"HTTP {self.status}: {self.message}"


class Rejected(VenueError):
    """The venue refused the order: final, with its reason (state REJECTED)."""


class OutcomeUnknown(VenueError):
    """No answer, a 5xx or -1007: the order may exist. Query it; never resend blindly."""


class NotFound(VenueError):
    """The venue does not know the order (-2013, -2011)."""


@dataclass
class RateLimited(VenueError):
    """429: wait `retry_after` seconds."""

    retry_after: float = 1.0


@dataclass
class Banned(VenueError):
    """418: the IP is banned until `until_ms`; stop sending (the bot goes Degraded)."""

    until_ms: int = 0


class ClockSkew(VenueError):
    """-1021: our clock and the venue's differ by more than recvWindow: resync, retry once."""


class AuthFailed(VenueError):
    """Bad key, signature or permissions: nothing will work until the keys are fixed."""


REJECTIONS = {-1013, -2010, -1100, -1102, -1106, -1111, -1116, -1117, -1121}
NOT_FOUND = {-2013, -2011}
AUTH = {-1022, -2014, -2015, -1002}


def classify(
    status: int, code: int, message: str, *, retry_after: float = 1.0, now_ms: int = 0
) -> VenueError:
    """The error for an answer that was not a success."""
    if status == 418:
        return Banned(status, code, message, until_ms=now_ms + int(retry_after * 1000))
    if status == 429 or code == -1003:
        return RateLimited(status, code, message, retry_after=retry_after)
    if code == -1021:
        return ClockSkew(status, code, message)
    if code in NOT_FOUND:
        return NotFound(status, code, message)
    if code in AUTH or status == 401:
        return AuthFailed(status, code, message)
    if code == -1007 or status >= 500 or status == 0:
        return OutcomeUnknown(status, code, message)
    if code in REJECTIONS or 400 <= status < 500:
        return Rejected(status, code, message)
    return OutcomeUnknown(status, code, message)
