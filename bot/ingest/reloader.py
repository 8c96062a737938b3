"""Hot reload of a data file (rules, catalog): keep the last good version when a new one is bad."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class ReloadResult:
    """What a check found: nothing new, a new good version, or a bad one (kept the old)."""

    changed: bool
    error: str | None = None


class ReloadingFile(Generic[T]):
    """A value loaded from a file, reloaded when the file's content changes."""

    def __init__(self, path: Path, load: Callable[[Path], T], *, what: str) -> None:
        self.path = path
        self._load = load
        self.what = what
        self._digest = self._read_digest()
        self.value: T = load(path)
        self.last_error: str | None = None
        # Checks run in worker threads (loading is CPU work kept off the event loop);
        # the hot-reload job and /reload must not load the same file at once.
        self._lock = threading.Lock()

    def _read_digest(self) -> str | None:
        try:
            return hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError:
            return None

    def check(self) -> ReloadResult:
        """Reload if the content changed; on failure keep the current value and report why."""
        with self._lock:
            return self._check()

    def _check(self) -> ReloadResult:
        digest = self._read_digest()
        if digest is None or digest == self._digest:
            return ReloadResult(changed=False)
        self._digest = digest
        try:
            self.value = self._load(self.path)
        except Exception as error:
            self.last_error = str(error)
            log.error(
                "%s %s is invalid, keeping the previous version:\n%s", self.what, self.path, error
            )
            return ReloadResult(changed=False, error=str(error))
        self.last_error = None
        log.info("%s reloaded from %s", self.what, self.path)
        return ReloadResult(changed=True)

    def force(self) -> ReloadResult:
        """Reload now whatever the content (admin /reload)."""
        with self._lock:
            self._digest = None
            return self._check()
