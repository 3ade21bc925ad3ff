"""A restartable SMTP server for the proof tests."""

from __future__ import annotations

import time
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from tests.vendors.servers import SmtpServer, _SmtpHandler


class ProofSmtpServer(SmtpServer):
    """SmtpServer that timestamps every accepted message (`received_at`, same order as
    `messages`) and keeps its port across `stop()`/`start()`: while stopped, connections are
    refused, as from an SMTP relay that is down."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.received_at: list[float] = []
        self._pinned_port: int | None = None

    def start(self) -> Self:
        if self._controller is not None:
            return self
        if self._pinned_port is None:
            super().start()
            self._pinned_port = self.port
            return self
        controller = Controller(
            _SmtpHandler(self), hostname=self.host, port=self._pinned_port, ready_timeout=5.0
        )
        controller.start()  # type: ignore[no-untyped-call]
        self._controller = controller  # type: ignore[assignment]
        return self

    @property
    def port(self) -> int:
        if self._controller is None:
            if self._pinned_port is None:
                raise RuntimeError("SMTP server is not running")
            return self._pinned_port
        return int(self._controller.port)

    @property
    def running(self) -> bool:
        return self._controller is not None

    def _record(self, envelope: Envelope) -> None:
        # aiosmtpd handles every session on one event loop thread: no race between the two.
        super()._record(envelope)
        self.received_at.append(time.time())
