"""The evbot process: the composition root and its parts.

- `core`       `Service`: start, leadership, reloads, retention, stop
- `telegram`   `TelegramLink`: the leader's Application, long polling or webhook
- `probes`     the /healthz and /readyz answers
- `support`    `ServiceOptions`, `StartupError`, the console sender
"""

from bot.service.core import Service
from bot.service.support import (
    CONSOLE_CHAT_ID,
    ConsoleSender,
    ServiceOptions,
    StartupError,
)

__all__ = ["CONSOLE_CHAT_ID", "ConsoleSender", "Service", "ServiceOptions", "StartupError"]
