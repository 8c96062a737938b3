"""Content-Encoding decoding in bounded steps, so a compression bomb cannot take memory.

httpx decodes each network chunk in one go: ``Content-Encoding: gzip, gzip``
with a 1,827-byte body inflates to 1 GiB in a single call, before any size
check can run. :class:`BoundedDecoder` instead runs every layer with zlib's
``max_length``: each step yields at most :data:`STEP` bytes, which the next
layer (and finally the body collector) consumes before the next step. The
body is cut off as soon as it passes ``max_bytes``, so memory stays within
``max_bytes`` plus a few steps per layer, whatever the stacking.

Supported: ``gzip`` (and ``x-gzip``), ``deflate`` (zlib-wrapped, or raw as
some servers send it), ``identity``; at most :data:`MAX_LAYERS` layers.
``br``, ``zstd`` and ``compress`` are refused with a clear error (the client
never asks for them); other unknown tokens are ignored, as httpx does.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence

__all__ = [
    "ACCEPT_ENCODING",
    "MAX_LAYERS",
    "STEP",
    "BodyTooLarge",
    "BoundedDecoder",
    "ContentDecodingError",
]

STEP = 64 * 1024
MAX_LAYERS = 4
ACCEPT_ENCODING = "gzip, deflate"
_UNSUPPORTED = frozenset({"br", "zstd", "compress", "x-compress"})


class ContentDecodingError(Exception):
    """The body does not decode as its Content-Encoding says."""


class BodyTooLarge(Exception):
    """The decoded body passed the size limit."""


class _ZlibLayer:
    """One gzip or deflate layer, decompressed at most ``STEP`` bytes at a time."""

    def __init__(self, name: str) -> None:
        self.name = name
        gzip = name in ("gzip", "x-gzip")
        self._d = zlib.decompressobj(zlib.MAX_WBITS | 16 if gzip else zlib.MAX_WBITS)
        # A "deflate" body is meant to be zlib-wrapped but is often raw.
        self._may_be_raw = not gzip

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Decompressed pieces of ``data``, each at most ``STEP`` bytes."""
        while not self._d.eof:
            try:
                out = self._d.decompress(data, STEP)
            except zlib.error as exc:
                if not self._may_be_raw:
                    raise ContentDecodingError(f"{self.name}: {exc}") from None
                self._may_be_raw = False
                self._d = zlib.decompressobj(-zlib.MAX_WBITS)
                continue
            self._may_be_raw = False
            data = self._d.unconsumed_tail
            if out:
                yield out
            # Input used up and zlib had room to spare: nothing is pending.
            if not data and len(out) < STEP:
                return
        # Past the end of the stream: ignored, as httpx does.


class _Identity:
    name = "identity"

    def feed(self, data: bytes) -> Iterator[bytes]:
        for start in range(0, len(data), STEP):
            yield data[start : start + STEP]


def _layers(encodings: Sequence[str]) -> list[_ZlibLayer | _Identity]:
    names = [e.strip().lower() for e in encodings if e.strip()]
    for name in names:
        if name in _UNSUPPORTED:
            raise ContentDecodingError(f"unsupported Content-Encoding {name!r}")
    known = [n for n in names if n in ("gzip", "x-gzip", "deflate")]
    if len(known) > MAX_LAYERS:
        raise ContentDecodingError(
            f"{len(known)} content encodings stacked (at most {MAX_LAYERS} accepted)"
        )
    # Applied in the order listed, so undone in reverse.
    layers: list[_ZlibLayer | _Identity] = [_ZlibLayer(n) for n in reversed(known)]
    return layers or [_Identity()]


class BoundedDecoder:
    """Decode raw body chunks through every Content-Encoding layer, within ``max_bytes``."""

    def __init__(self, encodings: Sequence[str], max_bytes: int) -> None:
        self._layers = _layers(encodings)
        self._max = max_bytes
        self._size = 0
        self._chunks: list[bytes] = []
        self.description = ", ".join(layer.name for layer in reversed(self._layers))

    def _through(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self._layers):
            yield data
            return
        for piece in self._layers[index].feed(data):
            yield from self._through(index + 1, piece)

    def _take(self, pieces: Iterator[bytes]) -> None:
        for piece in pieces:
            self._size += len(piece)
            if self._size > self._max:
                self._chunks.clear()
                encoded = (
                    ""
                    if self.description == "identity"
                    else (f" after decoding Content-Encoding {self.description}")
                )
                raise BodyTooLarge(f"body exceeds {self._max} bytes{encoded}")
            self._chunks.append(piece)

    def feed(self, raw: bytes) -> None:
        """Decode one raw chunk; raises :class:`BodyTooLarge` or :class:`ContentDecodingError`."""
        self._take(self._through(0, raw))

    def finish(self) -> bytes:
        """The whole decoded body (after the last raw chunk)."""
        for index in range(len(self._layers)):
            self._take(
                piece
                for out in self._layers[index].feed(b"")
                for piece in self._through(index + 1, out)
            )
        body = b"".join(self._chunks)
        self._chunks.clear()
        return body
