"""Bot API requests that only a replica holding the leader lease may make.

A leader that froze (SIGSTOP, a stuck event loop, a host cut off the network)
and wakes after a standby took over must not answer, send or long-poll any
more: its long poll would steal the new leader's updates and its sends would
repeat alerts. `FencedRequest` asks `may_act()` (bot.storage.leader's
`can_act`) right before every request and refuses locally when it says no; it
also reports each successful method call, which feeds /healthz and /metrics
(when getUpdates last completed). Messages pass the send budget's
`WireWindow` on their way out, the moment the request is made.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import ODVInput
from telegram.error import NetworkError
from telegram.request import HTTPXRequest, RequestData

from bot.delivery.pacing import WireWindow
from bot.telegram_app.limiter import budget_of


class NotLeader(NetworkError):
    """This replica's leadership ran out; the request was not sent."""


class FencedRequest(HTTPXRequest):
    """HTTPXRequest that refuses to send when `may_act()` is False.

    With `wire`, every message (not a paid broadcast, which has its own lane)
    waits for room in the global limit's window right before it is sent.
    """

    def __init__(
        self,
        may_act: Callable[[], bool],
        on_ok: Callable[[str], None] | None = None,
        *,
        connection_pool_size: int = 256,
        wire: WireWindow | None = None,
    ) -> None:
        super().__init__(connection_pool_size=connection_pool_size)
        self.may_act = may_act
        self.on_ok = on_ok
        self.wire = wire

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send unless fenced off; report the Bot API method of each 200 answer."""
        method_name = url.rsplit("/", 1)[-1]
        if self.wire is not None and budget_of(method_name) == "message":
            # Only messages pay the price of building the parameters dict.
            paid = request_data is not None and request_data.parameters.get("allow_paid_broadcast")
            if not paid:
                await self.wire.enter(time.monotonic)
        if not self.may_act():
            raise NotLeader("not the leader any more: request not sent")
        code, payload = await super().do_request(
            url,
            method,
            request_data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )
        if code == 200 and self.on_ok is not None:
            self.on_ok(method_name)
        return code, payload


__all__ = ["FencedRequest", "NotLeader"]
