"""The account's user data stream over Binance's WebSocket API (the listenKey endpoints are gone
since 2026): what the venue did to our orders, as it happens.

An Ed25519 key logs the session on (`session.logon`) and subscribes (`userDataStream.subscribe`);
an HMAC key cannot log on, so it subscribes with a signed request
(`userDataStream.subscribe.signature`). Both sign the request's parameters sorted by name.

The stream runs in a thread of its own and hands events to the trader through a queue; it
decides nothing. Events may be lost while it is down and may come twice: after every
(re)subscription it queues `RESUBSCRIBED`, and the trader then reconciles by cursor — the stream
makes the venue's news fast, reconciliation makes it complete. Applying an event twice changes
nothing (final order states absorb; fills are keyed by trade id).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection, connect

from botrader.core.timeutil import now_ms
from botrader.core.venue.binance_spot import Credentials, check_testnet
from botrader.core.venue.orders import VENUE_STATUS, Report, VenueFill

log = logging.getLogger(__name__)
RESUBSCRIBED: dict[str, Any] = {"e": "botrader.resubscribed"}  # queued after each subscription


def signed(credentials: Credentials, params: dict[str, Any]) -> dict[str, Any]:
    """`params` with `signature` over them as the WebSocket API wants: sorted by name."""
    payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
    return {**params, "signature": credentials.sign(payload)}


def subscribe_requests(credentials: Credentials, timestamp: int, recv_window: int) -> list[dict[str, Any]]:
    """The requests that start a subscription for this key, in order."""
    auth = {"apiKey": credentials.api_key, "timestamp": timestamp, "recvWindow": recv_window}
    if credentials.private_key_pem is not None:
        return [
            {"id": "logon", "method": "session.logon", "params": signed(credentials, auth)},
            {"id": "subscribe", "method": "userDataStream.subscribe"},
        ]
    method = "userDataStream.subscribe.signature"
    return [{"id": "subscribe", "method": method, "params": signed(credentials, auth)}]


def execution(event: dict[str, Any], lots: Callable[[str], int]) -> tuple[str, Report, VenueFill | None]:
    """An `executionReport` as the order's client id, a report and, for a trade, its fill. A
    cancel's event names the canceled order in `C` (its own `c` is the cancel request's id)."""
    client_id = (event.get("C") or event["c"]) if event.get("x") == "CANCELED" else event["c"]
    report = Report(
        state=VENUE_STATUS[event["X"]],
        filled_lots=lots(event["z"]),
        venue_id=int(event["i"]),
        error="" if event.get("r", "NONE") == "NONE" else str(event["r"]),
    )
    fill = None
    if event.get("x") == "TRADE":
        fill = VenueFill(
            trade_id=int(event["t"]),
            client_id=client_id,
            venue_id=int(event["i"]),
            symbol=event["s"],
            side=event["S"],
            price=event["L"],
            quantity=event["l"],
            quote_quantity=event.get("Y") or format(Decimal(event["L"]) * Decimal(event["l"]), "f"),
            commission=event["n"],
            commission_asset=event["N"] or "",
            time_ms=int(event["T"]),
        )
    return client_id, report, fill


class UserStream:
    """Connects, subscribes, queues events; on any drop waits (`backoff`, doubling to `cap`)
    and does it again."""

    def __init__(
        self,
        url: str,
        credentials: Credentials,
        *,
        recv_window: int = 5000,
        clock: Callable[[], int] = now_ms,
        backoff: float = 0.2,
        cap: float = 30.0,
        on_event: Callable[[], None] = lambda: None,
    ) -> None:
        check_testnet(url)
        self.url, self.credentials, self.recv_window, self.clock = url, credentials, recv_window, clock
        self.on_event = on_event  # called (from the stream's thread) after each queued event
        self.backoff, self.cap = backoff, cap
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.subscriptions = 0  # how many times it subscribed (1 + reconnects)
        self._stop, self._subscribed = threading.Event(), threading.Event()
        self._socket: ClientConnection | None = None
        self._thread = threading.Thread(target=self._run, name="user-stream", daemon=True)

    def start(self) -> UserStream:
        self._thread.start()
        return self

    def wait_subscribed(self, timeout: float) -> bool:
        """Whether the first subscription is made within `timeout` seconds."""
        return self._subscribed.wait(timeout)

    def stop(self) -> None:
        self._stop.set()
        if self._socket is not None:
            self._socket.close()
        self._thread.join(5)

    def drain(self) -> list[dict[str, Any]]:
        """Every event queued so far, oldest first."""
        found = []
        while True:
            try:
                found.append(self.events.get_nowait())
            except queue.Empty:
                return found

    def _run(self) -> None:
        delay = self.backoff
        while not self._stop.is_set():
            try:
                with connect(self.url, open_timeout=10, close_timeout=1) as socket:
                    self._socket = socket
                    self._subscribe(socket)
                    delay = self.backoff
                    for message in socket:
                        self._receive(message)
            except (OSError, WebSocketException, TimeoutError, StreamRefused) as exc:
                if self._stop.is_set():
                    return
                log.warning("user data stream: %s; again in %.1f s", exc, delay)
            self._stop.wait(delay)
            delay = min(delay * 2, self.cap)

    def _subscribe(self, socket: ClientConnection) -> None:
        for request in subscribe_requests(self.credentials, self.clock(), self.recv_window):
            socket.send(json.dumps(request))
            while True:  # events of an earlier subscription may come first
                answer = json.loads(socket.recv(timeout=10))
                if answer.get("id") == request["id"]:
                    break
            if answer.get("status") != 200:
                error = answer.get("error") or {}
                raise StreamRefused(f"{request['method']}: {error.get('code')} {error.get('msg')}")
        self.subscriptions += 1
        self._subscribed.set()
        self.events.put(RESUBSCRIBED)
        self.on_event()

    def _receive(self, message: str | bytes) -> None:
        try:
            body = json.loads(message)
        except ValueError:
            log.warning("user data stream: not JSON, ignored")
            return
        if isinstance(body, dict) and isinstance(body.get("event"), dict):
            self.events.put(body["event"])
            self.on_event()


class StreamRefused(RuntimeError):
    """The venue answered a subscription request with an error (bad key, signature, clock)."""
