"""A wall-clock deadline on HTTP exchanges, from connect to the last byte.

httpx's timeouts bound each socket operation, so a server that sends one byte every few seconds keeps a request
open for as long as it likes. ``Deadline`` closes that gap with public hooks only: a request event hook attaches
httpcore's ``trace`` extension, which hands over every socket the client opens; when the time is up a timer shuts
those sockets down, the blocked read returns at once, and the client raises its usual connection error, which the
caller recognises through ``expired``. It works the same behind a proxy and on every operating system.

One ``Deadline`` belongs to one client, used by one thread at a time (the model module makes a client per call).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any

_OPENED = (".connect_tcp.complete", ".start_tls.complete")


class Deadline:
    """Shuts down the client's connections once ``seconds`` have passed since ``start``."""

    def __init__(self) -> None:
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self.expired = False

    def attach(self, request: Any) -> None:
        """An httpx ``request`` event hook: follow the sockets this request opens."""
        request.extensions["trace"] = self._trace

    def start(self, seconds: float) -> None:
        """Start (or restart) the clock for one attempt."""
        self.stop()
        self.expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def stop(self) -> None:
        """Stop the clock (the exchange is over); ``expired`` keeps its value."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _trace(self, event: str, info: dict[str, Any]) -> None:
        if not event.endswith(_OPENED):
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            with self._lock:
                self._sockets.append(sock)
                if self.expired:
                    _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed: nothing to end
        sock.shutdown(socket.SHUT_RDWR)
