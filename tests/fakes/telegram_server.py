"""A local fake of the Telegram Bot API, for tests and benchmarks.

The fake is an aiohttp application bound to 127.0.0.1 that answers
``/bot{token}/{method}`` the way api.telegram.org does, so the *real*
python-telegram-bot client (or any other client) can be pointed at it::

    async with FakeTelegram() as tg:
        app = (
            Application.builder()
            .token(tg.token)
            .base_url(tg.base_url)            # f"{tg.api_root}/bot"
            .base_file_url(tg.base_file_url)  # f"{tg.api_root}/file/bot"
            .build()
        )
        ...
        tg.send_message(42, "/start")
        [call] = await tg.wait_for("sendMessage", chat_id=42)

Responses use Telegram's envelope (``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": N, "description": "...", "parameters": {...}}``)
and status codes, so PTB raises its real exceptions (``BadRequest``,
``Forbidden``, ``RetryAfter``, ``ChatMigrated``, ``NetworkError``...).

Standalone (for multi-process tests)::

    python -m tests.fakes.telegram_server --port 0 --token 123:ABC

prints one JSON line (``{"api_root": ..., "port": ..., "token": ...}``) once it
listens, then serves until SIGINT/SIGTERM.  The extra endpoints under
``/_control/`` inject updates and expose calls as JSON; ``RemoteFakeTelegram``
and ``spawn_fake_telegram`` below wrap them for test code.

Everything here runs on one event loop: the synchronous helpers
(``send_message``, ``press_button``, ``fail_next``...) must be called from the
loop's thread (an ordinary ``async def`` test is fine).  Synchronous code can
use ``ThreadedFakeTelegram``, which runs the fake on a background loop.

Behaviour worth knowing when writing tests:

* ``calls`` records every API request (failed ones too) with decoded params;
  ``calls_of``/``wait_for`` filter by method and params, ``ok=True`` keeps
  answered-with-200 calls, ``since=len(fake.calls)`` ignores earlier ones.
* ``messages[chat_id]`` holds what the bot sent (``SentMessage``): ``text`` as
  sent, ``plain_text``/``entities`` as Telegram would render them.
* Validation follows Telegram: HTML parse errors, empty / over-4096-character
  texts, callback_data over 64 bytes, replies to unknown messages, edits that
  change nothing ("message is not modified") all answer 400.  An edit without
  ``reply_markup`` removes the inline keyboard, as on Telegram.
* Any chat id is accepted unless ``known_chats_only`` is set.
* Faults: ``fail_next``, ``block``, ``migrate_group``, ``unavailable_for``
  (HTML 502s) and ``set_limits`` (429 flood control, off by default).
* Channels: ``add_channel`` (known by ``@username`` too, the bot an admin or
  not) and ``remove_bot_from_channel``.
* Forum topics: ``make_forum`` turns a supergroup into a forum (``is_forum``;
  its administrators get ``can_manage_topics``, withheld per user through
  ``admin_rights``); ``createForumTopic`` answers with a new thread id and
  records ``topics[chat_id][thread_id] = name``; a message with a
  ``message_thread_id`` must name a live topic, and ``delete_topic`` makes one
  answer "message thread not found" from then on (``SentMessage.thread_id``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import dataclasses
import itertools
import json
import re
import signal
import socket
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

__all__ = [
    "Call",
    "EntityParseError",
    "FakeTelegram",
    "RemoteFakeTelegram",
    "SentMessage",
    "ThreadedFakeTelegram",
    "parse_html",
    "spawn_fake_telegram",
]

JSONDict = dict[str, Any]
_T = TypeVar("_T")

#: Telegram's limit on message text length, counted after entity parsing.
MAX_MESSAGE_LENGTH = 4096
#: Telegram's limit on ``callback_data``, in bytes.
MAX_CALLBACK_DATA_BYTES = 64
#: User id used for group messages when the test does not name a sender.
DEFAULT_GROUP_USER_ID = 1001

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)

# nginx's answer when the Bot API backend is down; PTB must cope with a non-JSON body.
BAD_GATEWAY_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n</html>\r\n"
)

# Parameters that are strings in the Bot API: never JSON-decode them, or a text of
# "123" or "true" would silently turn into a number/bool.
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "url",
        "title",
        "description",
        "short_description",
        "action",
        "language_code",
        "query",
        "message_effect_id",
        "business_connection_id",
        "name",
        "emoji",
        "question",
        "custom_title",
        "secret_token",
        "next_offset",
        "switch_pm_text",
        "switch_pm_parameter",
        "photo",
        "document",
        "audio",
        "video",
        "sticker",
        "file_id",
    }
)

# Methods that deliver something to a chat: blocked chats answer 403 to these.
_DELIVERY_PREFIXES = ("send", "edit", "copy", "forward")
# Of those, the ones Telegram's flood control counts (chat actions and edits have their own).
_RATE_LIMITED_PREFIXES = ("send", "copy", "forward")
_NOT_RATE_LIMITED = frozenset({"sendChatAction"})

# Where `python -m tests.fakes.telegram_server` must run from (for spawn_fake_telegram).
_REPO_ROOT = Path(__file__).resolve().parents[2]

_NUMBER_RE = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")
_BOT_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,64}(@[A-Za-z0-9_]{3,32})?")


# --------------------------------------------------------------------------- records


@dataclass
class Call:
    """One request the fake received, in arrival order.

    ``params`` are decoded (``chat_id`` is an ``int``, ``reply_markup`` a ``dict``).
    ``status`` is ``None`` while the request is still being answered (a long poll),
    then the HTTP status sent back; ``response`` is the JSON body sent back (``None``
    for the HTML 502).  ``at`` is ``time.monotonic()`` at arrival.
    """

    method: str
    params: dict[str, Any]
    at: float
    status: int | None = None
    response: JSONDict | None = None
    http_method: str = "POST"

    @property
    def ok(self) -> bool:
        """Whether the request was answered with HTTP 200."""
        return self.status == 200

    def to_json(self) -> JSONDict:
        """A JSON-serialisable view (for the control endpoints)."""
        return dataclasses.asdict(self)


@dataclass
class SentMessage:
    """A message the bot sent, as stored by the fake (current version).

    ``text`` is the text exactly as the bot sent it (HTML tags and all);
    ``plain_text``/``entities`` are what Telegram would show after parsing it.
    ``edits`` holds the *earlier* versions, oldest first, one per successful edit.
    """

    chat_id: int
    message_id: int
    text: str
    plain_text: str
    entities: list[JSONDict]
    parse_mode: str | None
    reply_markup: JSONDict | None
    link_preview_options: JSONDict | None
    disable_web_page_preview: bool | None
    date: int
    params: dict[str, Any]
    edit_date: int | None = None
    edits: list[SentMessage] = field(default_factory=list)
    reply_to_message_id: int | None = None

    @property
    def thread_id(self) -> int | None:
        """The forum topic it was sent to (``message_thread_id``), None for General."""
        value = self.params.get("message_thread_id")
        return None if value is None else int(value)

    @property
    def buttons(self) -> list[JSONDict]:
        """All inline keyboard buttons, row by row, flattened."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button for row in rows for button in row]

    @property
    def callback_data(self) -> list[str]:
        """The ``callback_data`` of every inline button, in keyboard order."""
        return [b["callback_data"] for b in self.buttons if "callback_data" in b]

    def button(self, text_contains: str) -> JSONDict:
        """The first inline button whose label contains ``text_contains``."""
        for b in self.buttons:
            if text_contains in str(b.get("text", "")):
                return b
        labels = [b.get("text") for b in self.buttons]
        raise LookupError(f"no button containing {text_contains!r}; buttons: {labels}")

    def snapshot(self) -> SentMessage:
        """A deep copy without edit history (stored in ``edits``)."""
        clone = copy.deepcopy(self)
        clone.edits = []
        return clone


class EntityParseError(ValueError):
    """The HTML could not be parsed; the message is Telegram's wording."""


class _ApiError(Exception):
    """Raised inside method handlers; becomes Telegram's error envelope."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


@dataclass
class _Fault:
    method: str  # canonical name, or "*" for any
    status: int
    description: str
    times: int
    chat_id: int | None
    parameters: JSONDict | None


@dataclass
class _Limit:
    window: float
    capacity: int
    hits: dict[object, deque[float]] = field(default_factory=dict)

    @classmethod
    def per(cls, rate: float, period: float) -> _Limit:
        # rate >= 1 per period: that many per period; below 1: one per (period / rate).
        if rate <= 0:
            raise ValueError("rates must be positive (use None to disable a limit)")
        if rate >= 1:
            return cls(window=period, capacity=int(rate))
        return cls(window=period / rate, capacity=1)

    def exceeded(self, key: object, now: float) -> bool:
        q = self.hits.get(key)
        if q is None:
            return False
        while q and q[0] <= now - self.window:
            q.popleft()
        return len(q) >= self.capacity

    def record(self, key: object, now: float) -> None:
        self.hits.setdefault(key, deque()).append(now)


# --------------------------------------------------------------------------- HTML parsing


def _u16(s: str) -> int:
    """Length in UTF-16 code units: Telegram's unit for entity offsets."""
    return len(s.encode("utf-16-le")) // 2


def _is_space(ch: str) -> bool:
    return ch in " \t\r\n\v\f\0"


def _decode_html_entity(text: str, i: int) -> tuple[str | None, int]:
    """Decode ``&...;`` at ``text[i]``; Telegram keeps an unknown ``&`` as a literal."""
    end = text.find(";", i + 1, i + 12)
    if end == -1:
        return None, i
    body = text[i + 1 : end]
    named = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
    if body in named:
        return named[body], end + 1
    if body.startswith("#") and len(body) > 1:
        digits = body[1:]
        try:
            if digits[0] in "xX":
                code = int(digits[1:], 16) if len(digits) > 1 else -1
            else:
                code = int(digits, 10) if digits.isdigit() else -1
        except ValueError:
            return None, i
        if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
            return chr(code), end + 1
    return None, i


_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


def parse_html(text: str) -> tuple[str, list[JSONDict]]:
    """Parse Telegram-flavoured HTML into ``(plain_text, entities)``.

    Follows the Bot API rules (and TDLib's error wording): only the tags Telegram
    supports, attributes ``href`` (a), ``class`` (code ``language-*``, span
    ``tg-spoiler``), ``emoji-id`` (tg-emoji) and ``expandable`` (blockquote);
    the named entities ``&lt; &gt; &amp; &quot;`` plus numeric ones, with any
    other ``&`` kept literally.  Offsets are in UTF-16 code units; leading and
    trailing whitespace is stripped like Telegram does.

    Raises:
        EntityParseError: with e.g. ``Unsupported start tag "p" at byte offset 3``.
    """

    def at(i: int) -> str:
        return text[i] if i < n else ""

    def byte_offset(i: int) -> int:
        return len(text[:i].encode("utf-8"))

    n = len(text)
    out: list[str] = []
    u16 = 0
    # open tags: (name, argument, utf16 offset where the entity starts)
    stack: list[tuple[str, str, int]] = []
    entities: list[JSONDict] = []
    i = 0
    while i < n:
        ch = text[i]
        if ch == "&":
            decoded, after = _decode_html_entity(text, i)
            if decoded is not None:
                out.append(decoded)
                u16 += _u16(decoded)
                i = after
                continue
        if ch != "<":
            out.append(ch)
            u16 += _u16(ch)
            i += 1
            continue

        begin = i
        i += 1
        if at(i) != "/":
            name_start = i
            while i < n and not _is_space(text[i]) and text[i] != ">":
                i += 1
            if i >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            tag = text[name_start:i].lower()
            if tag not in _HTML_TAGS:
                raise EntityParseError(
                    f'Unsupported start tag "{tag}" at byte offset {byte_offset(begin)}'
                )
            argument = ""
            while at(i) != ">":
                while i < n and _is_space(text[i]):
                    i += 1
                if at(i) == ">":
                    break
                attr_start = i
                while i < n and not _is_space(text[i]) and text[i] not in "=>":
                    i += 1
                attr = text[attr_start:i].lower()
                if not attr:
                    raise EntityParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset '
                        f"{byte_offset(begin)}"
                    )
                while i < n and _is_space(text[i]):
                    i += 1
                if at(i) != "=":
                    if tag == "blockquote" and attr == "expandable":
                        argument = "expandable"
                        continue
                    raise EntityParseError(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag}" at byte offset {byte_offset(begin)}'
                    )
                i += 1
                while i < n and _is_space(text[i]):
                    i += 1
                if i >= n:
                    raise EntityParseError(
                        f'Unclosed start tag "{tag}" at byte offset {byte_offset(begin)}'
                    )
                value_chars: list[str] = []
                if text[i] not in "'\"":
                    # HTML "name token": letters, digits, periods, hyphens; case-insensitive.
                    token_start = i
                    while i < n and (text[i].isalnum() or text[i] in ".-"):
                        i += 1
                    value = text[token_start:i].lower()
                    if not (at(i) == ">" or (i < n and _is_space(text[i]))):
                        raise EntityParseError(
                            f"Unexpected end of name token at byte offset "
                            f"{byte_offset(token_start)}"
                        )
                else:
                    quote = text[i]
                    i += 1
                    while i < n and text[i] != quote:
                        if text[i] == "&":
                            decoded, after = _decode_html_entity(text, i)
                            if decoded is not None:
                                value_chars.append(decoded)
                                i = after
                                continue
                        value_chars.append(text[i])
                        i += 1
                    if at(i) == quote:
                        i += 1
                    value = "".join(value_chars)
                if i >= n:
                    raise EntityParseError(
                        f"Unclosed start tag at byte offset {byte_offset(begin)}"
                    )
                if (
                    (tag == "a" and attr == "href")
                    or (tag == "code" and attr == "class" and value.startswith("language-"))
                    or (tag == "tg-emoji" and attr == "emoji-id")
                ):
                    argument = value
                elif tag == "span" and attr == "class" and value.startswith("tg-"):
                    argument = value[len("tg-") :]
            i += 1  # the '>'
            if tag == "span" and argument != "spoiler":
                raise EntityParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(begin)}'
                )
            stack.append((tag, argument, u16))
            continue

        # An end tag.
        if not stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {byte_offset(begin)}")
        i += 1
        name_start = i
        while i < n and not _is_space(text[i]) and text[i] != ">":
            i += 1
        end_name = text[name_start:i].lower()
        while i < n and _is_space(text[i]):
            i += 1
        if at(i) != ">":
            raise EntityParseError(f"Unclosed end tag at byte offset {byte_offset(begin)}")
        i += 1
        tag, argument, start = stack.pop()
        if end_name and end_name != tag:
            raise EntityParseError(
                f"Unmatched end tag at byte offset {byte_offset(begin)}, "
                f'expected "</{tag}>", found "</{end_name}>"'
            )
        length = u16 - start
        if length <= 0:
            continue
        entity: JSONDict = {"type": _HTML_TAGS[tag], "offset": start, "length": length}
        if tag == "a":
            if not argument:
                continue
            entity["url"] = argument
        elif tag == "code" and argument:
            entity["language"] = argument[len("language-") :]
        elif tag == "tg-emoji":
            entity["custom_emoji_id"] = argument
        elif tag == "blockquote" and argument == "expandable":
            entity["type"] = "expandable_blockquote"
        elif tag == "pre" and entities:
            # <pre><code class="language-x">…</code></pre> is one pre entity with a language.
            last = entities[-1]
            if (
                last["type"] == "code"
                and last["offset"] == start
                and last["length"] == length
                and "language" in last
            ):
                entities.pop()
                entity["language"] = last["language"]
        entities.append(entity)
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return _strip_entities("".join(out), entities)


def _strip_entities(text: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
    """Strip surrounding whitespace like Telegram, clipping entities to the result."""
    stripped = text.strip()
    if not stripped:
        return "", []
    lead = _u16(text[: len(text) - len(text.lstrip())])
    total = _u16(stripped)
    result: list[JSONDict] = []
    for e in entities:
        start = max(e["offset"] - lead, 0)
        end = min(e["offset"] + e["length"] - lead, total)
        if end > start:
            result.append({**e, "offset": start, "length": end - start})
    result.sort(key=lambda e: (e["offset"], -e["length"]))
    return stripped, result


# --------------------------------------------------------------------------- request decoding


def _decode_value(key: str, value: Any) -> Any:
    """Turn a form value back into what the client meant.

    PTB (like most clients) sends scalars as plain strings and objects/arrays as
    JSON strings, so decode anything that looks like JSON, except parameters the
    Bot API types as strings.
    """
    if not isinstance(value, str) or key in _STRING_PARAMS:
        return value
    s = value.strip()
    if not s:
        return value
    if s[0] in "{[" or s in ("true", "false", "null") or _NUMBER_RE.fullmatch(s):
        try:
            return json.loads(s)
        except ValueError:
            return value
    return value


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Collect parameters from the query string and a form, multipart or JSON body."""
    raw: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        ctype = request.content_type
        if ctype == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise _ApiError(400, "Bad Request: request body must be a JSON object")
            raw.update(body)
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    data = value.file.read()
                    raw[key] = {
                        "filename": value.filename,
                        "content_type": value.content_type,
                        "size": len(data),
                    }
                else:
                    raw[key] = value
    return {key: _decode_value(key, value) for key, value in raw.items()}


def _as_int(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise _ApiError(400, f"Bad Request: {what} is invalid")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return int(value)
    raise _ApiError(400, f"Bad Request: {what} is invalid")


def _select(calls: Iterable[Call], method: str, match: Mapping[str, Any]) -> list[Call]:
    """Calls of ``method`` (case-insensitive, ``"*"`` for any) whose params match."""
    wanted = method.lower()
    return [
        c
        for c in calls
        if (wanted == "*" or c.method.lower() == wanted) and _matches(c.params, match)
    ]


def _matches(params: Mapping[str, Any], match: Mapping[str, Any]) -> bool:
    """``match`` values are compared for equality (ints and their strings agree),
    or called if they are callables (``text=lambda t: "EV" in t``)."""
    for key, wanted in match.items():
        if key not in params:
            return False
        got = params[key]
        if callable(wanted):
            if not wanted(got):
                return False
        elif got != wanted and not (
            isinstance(got, int | str)
            and isinstance(wanted, int | str)
            and not isinstance(got, bool)
            and not isinstance(wanted, bool)
            and str(got) == str(wanted)
        ):
            return False
    return True


# --------------------------------------------------------------------------- the fake


class FakeTelegram:
    """An in-process fake Telegram Bot API server (see the module docstring)."""

    #: Longest a getUpdates long poll is held, whatever ``timeout`` the client asks for.
    long_poll_cap: float = 3.0

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        bot_username: str = "evbot_test_bot",
        host: str = "127.0.0.1",
        port: int = 0,
        control: bool = True,
    ) -> None:
        """Configure the fake; nothing listens until :meth:`start`.

        ``port=0`` picks a free port.  ``control`` mounts the ``/_control/``
        endpoints (harmless in-process; required for standalone use).
        """
        self.token = token
        self.bot_username = bot_username
        self.bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self.host = host
        self.port = port
        self.api_root = ""
        self.calls: list[Call] = []
        self.messages: dict[int, list[SentMessage]] = {}
        self.counters: Counter[str] = Counter()
        #: Answer the next N requests (any method) with an nginx-style 502 page.
        self.unavailable_for = 0
        #: setMyCommands state, keyed by (scope as JSON, language_code).
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}
        # answerInlineQuery: query id -> the results given.
        self._open_inline: set[str] = set()
        self.inline_answers: dict[str, list[JSONDict]] = {}
        # setMyDescription / setMyShortDescription: (kind, language_code) -> text.
        self.descriptions: dict[tuple[str, str], str] = {}
        #: setWebhook's params while a webhook is set (getUpdates is refused then), else None.
        self.webhook: dict[str, Any] | None = None
        #: answerCallbackQuery params by callback query id.
        self.callback_answers: dict[str, dict[str, Any]] = {}
        #: Chat actions sent (chat_id, action), in order.
        self.chat_actions: list[tuple[int, str]] = []
        self.updates: list[JSONDict] = []  # every update ever queued, in order
        #: Like Telegram, answer "chat not found" for chats no update ever mentioned.
        #: Off by default so tests can seed subscribers straight into the database.
        self.known_chats_only = False
        #: Unexpected exceptions raised while answering (each was answered with 400).
        self.errors: list[Exception] = []
        #: Seconds every Bot API request waits before it is handled, like the round
        #: trip to api.telegram.org (50-300 ms); 0 answers at once.
        self.answer_delay = 0.0
        #: Forum supergroups (``make_forum``) and their live topics: thread id -> name.
        self.forums: set[int] = set()
        self.topics: dict[int, dict[int, str]] = {}
        self.closed_topics: set[tuple[int, int]] = set()
        #: Rights of one administrator overridden, by (chat_id, user_id).
        self.admin_rights: dict[tuple[int, int], dict[str, bool]] = {}

        self._control = control
        self._pending: list[JSONDict] = []  # not yet confirmed by getUpdates offset
        self._update_ids = itertools.count(100_001)
        self._callback_ids = itertools.count(1)
        self._message_ids: dict[int, int] = {}
        self._chats: dict[int, JSONDict] = {}
        self._users: dict[int, JSONDict] = {}
        self._admins: dict[int, dict[int, str]] = {}
        self._blocked: dict[int, str] = {}
        self._migrated: dict[int, int] = {}
        self._open_callbacks: set[str] = set()
        self._faults: list[_Fault] = []
        self._limits: dict[str, _Limit] = {}
        self._retry_after = 1
        self._poll_generation = 0
        self._changed = asyncio.Event()
        self._closing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._methods: dict[str, Callable[[dict[str, Any]], Awaitable[Any]]] = {
            name[len("_m_") :].lower(): getattr(self, name)
            for name in dir(self)
            if name.startswith("_m_")
        }
        self._canonical = {
            name[len("_m_") :].lower(): name[len("_m_") :]
            for name in dir(self)
            if name.startswith("_m_")
        }

    # ----------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        """What PTB's ``base_url`` wants: it appends ``{token}/{method}``."""
        return f"{self.api_root}/bot"

    @property
    def base_file_url(self) -> str:
        """What PTB's ``base_file_url`` wants (file downloads are not implemented)."""
        return f"{self.api_root}/file/bot"

    @property
    def bot_user(self) -> JSONDict:
        """The bot's own ``User`` object, as getMe returns it."""
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "EV Bot (test)",
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def make_app(self) -> web.Application:
        """The aiohttp application (exposed for embedding in another server)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        if self._control:
            self._add_control_routes(app)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("*", "/file/bot{token}/{path:.*}", self._handle_not_found)
        return app

    async def start(self) -> None:
        """Bind 127.0.0.1 (a free port unless one was given) and start serving."""
        self._loop = asyncio.get_running_loop()
        self._closing = False
        # Bind the socket ourselves so the chosen port is known without private APIs.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self.api_root = f"http://{self.host}:{self.port}"
        # Long polls are woken on stop, so a short shutdown timeout is plenty.
        self._runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        """Wake every long poll, then shut the server down."""
        self._closing = True
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ----------------------------------------------------------------- inspection

    def calls_of(
        self, method: str, *, since: int = 0, ok: bool | None = None, **match: Any
    ) -> list[Call]:
        """Calls of ``method`` (case-insensitive; ``"*"`` for any) whose params match.

        ``since`` skips the first N entries of :attr:`calls` (take
        ``len(fake.calls)`` as a mark before acting); ``ok=True``/``False`` keeps
        only answered-with-200 / failed calls.  Match values are compared for
        equality (``chat_id=42`` also matches ``"42"``) or called if callable.
        """
        return [c for c in _select(self.calls[since:], method, match) if ok is None or c.ok == ok]

    async def wait_for(
        self,
        method: str,
        *,
        count: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109 - part of the agreed test API
        since: int = 0,
        ok: bool | None = None,
        **match: Any,
    ) -> list[Call]:
        """Wait until at least ``count`` calls match (see :meth:`calls_of`); return them all.

        Woken by every request the fake answers, never by polling.  Only answered
        calls count (a long poll still open does not).

        Raises:
            TimeoutError: with a dump of the recent calls.
        """

        # Scan only calls not seen yet: re-filtering everything on every wake-up
        # would be quadratic in benchmarks with many thousands of calls.
        cursor = since
        candidates: list[Call] = []

        def matching() -> list[Call]:
            nonlocal cursor
            fresh = self.calls[cursor:]
            cursor += len(fresh)
            candidates.extend(_select(fresh, method, match))
            return [c for c in candidates if c.status is not None and (ok is None or c.ok == ok)]

        def describe() -> str:
            found = matching()
            return (
                f"timed out after {timeout}s waiting for {count} x {method}"
                f"({_fmt_params(match)}{', ok=' + str(ok) if ok is not None else ''});"
                f" {len(found)} matched.\n{self.dump_calls()}"
            )

        await self._wait(lambda: len(matching()) >= count, timeout, describe)
        return matching()

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 10.0,  # noqa: ASYNC109 - part of the agreed test API
    ) -> None:
        """Wait until ``predicate()`` is true, re-checked whenever the fake's state changes.

        Raises:
            TimeoutError: with a dump of the recent calls.
        """
        await self._wait(
            predicate, timeout, lambda: f"timed out after {timeout}s\n{self.dump_calls()}"
        )

    def dump_calls(self, last: int = 25) -> str:
        """A readable listing of the recent calls (getUpdates polls summarised)."""
        interesting = [c for c in self.calls if c.method != "getUpdates"]
        polls = len(self.calls) - len(interesting)
        lines = [f"recent calls ({len(self.calls)} in all, {polls} getUpdates not shown):"]
        for c in interesting[-last:]:
            error = ""
            if c.response is not None and not c.response.get("ok", True):
                error = f" -> {c.response.get('description')}"
            lines.append(f"  {c.method}({_fmt_params(c.params)}) [{c.status}]{error}")
        if not interesting:
            lines.append("  (none)")
        return "\n".join(lines)

    def last_message(self, chat_id: int) -> SentMessage:
        """The most recent message the bot sent to ``chat_id``.

        Raises:
            LookupError: if the bot sent nothing there.
        """
        sent = self.messages.get(chat_id)
        if not sent:
            chats = sorted(self.messages)
            raise LookupError(
                f"the bot sent no message to chat {chat_id}; chats with messages: {chats}"
            )
        return sent[-1]

    def message(self, chat_id: int, message_id: int) -> SentMessage:
        """A message the bot sent, by id.

        Raises:
            LookupError: if there is no such message.
        """
        for m in self.messages.get(chat_id, []):
            if m.message_id == message_id:
                return m
        raise LookupError(f"the bot sent no message {message_id} to chat {chat_id}")

    def pending_updates(self) -> list[JSONDict]:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        return list(self._pending)

    def my_commands(
        self, *, scope: JSONDict | None = None, language_code: str = ""
    ) -> list[JSONDict]:
        """The command list set by setMyCommands for a scope/language (default scope if None)."""
        return self.commands.get((_scope_key(scope), language_code), [])

    # ----------------------------------------------------------------- users acting

    def push_update(self, payload: JSONDict) -> JSONDict:
        """Queue a raw update (``update_id`` is assigned) and return it."""
        update = {"update_id": next(self._update_ids), **payload}
        self._pending.append(update)
        self.updates.append(update)
        self.counters["updates"] += 1
        self._notify()
        return update

    def send_message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        language_code: str | None = "en",
        first_name: str = "Test",
        chat_title: str | None = None,
        username: str | None = None,
    ) -> JSONDict:
        """A user writes ``text`` in ``chat_id``; queue the ``message`` update and return it.

        A leading ``/command`` (or ``/command@botname``) gets a ``bot_command``
        entity.  ``user_id`` defaults to ``chat_id`` in private chats and to
        :data:`DEFAULT_GROUP_USER_ID` elsewhere.
        """
        user = self._user(user_id, chat_id, chat_type, language_code, first_name, username)
        chat = self._remember_chat(chat_id, chat_type, chat_title, first_name)
        message: JSONDict = {
            "message_id": self._next_message_id(chat_id),
            "from": user,
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        command = _BOT_COMMAND_RE.match(text)
        if command:
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _u16(command.group(0))}
            ]
        return self.push_update({"message": message})

    def inline_query(
        self, user_id: int, query: str, *, language_code: str | None = "en"
    ) -> JSONDict:
        """A user types ``@bot <query>`` in some chat: queue the ``inline_query`` update."""
        user = self._user(user_id, user_id, "private", language_code, "Test", None)
        query_id = f"iq{next(self._callback_ids)}"
        self._open_inline.add(query_id)
        return self.push_update(
            {"inline_query": {"id": query_id, "from": user, "query": query, "offset": ""}}
        )

    def edit_sent(self, update: JSONDict, text: str) -> JSONDict:
        """The user edits the message of an update from `send_message`: queue `edited_message`."""
        message = dict(update["message"])
        message["text"] = text
        message["edit_date"] = int(time.time())
        command = _BOT_COMMAND_RE.match(text)
        if command:
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _u16(command.group(0))}
            ]
        else:
            message.pop("entities", None)
        return self.push_update({"edited_message": message})

    def press_button(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        *,
        user_id: int | None = None,
        chat_type: str = "private",
        language_code: str | None = "en",
        first_name: str = "Test",
        strict: bool = True,
    ) -> JSONDict:
        """A user presses an inline button with ``data`` on a message the bot sent.

        The update carries the message as currently stored (with its keyboard).
        With ``strict`` (default) the data must belong to a button of that message.

        Raises:
            LookupError: no such message, or (strict) no button with that data.
        """
        sent = self.message(chat_id, message_id)
        if strict and data not in sent.callback_data:
            raise LookupError(
                f"message {message_id} in chat {chat_id} has no button with data {data!r}; "
                f"its buttons carry {sent.callback_data}"
            )
        chat_type = self._chats.get(chat_id, {}).get("type", chat_type)
        user = self._user(user_id, chat_id, chat_type, language_code, first_name, None)
        query_id = f"{next(self._callback_ids)}{abs(chat_id) % 1_000_000:06d}"
        self._open_callbacks.add(query_id)
        return self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user,
                    "message": self._message_json(sent),
                    "chat_instance": str(-abs(chat_id) * 7919),
                    "data": data,
                }
            }
        )

    def add_bot_to_group(
        self,
        chat_id: int,
        *,
        by_user_id: int,
        title: str = "Group",
        chat_type: str | None = None,
        language_code: str | None = "en",
    ) -> JSONDict:
        """``by_user_id`` adds the bot to a group: queue the ``my_chat_member`` update.

        The chat type defaults to ``supergroup`` for ``-100…`` ids, else ``group``.
        """
        kind = chat_type or _infer_chat_type(chat_id)
        chat = self._remember_chat(chat_id, kind, title, None)
        user = self._user(by_user_id, chat_id, kind, language_code, "Test", None)
        bot = {k: self.bot_user[k] for k in ("id", "is_bot", "first_name", "username")}
        now = int(time.time())
        return self.push_update(
            {
                "my_chat_member": {
                    "chat": chat,
                    "from": user,
                    "date": now,
                    "old_chat_member": {"user": bot, "status": "left"},
                    "new_chat_member": {"user": bot, "status": "member"},
                }
            }
        )

    def migrate_group(self, old_chat_id: int, new_chat_id: int) -> JSONDict:
        """Upgrade a group to a supergroup, as Telegram reports it.

        Queues the service message in the old chat (``migrate_to_chat_id``) and
        the one in the new chat (``migrate_from_chat_id``); returns the first.
        From now on, sends to the old id answer 400 with ``migrate_to_chat_id``.
        """
        title = self._chats.get(old_chat_id, {}).get("title", "Group")
        old_chat = self._remember_chat(old_chat_id, "group", title, None)
        new_chat = self._remember_chat(new_chat_id, "supergroup", title, None)
        self._migrated[old_chat_id] = new_chat_id
        if old_chat_id in self._admins:
            self._admins.setdefault(new_chat_id, dict(self._admins[old_chat_id]))
        user = self._user(None, old_chat_id, "group", "en", "Test", None)
        now = int(time.time())
        first = self.push_update(
            {
                "message": {
                    "message_id": self._next_message_id(old_chat_id),
                    "from": user,
                    "chat": old_chat,
                    "date": now,
                    "migrate_to_chat_id": new_chat_id,
                }
            }
        )
        self.push_update(
            {
                "message": {
                    "message_id": self._next_message_id(new_chat_id),
                    "from": {
                        "id": 1087968824,
                        "is_bot": True,
                        "first_name": "Group",
                        "username": "GroupAnonymousBot",
                    },
                    "sender_chat": new_chat,
                    "chat": new_chat,
                    "date": now,
                    "migrate_from_chat_id": old_chat_id,
                }
            }
        )
        return first

    def set_admins(
        self, chat_id: int, user_ids: Iterable[int], *, creator: int | None = None
    ) -> None:
        """Make ``user_ids`` administrators of ``chat_id`` (``creator`` the owner).

        getChatMember answers ``administrator``/``creator`` for them and
        ``member`` for anyone else; getChatAdministrators lists them.
        """
        admins = {uid: "administrator" for uid in user_ids}
        if creator is not None:
            admins[creator] = "creator"
        self._admins[chat_id] = admins
        self._notify()

    def register_chat(
        self,
        chat_id: int,
        *,
        chat_type: str | None = None,
        title: str | None = None,
        first_name: str = "Test",
    ) -> JSONDict:
        """Make a chat known without an update (type inferred from the id by default)."""
        return self._remember_chat(
            chat_id, chat_type or _infer_chat_type(chat_id), title, first_name
        )

    def add_channel(
        self,
        chat_id: int,
        *,
        by_user_id: int,
        username: str | None = None,
        title: str = "Channel",
        bot_admin: bool = True,
        bot_can_post: bool = True,
        admins: Iterable[int] = (),
        language_code: str | None = "en",
    ) -> JSONDict | None:
        """A channel whose creator is ``by_user_id``; ``admins`` administer it too.

        With ``bot_admin`` the creator makes the bot an administrator (with the
        right to post unless ``bot_can_post`` is false): the ``my_chat_member``
        update is queued and returned. Without it the bot is no member, and
        Telegram answers getChatMember in the channel with 400.
        """
        chat: JSONDict = {"id": chat_id, "type": "channel", "title": title}
        if username:
            chat["username"] = username
        self._chats[chat_id] = chat
        self._blocked.pop(chat_id, None)
        self._admins[chat_id] = {uid: "administrator" for uid in admins}
        self._admins[chat_id][by_user_id] = "creator"
        user = self._user(by_user_id, chat_id, "channel", language_code, "Test", None)
        if not bot_admin:
            return None
        self._admins[chat_id][self.bot_id] = "administrator"
        self.admin_rights[(chat_id, self.bot_id)] = {"can_post_messages": bot_can_post}
        return self._bot_status_update(chat_id, user, "left", "administrator")

    def remove_bot_from_channel(self, chat_id: int, *, status: str = "kicked") -> JSONDict:
        """An admin removes the bot from a channel (``kicked``, or ``left``).

        Queues the ``my_chat_member`` update and returns it; from now on every
        delivery to the channel answers 403 like Telegram's.
        """
        creator = next(
            (uid for uid, s in self._admins.get(chat_id, {}).items() if s == "creator"),
            DEFAULT_GROUP_USER_ID,
        )
        user = self._users.get(creator) or self._user(
            creator, chat_id, "channel", None, "Test", None
        )
        update = self._bot_status_update(chat_id, user, "administrator", status)
        self._admins.get(chat_id, {}).pop(self.bot_id, None)
        self._blocked[chat_id] = (
            "Forbidden: bot was kicked from the channel chat"
            if status == "kicked"
            else "Forbidden: bot is not a member of the channel chat"
        )
        return update

    def _bot_status_update(self, chat_id: int, user: JSONDict, old: str, new: str) -> JSONDict:
        bot = {k: self.bot_user[k] for k in ("id", "is_bot", "first_name", "username")}
        members = []
        for status in (old, new):
            member: JSONDict = {"user": bot, "status": status}
            if status == "administrator":
                member = self._member_json(chat_id, self.bot_id) | {"status": status}
            elif status == "kicked":
                member["until_date"] = 0
            members.append(member)
        return self.push_update(
            {
                "my_chat_member": {
                    "chat": self._chat(chat_id),
                    "from": user,
                    "date": int(time.time()),
                    "old_chat_member": members[0],
                    "new_chat_member": members[1],
                }
            }
        )

    def make_forum(self, chat_id: int, *, title: str | None = None) -> JSONDict:
        """Make ``chat_id`` a forum supergroup (``is_forum``), with no topics yet."""
        self.forums.add(chat_id)
        self.topics.setdefault(chat_id, {})
        return self._remember_chat(chat_id, "supergroup", title, None)

    def delete_topic(self, chat_id: int, thread_id: int) -> None:
        """A user deletes a topic: messages to it answer "message thread not found"."""
        self.topics.get(chat_id, {}).pop(thread_id, None)

    def close_topic(self, chat_id: int, thread_id: int, *, closed: bool = True) -> None:
        """An admin closes (or reopens) a topic: only members who may manage topics post there."""
        if closed:
            self.closed_topics.add((chat_id, thread_id))
        else:
            self.closed_topics.discard((chat_id, thread_id))

    # ----------------------------------------------------------------- faults

    def fail_next(
        self,
        method: str,
        *,
        status: int,
        description: str,
        times: int = 1,
        chat_id: int | None = None,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (``"*"``: any) with this error.

        ``chat_id`` narrows it to calls for that chat.  ``retry_after`` /
        ``migrate_to_chat_id`` go into ``parameters`` like Telegram's.  Faults are
        consumed in the order they were added.
        """
        parameters: JSONDict = {}
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        canonical = "*" if method == "*" else self._canonical.get(method.lower(), method)
        self._faults.append(
            _Fault(canonical, status, description, times, chat_id, parameters or None)
        )

    def block(
        self,
        chat_id: int,
        description: str = "Forbidden: bot was blocked by the user",
        *,
        notify: bool = False,
    ) -> JSONDict | None:
        """Every delivery (send*/edit*/copy*/forward*) to ``chat_id`` answers 403.

        With ``notify``, also queue the ``my_chat_member`` update Telegram sends
        when a user blocks the bot (status ``kicked``) and return it.
        """
        self._blocked[chat_id] = description
        if not notify:
            return None
        chat = self._chat(chat_id)
        user = self._users.get(chat_id) or self._user(
            None, chat_id, chat["type"], None, "Test", None
        )
        bot = {k: self.bot_user[k] for k in ("id", "is_bot", "first_name", "username")}
        return self.push_update(
            {
                "my_chat_member": {
                    "chat": chat,
                    "from": user,
                    "date": int(time.time()),
                    "old_chat_member": {"user": bot, "status": "member"},
                    "new_chat_member": {"user": bot, "status": "kicked", "until_date": 0},
                }
            }
        )

    def unblock(self, chat_id: int) -> None:
        """Undo :meth:`block`."""
        self._blocked.pop(chat_id, None)

    def set_unavailable(self, count: int) -> None:
        """Same as setting :attr:`unavailable_for` (for the control endpoint)."""
        self.unavailable_for = count

    def set_limits(
        self,
        *,
        global_per_second: float | None = 30,
        per_chat_per_second: float | None = 1,
        per_group_per_minute: float | None = 20,
        retry_after: int = 1,
    ) -> None:
        """Turn on Telegram-like flood control (off until called); ``None`` disables one.

        Counted over sliding windows, on successful send*/copy*/forward* calls
        (not sendChatAction, not edits).  A call over a limit answers 429
        ``Too Many Requests: retry after N`` with ``parameters.retry_after`` =
        ``retry_after`` exactly (predictable for tests), and is counted in
        ``counters["429"]``.  "Group" means a negative chat id.
        """
        self._limits = {}
        if global_per_second is not None:
            self._limits["global"] = _Limit.per(global_per_second, 1.0)
        if per_chat_per_second is not None:
            self._limits["chat"] = _Limit.per(per_chat_per_second, 1.0)
        if per_group_per_minute is not None:
            self._limits["group"] = _Limit.per(per_group_per_minute, 60.0)
        self._retry_after = retry_after

    def clear_limits(self) -> None:
        """Turn flood control off again."""
        self._limits = {}

    def set_answer_delay(self, seconds: float) -> None:
        """Answer every Bot API request `seconds` late (a real round trip); 0 turns it off."""
        if seconds < 0:
            raise ValueError("the delay cannot be negative")
        self.answer_delay = float(seconds)

    # ----------------------------------------------------------------- internals

    def _notify(self) -> None:
        """Wake everything waiting on the fake's state (wait_for, long polls)."""
        loop = self._loop
        if loop is not None and loop.is_running():
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is not loop:
                # Called from another thread: hop onto the fake's loop.
                loop.call_soon_threadsafe(self._notify)
                return
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def _wait(
        self,
        predicate: Callable[[], bool],
        timeout: float,  # noqa: ASYNC109 - the deadline also shapes the error message
        describe: Callable[[], str],
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(describe())
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                if predicate():
                    return
                raise TimeoutError(describe()) from None

    def _next_message_id(self, chat_id: int) -> int:
        self._message_ids[chat_id] = self._message_ids.get(chat_id, 0) + 1
        return self._message_ids[chat_id]

    def _user(
        self,
        user_id: int | None,
        chat_id: int,
        chat_type: str,
        language_code: str | None,
        first_name: str,
        username: str | None,
    ) -> JSONDict:
        if user_id is None:
            user_id = chat_id if chat_type == "private" else DEFAULT_GROUP_USER_ID
        user: JSONDict = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        if language_code is not None:
            user["language_code"] = language_code
        self._users[user_id] = user
        return user

    def _remember_chat(
        self, chat_id: int, chat_type: str, title: str | None, first_name: str | None
    ) -> JSONDict:
        chat: JSONDict = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = first_name or "Test"
        else:
            chat["title"] = title or self._chats.get(chat_id, {}).get("title") or f"Group {chat_id}"
        if chat_id in self.forums:
            chat["is_forum"] = True
        self._chats[chat_id] = chat
        return chat

    def _chat(self, chat_id: int) -> JSONDict:
        known = self._chats.get(chat_id)
        if known is not None:
            return known
        kind = _infer_chat_type(chat_id)
        if kind == "private":
            return {"id": chat_id, "type": kind, "first_name": "Test"}
        return {"id": chat_id, "type": kind, "title": f"Group {chat_id}"}

    def _message_json(self, m: SentMessage) -> JSONDict:
        result: JSONDict = {
            "message_id": m.message_id,
            "from": {k: self.bot_user[k] for k in ("id", "is_bot", "first_name", "username")},
            "chat": self._chat(m.chat_id),
            "date": m.date,
            "text": m.plain_text,
        }
        if m.entities:
            result["entities"] = m.entities
        if m.reply_markup and "inline_keyboard" in m.reply_markup:
            result["reply_markup"] = m.reply_markup
        if m.link_preview_options:
            result["link_preview_options"] = m.link_preview_options
        if m.edit_date is not None:
            result["edit_date"] = m.edit_date
        if m.thread_id is not None:
            result["message_thread_id"] = m.thread_id
            result["is_topic_message"] = True
        return result

    # ----------------------------------------------------------------- HTTP layer

    async def _handle_not_found(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        if self.answer_delay > 0:
            # The whole round trip before handling: limits count the call when it
            # arrives, and the client sees its answer `answer_delay` after sending.
            await asyncio.sleep(self.answer_delay)
        name = request.match_info["method"]
        canonical = self._canonical.get(name.lower(), name)
        try:
            params = await _read_params(request)
        except (ValueError, _ApiError) as exc:
            params = {}
            parse_error: _ApiError | None = (
                exc if isinstance(exc, _ApiError) else _ApiError(400, "Bad Request: invalid body")
            )
        else:
            parse_error = None
        call = Call(canonical, params, time.monotonic(), http_method=request.method)
        self.calls.append(call)
        self.counters[canonical] += 1

        if self.unavailable_for > 0:
            self.unavailable_for -= 1
            return self._finish(call, 502, None)

        try:
            if parse_error is not None:
                raise parse_error
            if request.match_info["token"] != self.token:
                raise _ApiError(401, "Unauthorized")
            handler = self._methods.get(name.lower())
            if handler is None:
                raise _ApiError(404, "Not Found")
            self._check_faults(canonical, params)
            limited = self._rate_limit_keys(canonical, params)
            result = await handler(params)
        except _ApiError as err:
            body: JSONDict = {
                "ok": False,
                "error_code": err.status,
                "description": err.description,
            }
            if err.parameters:
                body["parameters"] = err.parameters
            return self._finish(call, err.status, body)
        except Exception as exc:
            # Input the fake did not foresee (or a fake bug): answer like Telegram's
            # 400 rather than a bare 500, and keep it for tests to inspect.
            self.errors.append(exc)
            description = f"Bad Request: the fake could not handle {canonical}: {exc!r}"
            return self._finish(
                call, 400, {"ok": False, "error_code": 400, "description": description}
            )
        if limited:
            now = time.monotonic()
            for limit, key in limited:
                limit.record(key, now)
        if canonical.startswith(_RATE_LIMITED_PREFIXES) and canonical not in _NOT_RATE_LIMITED:
            self.counters["sent"] += 1
        return self._finish(call, 200, {"ok": True, "result": result})

    def _finish(self, call: Call, status: int, body: JSONDict | None) -> web.Response:
        call.status = status
        call.response = body
        if status != 200:
            self.counters[str(status)] += 1
        self._notify()
        if body is None:
            return web.Response(status=502, text=BAD_GATEWAY_HTML, content_type="text/html")
        return web.json_response(body, status=status)

    def _check_faults(self, method: str, params: dict[str, Any]) -> None:
        chat_id = params.get("chat_id")
        for fault in self._faults:
            if fault.method not in ("*", method):
                continue
            if fault.chat_id is not None and not _matches(params, {"chat_id": fault.chat_id}):
                continue
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)
            raise _ApiError(fault.status, fault.description, fault.parameters)
        if isinstance(chat_id, int) and method.startswith(_DELIVERY_PREFIXES):
            if chat_id in self._migrated:
                raise _ApiError(
                    400,
                    "Bad Request: group chat was upgraded to a supergroup chat",
                    {"migrate_to_chat_id": self._migrated[chat_id]},
                )
            if chat_id in self._blocked:
                raise _ApiError(403, self._blocked[chat_id])

    def _rate_limit_keys(self, method: str, params: dict[str, Any]) -> list[tuple[_Limit, object]]:
        """Refuse with 429 if a limit is full; else the (limit, key) pairs to charge."""
        if not self._limits or not method.startswith(_RATE_LIMITED_PREFIXES):
            return []
        if method in _NOT_RATE_LIMITED:
            return []
        chat_id = params.get("chat_id")
        keys: list[tuple[_Limit, object]] = []
        if "global" in self._limits:
            keys.append((self._limits["global"], "*"))
        if "chat" in self._limits:
            keys.append((self._limits["chat"], chat_id))
        if "group" in self._limits and isinstance(chat_id, int) and chat_id < 0:
            keys.append((self._limits["group"], chat_id))
        now = time.monotonic()
        if any(limit.exceeded(key, now) for limit, key in keys):
            raise _ApiError(
                429,
                f"Too Many Requests: retry after {self._retry_after}",
                {"retry_after": self._retry_after},
            )
        return keys

    # ----------------------------------------------------------------- Bot API methods

    async def _m_getMe(self, params: dict[str, Any]) -> Any:
        return self.bot_user

    async def _m_logOut(self, params: dict[str, Any]) -> Any:
        return True

    async def _m_close(self, params: dict[str, Any]) -> Any:
        return True

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> Any:
        if params.get("drop_pending_updates") is True:
            self._pending.clear()
        self.webhook = None
        return True

    async def _m_setWebhook(self, params: dict[str, Any]) -> Any:
        if not str(params.get("url", "")):
            self.webhook = None  # Telegram: an empty url removes the webhook
        else:
            self.webhook = dict(params)
        return True

    async def _m_getWebhookInfo(self, params: dict[str, Any]) -> Any:
        return {
            "url": str(self.webhook["url"]) if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }

    async def _m_getUpdates(self, params: dict[str, Any]) -> Any:
        if self.webhook is not None:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset")
        limit = params.get("limit", 100)
        timeout = params.get("timeout", 0)
        limit = min(max(_as_int(limit, "limit"), 1), 100) if limit is not None else 100
        try:
            wait = min(float(timeout or 0), self.long_poll_cap)
        except (TypeError, ValueError):
            raise _ApiError(400, "Bad Request: timeout is invalid") from None
        if offset is not None:
            offset = _as_int(offset, "offset")
            if offset >= 0:
                # Confirm (forget) everything before offset, like Telegram.
                self._pending = [u for u in self._pending if u["update_id"] >= offset]
        # A newer getUpdates terminates an older one still waiting, as on Telegram.
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()

        def ready() -> bool:
            return bool(self._pending) or self._closing or generation != self._poll_generation

        if wait > 0 and not ready():
            with contextlib.suppress(TimeoutError):
                await self._wait(ready, wait, lambda: "")
        if generation != self._poll_generation:
            raise _ApiError(
                409,
                "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            )
        if isinstance(offset, int) and offset < 0:
            return self._pending[offset:][:limit]
        return self._pending[:limit]

    async def _m_setMyCommands(self, params: dict[str, Any]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _ApiError(400, "Bad Request: can't parse commands JSON object")
        if len(commands) > 100:
            raise _ApiError(400, "Bad Request: too many commands")
        for cmd in commands:
            if not isinstance(cmd, dict):
                raise _ApiError(400, "Bad Request: can't parse BotCommand")
            name = cmd.get("command", "")
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            description = cmd.get("description", "")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise _ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        key = (_scope_key(params.get("scope")), str(params.get("language_code") or ""))
        self.commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def _set_description(self, kind: str, params: dict[str, Any], limit: int) -> bool:
        text = str(params.get(kind) or "")
        if len(text) > limit:
            raise _ApiError(400, f"Bad Request: {kind.upper()}_INVALID")
        key = (kind, str(params.get("language_code") or ""))
        if text:
            self.descriptions[key] = text
        else:
            self.descriptions.pop(key, None)
        return True

    async def _m_answerInlineQuery(self, params: dict[str, Any]) -> Any:
        query_id = str(params.get("inline_query_id") or "")
        if query_id not in self._open_inline:
            raise _ApiError(400, "Bad Request: query is too old or query ID is invalid")
        results = params.get("results")
        if not isinstance(results, list) or len(results) > 50:
            raise _ApiError(400, "Bad Request: RESULTS_TOO_MUCH")
        for result in results:
            content = result.get("input_message_content") or {}
            if content.get("parse_mode") == "HTML":
                parse_html(str(content.get("message_text", "")))  # raises on bad markup
        self._open_inline.discard(query_id)
        self.inline_answers[query_id] = results
        return True

    async def _m_setMyDescription(self, params: dict[str, Any]) -> Any:
        return self._set_description("description", params, 512)

    async def _m_setMyShortDescription(self, params: dict[str, Any]) -> Any:
        return self._set_description("short_description", params, 120)

    async def _m_getMyDescription(self, params: dict[str, Any]) -> Any:
        key = ("description", str(params.get("language_code") or ""))
        return {"description": self.descriptions.get(key, "")}

    async def _m_getMyShortDescription(self, params: dict[str, Any]) -> Any:
        key = ("short_description", str(params.get("language_code") or ""))
        return {"short_description": self.descriptions.get(key, "")}

    async def _m_getMyCommands(self, params: dict[str, Any]) -> Any:
        key = (_scope_key(params.get("scope")), str(params.get("language_code") or ""))
        return self.commands.get(key, [])

    async def _m_deleteMyCommands(self, params: dict[str, Any]) -> Any:
        key = (_scope_key(params.get("scope")), str(params.get("language_code") or ""))
        self.commands.pop(key, None)
        return True

    def _chat_id(self, params: dict[str, Any]) -> int:
        if "chat_id" not in params or params["chat_id"] in ("", None):
            raise _ApiError(400, "Bad Request: chat_id is empty")
        chat_id = params["chat_id"]
        if isinstance(chat_id, int) and not isinstance(chat_id, bool):
            if self.known_chats_only and chat_id not in self._chats:
                raise _ApiError(400, "Bad Request: chat not found")
            return chat_id
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            # Public chats by @username: those the fake knows (see add_channel).
            wanted = chat_id[1:].lower()
            for known_id, chat in self._chats.items():
                if str(chat.get("username", "")).lower() == wanted:
                    return known_id
        # Unknown names and other junk.
        raise _ApiError(400, "Bad Request: chat not found")

    def _render(self, params: dict[str, Any]) -> tuple[str, str, list[JSONDict], str | None]:
        """Validate and parse ``text``: (raw, plain, entities, parse_mode)."""
        text = params.get("text")
        if text is None or text == "":
            raise _ApiError(400, "Bad Request: message text is empty")
        if not isinstance(text, str):
            text = json.dumps(text)
        parse_mode = params.get("parse_mode") or None
        if parse_mode is not None and not isinstance(parse_mode, str):
            raise _ApiError(400, "Bad Request: unsupported parse_mode")
        mode = (parse_mode or "").lower()
        if mode == "html":
            try:
                plain, entities = parse_html(text)
            except EntityParseError as exc:
                raise _ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
        elif mode in ("", "markdown", "markdownv2"):
            # Markdown is not parsed: the text is kept as is.
            plain, entities = _strip_entities(text, [])
        else:
            raise _ApiError(400, f'Bad Request: unsupported parse_mode "{parse_mode}"')
        if not plain:
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(plain) > MAX_MESSAGE_LENGTH:
            raise _ApiError(400, "Bad Request: message is too long")
        return text, plain, entities, parse_mode

    def _markup(self, params: dict[str, Any]) -> JSONDict | None:
        markup = params.get("reply_markup")
        if markup is None or markup == "":
            return None
        if not isinstance(markup, dict):
            raise _ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        rows = markup.get("inline_keyboard")
        if rows is None:
            return markup
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise _ApiError(
                400,
                "Bad Request: can't parse inline keyboard button: "
                "InlineKeyboardButton must be an Object",
            )
        actions = (
            "callback_data",
            "url",
            "switch_inline_query",
            "web_app",
            "login_url",
            "switch_inline_query_current_chat",
            "switch_inline_query_chosen_chat",
            "copy_text",
            "callback_game",
            "pay",
        )
        for row in rows:
            for button in row:
                if not isinstance(button, dict):
                    raise _ApiError(
                        400,
                        "Bad Request: can't parse inline keyboard button: "
                        "InlineKeyboardButton must be an Object",
                    )
                if not button.get("text"):
                    raise _ApiError(
                        400,
                        "Bad Request: can't parse inline keyboard button: "
                        'Field "text" must be of type String',
                    )
                if not any(a in button for a in actions):
                    raise _ApiError(
                        400, "Bad Request: text buttons are unallowed in the inline keyboard"
                    )
                if "callback_data" in button:
                    data = button["callback_data"]
                    if not isinstance(data, str):
                        data = str(data)
                        button["callback_data"] = data
                    size = len(data.encode("utf-8"))
                    if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                        raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                if "url" in button and not re.match(r"(https?|tg)://\S+", str(button["url"])):
                    raise _ApiError(400, "Bad Request: BUTTON_URL_INVALID")
        return markup

    def _check_thread(self, chat_id: int, params: dict[str, Any]) -> None:
        thread = params.get("message_thread_id")
        if thread is None:
            return
        thread_id = _as_int(thread, "message thread id")
        if thread_id not in self.topics.get(chat_id, {}):
            raise _ApiError(400, "Bad Request: message thread not found")
        if (chat_id, thread_id) in self.closed_topics and not self._member_json(
            chat_id, self.bot_id
        ).get("can_manage_topics"):
            raise _ApiError(400, "Bad Request: TOPIC_CLOSED")

    async def _m_createForumTopic(self, params: dict[str, Any]) -> Any:
        chat_id = self._chat_id(params)
        if chat_id not in self.forums:
            raise _ApiError(400, "Bad Request: the chat is not a forum")
        bot = self._member_json(chat_id, self.bot_id)
        if bot["status"] != "administrator" or not bot.get("can_manage_topics"):
            raise _ApiError(400, "Bad Request: not enough rights to create a topic")
        name = str(params.get("name") or "")
        if not 1 <= len(name) <= 128:
            raise _ApiError(400, "Bad Request: TOPIC_NAME_INVALID")
        thread_id = self._next_message_id(chat_id)
        self.topics.setdefault(chat_id, {})[thread_id] = name
        return {"message_thread_id": thread_id, "name": name, "icon_color": 7322096}

    async def _m_sendMessage(self, params: dict[str, Any]) -> Any:
        chat_id = self._chat_id(params)
        self._check_thread(chat_id, params)
        raw, plain, entities, parse_mode = self._render(params)
        markup = self._markup(params)
        reply_to = self._reply_target(chat_id, params)
        preview = params.get("link_preview_options")
        dwpp = params.get("disable_web_page_preview")
        sent = SentMessage(
            chat_id=chat_id,
            message_id=self._next_message_id(chat_id),
            text=raw,
            plain_text=plain,
            entities=entities,
            parse_mode=parse_mode,
            reply_markup=markup,
            link_preview_options=preview if isinstance(preview, dict) else None,
            disable_web_page_preview=dwpp if isinstance(dwpp, bool) else None,
            date=int(time.time()),
            params=dict(params),
            reply_to_message_id=reply_to,
        )
        self.messages.setdefault(chat_id, []).append(sent)
        return self._message_json(sent)

    def _reply_target(self, chat_id: int, params: dict[str, Any]) -> int | None:
        """The message replied to; like Telegram, it must exist unless told otherwise."""
        reply = params.get("reply_parameters")
        if isinstance(reply, dict) and "message_id" in reply:
            if reply.get("chat_id") not in (None, chat_id):
                return None  # a reply into another chat: not checked
            target = _as_int(reply["message_id"], "reply message identifier")
            allow = reply.get("allow_sending_without_reply")
        elif "reply_to_message_id" in params:
            target = _as_int(params["reply_to_message_id"], "reply message identifier")
            allow = params.get("allow_sending_without_reply")
        else:
            return None
        # Ids up to the chat's counter were handed out (to users or the bot).
        if not 1 <= target <= self._message_ids.get(chat_id, 0) and allow is not True:
            raise _ApiError(400, "Bad Request: message to be replied not found")
        return target

    def _editable(self, params: dict[str, Any]) -> SentMessage:
        if params.get("inline_message_id"):
            raise _ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        chat_id = self._chat_id(params)
        if "message_id" not in params:
            raise _ApiError(400, "Bad Request: message identifier is not specified")
        message_id = _as_int(params["message_id"], "message identifier")
        try:
            return self.message(chat_id, message_id)
        except LookupError:
            raise _ApiError(400, "Bad Request: message to edit not found") from None

    async def _m_editMessageText(self, params: dict[str, Any]) -> Any:
        sent = self._editable(params)
        raw, plain, entities, parse_mode = self._render(params)
        # Like Telegram: an edit without reply_markup removes the inline keyboard.
        markup = self._markup(params)
        if plain == sent.plain_text and entities == sent.entities and markup == sent.reply_markup:
            raise _ApiError(400, NOT_MODIFIED)
        self._apply_edit(
            sent,
            text=raw,
            plain_text=plain,
            entities=entities,
            parse_mode=parse_mode,
            reply_markup=markup,
        )
        preview = params.get("link_preview_options")
        if isinstance(preview, dict):
            sent.link_preview_options = preview
        return self._message_json(sent)

    async def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> Any:
        sent = self._editable(params)
        markup = self._markup(params)
        if markup == sent.reply_markup:
            raise _ApiError(400, NOT_MODIFIED)
        self._apply_edit(sent, reply_markup=markup)
        return self._message_json(sent)

    def _apply_edit(self, sent: SentMessage, **changes: Any) -> None:
        sent.edits.append(sent.snapshot())
        for key, value in changes.items():
            setattr(sent, key, value)
        sent.edit_date = int(time.time())
        self.counters["edited"] += 1

    async def _m_deleteMessage(self, params: dict[str, Any]) -> Any:
        chat_id = self._chat_id(params)
        message_id = _as_int(params.get("message_id"), "message identifier")
        try:
            sent = self.message(chat_id, message_id)
        except LookupError:
            raise _ApiError(400, "Bad Request: message to delete not found") from None
        self.messages[chat_id].remove(sent)
        return True

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._open_callbacks:
            raise _ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        text = params.get("text")
        if isinstance(text, str) and len(text) > 200:
            raise _ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._open_callbacks.discard(query_id)
        self.callback_answers[query_id] = dict(params)
        return True

    async def _m_sendChatAction(self, params: dict[str, Any]) -> Any:
        chat_id = self._chat_id(params)
        self.chat_actions.append((chat_id, str(params.get("action", ""))))
        return True

    def _member_json(self, chat_id: int, user_id: int) -> JSONDict:
        user = self._users.get(user_id) or {
            "id": user_id,
            "is_bot": False,
            "first_name": f"User {user_id}",
        }
        if user_id == self.bot_id:
            user = {k: self.bot_user[k] for k in ("id", "is_bot", "first_name", "username")}
        status = self._admins.get(chat_id, {}).get(user_id, "member")
        if status == "creator":
            return {"user": user, "status": "creator", "is_anonymous": False}
        if status == "administrator":
            rights = [
                "can_be_edited",
                "is_anonymous",
                "can_manage_chat",
                "can_delete_messages",
                "can_manage_video_chats",
                "can_restrict_members",
                "can_promote_members",
                "can_change_info",
                "can_invite_users",
                "can_post_stories",
                "can_edit_stories",
                "can_delete_stories",
                "can_pin_messages",
            ]
            member: JSONDict = {"user": user, "status": "administrator"}
            member.update({r: r not in ("can_be_edited", "is_anonymous") for r in rights})
            if self._chat(chat_id)["type"] == "channel":
                member.update(can_post_messages=True, can_edit_messages=True)
            if chat_id in self.forums:
                member["can_manage_topics"] = True
            member.update(self.admin_rights.get((chat_id, user_id), {}))
            return member
        return {"user": user, "status": "member"}

    async def _m_getChatMember(self, params: dict[str, Any]) -> Any:
        chat_id = self._chat_id(params)
        if "user_id" not in params:
            raise _ApiError(400, "Bad Request: user not found")
        if self._chat(chat_id)["type"] == "channel" and self.bot_id not in self._admins.get(
            chat_id, {}
        ):
            # Telegram shows a channel's members only to its administrators.
            raise _ApiError(400, "Bad Request: member list is inaccessible")
        return self._member_json(chat_id, _as_int(params["user_id"], "user_id"))

    async def _m_getChatAdministrators(self, params: dict[str, Any]) -> Any:
        chat_id = self._chat_id(params)
        if self._chat(chat_id)["type"] == "private":
            raise _ApiError(400, "Bad Request: there are no administrators in the private chat")
        return [self._member_json(chat_id, uid) for uid in self._admins.get(chat_id, {})]

    async def _m_getChatMemberCount(self, params: dict[str, Any]) -> Any:
        chat_id = self._chat_id(params)
        return 2 if chat_id > 0 else 2 + len(self._admins.get(chat_id, {}))

    async def _m_getChat(self, params: dict[str, Any]) -> Any:
        chat_id = self._chat_id(params)
        if chat_id in self._migrated:
            raise _ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self._migrated[chat_id]},
            )
        return {
            **self._chat(chat_id),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def _m_leaveChat(self, params: dict[str, Any]) -> Any:
        self._chat_id(params)
        return True

    # ----------------------------------------------------------------- control endpoints

    _CONTROL_ACTIONS = frozenset(
        {
            "send_message",
            "press_button",
            "add_bot_to_group",
            "migrate_group",
            "set_admins",
            "fail_next",
            "block",
            "unblock",
            "set_limits",
            "clear_limits",
            "set_answer_delay",
            "set_unavailable",
            "push_update",
        }
    )

    def _add_control_routes(self, app: web.Application) -> None:
        app.router.add_get("/_control/health", self._ctl_health)
        app.router.add_get("/_control/calls", self._ctl_calls)
        app.router.add_get("/_control/messages", self._ctl_messages)
        app.router.add_get("/_control/counters", self._ctl_counters)
        app.router.add_post("/_control/wait_for", self._ctl_wait_for)
        app.router.add_post("/_control/{action}", self._ctl_action)

    async def _ctl_health(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "ok": True,
                "api_root": self.api_root,
                "token": self.token,
                "bot_username": self.bot_username,
            }
        )

    async def _ctl_calls(self, request: web.Request) -> web.Response:
        query = {k: _decode_value(k, v) for k, v in request.query.items()}
        method = str(query.pop("method", "*"))
        since = int(query.pop("since", 0))
        ok = query.pop("ok", None)
        calls = self.calls_of(method, since=since, ok=ok if isinstance(ok, bool) else None, **query)
        return web.json_response({"calls": [c.to_json() for c in calls], "total": len(self.calls)})

    async def _ctl_messages(self, request: web.Request) -> web.Response:
        chat = request.query.get("chat_id")
        chats = [int(chat)] if chat is not None else list(self.messages)
        return web.json_response(
            {
                "messages": {
                    str(c): [dataclasses.asdict(m) for m in self.messages.get(c, [])] for c in chats
                }
            }
        )

    async def _ctl_counters(self, request: web.Request) -> web.Response:
        return web.json_response(dict(self.counters))

    async def _ctl_wait_for(self, request: web.Request) -> web.Response:
        body = await request.json()
        try:
            calls = await self.wait_for(
                str(body["method"]),
                count=int(body.get("count", 1)),
                timeout=float(body.get("timeout", 10.0)),
                since=int(body.get("since", 0)),
                ok=body.get("ok"),
                **dict(body.get("match") or {}),
                **{key: _contains(needle) for key, needle in (body.get("contains") or {}).items()},
            )
        except TimeoutError as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=408)
        return web.json_response({"ok": True, "calls": [c.to_json() for c in calls]})

    async def _ctl_action(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        if action not in self._CONTROL_ACTIONS:
            return web.json_response({"ok": False, "error": f"unknown action {action}"}, status=404)
        body = await request.json() if request.can_read_body else {}
        if not isinstance(body, dict):
            return web.json_response({"ok": False, "error": "body must be an object"}, status=400)
        try:
            result = getattr(self, action)(**body)
        except (TypeError, ValueError, LookupError) as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        return web.json_response({"ok": True, "result": result})


def _contains(needle: str) -> Callable[[Any], bool]:
    """A match callable for JSON clients, which cannot send one: ``needle`` in the value."""
    return lambda value: needle in str(value)


def _scope_key(scope: Any) -> str:
    if not scope:
        return json.dumps({"type": "default"})
    return json.dumps(scope, sort_keys=True)


def _infer_chat_type(chat_id: int) -> str:
    if chat_id > 0:
        return "private"
    return "supergroup" if str(chat_id).startswith("-100") else "group"


def _fmt_params(params: Mapping[str, Any]) -> str:
    parts = []
    for key, value in params.items():
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        parts.append(f"{key}={shown}")
    return ", ".join(parts)


# --------------------------------------------------------------------------- remote use


class RemoteFakeTelegram:
    """Drive a standalone fake (another process) through its ``/_control/`` endpoints.

    Mirrors the in-process API, but every method is a coroutine.
    """

    def __init__(self, api_root: str, token: str = "123456:TEST-TOKEN") -> None:
        """``api_root`` is the fake's ``http://127.0.0.1:PORT``."""
        self.api_root = api_root.rstrip("/")
        self.token = token
        self._session: aiohttp.ClientSession | None = None

    @property
    def base_url(self) -> str:
        """What PTB's ``base_url`` wants."""
        return f"{self.api_root}/bot"

    async def _request(self, verb: str, path: str, **kwargs: Any) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        async with self._session.request(
            verb, f"{self.api_root}/_control/{path}", **kwargs
        ) as resp:
            payload = await resp.json()
            if resp.status == 408:
                raise TimeoutError(payload.get("error", "timed out"))
            if resp.status != 200:
                raise RuntimeError(f"control {path} failed: {payload}")
            return payload

    async def _action(self, action: str, **kwargs: Any) -> Any:
        return (await self._request("POST", action, json=kwargs))["result"]

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> RemoteFakeTelegram:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def health(self) -> JSONDict:
        """The fake's identity (api_root, token, bot_username)."""
        result: JSONDict = await self._request("GET", "health")
        return result

    async def send_message(self, chat_id: int, text: str, **kwargs: Any) -> JSONDict:
        """See :meth:`FakeTelegram.send_message`."""
        result: JSONDict = await self._action("send_message", chat_id=chat_id, text=text, **kwargs)
        return result

    async def press_button(
        self, chat_id: int, message_id: int, data: str, **kwargs: Any
    ) -> JSONDict:
        """See :meth:`FakeTelegram.press_button`."""
        result: JSONDict = await self._action(
            "press_button", chat_id=chat_id, message_id=message_id, data=data, **kwargs
        )
        return result

    async def add_bot_to_group(self, chat_id: int, *, by_user_id: int, **kwargs: Any) -> JSONDict:
        """See :meth:`FakeTelegram.add_bot_to_group`."""
        result: JSONDict = await self._action(
            "add_bot_to_group", chat_id=chat_id, by_user_id=by_user_id, **kwargs
        )
        return result

    async def migrate_group(self, old_chat_id: int, new_chat_id: int) -> JSONDict:
        """See :meth:`FakeTelegram.migrate_group`."""
        result: JSONDict = await self._action(
            "migrate_group", old_chat_id=old_chat_id, new_chat_id=new_chat_id
        )
        return result

    async def set_admins(
        self, chat_id: int, user_ids: Iterable[int], *, creator: int | None = None
    ) -> None:
        """See :meth:`FakeTelegram.set_admins`."""
        await self._action("set_admins", chat_id=chat_id, user_ids=list(user_ids), creator=creator)

    async def fail_next(self, method: str, **kwargs: Any) -> None:
        """See :meth:`FakeTelegram.fail_next`."""
        await self._action("fail_next", method=method, **kwargs)

    async def block(
        self, chat_id: int, description: str | None = None, *, notify: bool = False
    ) -> JSONDict | None:
        """See :meth:`FakeTelegram.block`."""
        extra = {"description": description} if description else {}
        result: JSONDict | None = await self._action(
            "block", chat_id=chat_id, notify=notify, **extra
        )
        return result

    async def unblock(self, chat_id: int) -> None:
        """See :meth:`FakeTelegram.unblock`."""
        await self._action("unblock", chat_id=chat_id)

    async def set_unavailable(self, count: int) -> None:
        """Answer the next ``count`` requests with 502."""
        await self._action("set_unavailable", count=count)

    async def set_limits(self, **kwargs: Any) -> None:
        """See :meth:`FakeTelegram.set_limits`."""
        await self._action("set_limits", **kwargs)

    async def clear_limits(self) -> None:
        """See :meth:`FakeTelegram.clear_limits`."""
        await self._action("clear_limits")

    async def set_answer_delay(self, seconds: float) -> None:
        """See :meth:`FakeTelegram.set_answer_delay`."""
        await self._action("set_answer_delay", seconds=seconds)

    async def calls_of(
        self, method: str = "*", *, since: int = 0, ok: bool | None = None, **match: Any
    ) -> list[JSONDict]:
        """Matching calls as dicts (``method``, ``params``, ``at``, ``status``, ``response``)."""
        query: dict[str, str] = {"method": method, "since": str(since)}
        if ok is not None:
            query["ok"] = json.dumps(ok)
        query.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in match.items()})
        result: list[JSONDict] = (await self._request("GET", "calls", params=query))["calls"]
        return result

    async def wait_for(
        self,
        method: str,
        *,
        count: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109 - mirrors FakeTelegram.wait_for
        since: int = 0,
        ok: bool | None = None,
        contains: Mapping[str, str] | None = None,
        **match: Any,
    ) -> list[JSONDict]:
        """Server-side :meth:`FakeTelegram.wait_for` (no polling); raises TimeoutError.

        ``match`` values must be JSON; ``contains`` stands in for the callables
        the in-process fake accepts: ``contains={"text": "epdk-4"}``.
        """
        body = {
            "method": method,
            "count": count,
            "timeout": timeout,
            "since": since,
            "ok": ok,
            "match": match,
            "contains": dict(contains or {}),
        }
        result: list[JSONDict] = (
            await self._request(
                "POST", "wait_for", json=body, timeout=aiohttp.ClientTimeout(total=timeout + 10)
            )
        )["calls"]
        return result

    async def messages(self, chat_id: int) -> list[JSONDict]:
        """Messages the bot sent to ``chat_id`` (SentMessage fields as dicts)."""
        payload = await self._request("GET", "messages", params={"chat_id": str(chat_id)})
        result: list[JSONDict] = payload["messages"].get(str(chat_id), [])
        return result

    async def counters(self) -> dict[str, int]:
        """The fake's counters."""
        result: dict[str, int] = await self._request("GET", "counters")
        return result


class ThreadedFakeTelegram:
    """A :class:`FakeTelegram` on its own event loop in a background thread.

    For synchronous code (sync tests, benchmark scripts driving a bot
    subprocess).  Every helper runs on the fake's loop, so state is never
    touched from two threads; ``fake`` gives read access to the instance.
    """

    def __init__(self, token: str = "123456:TEST-TOKEN", **kwargs: Any) -> None:
        """Same arguments as :class:`FakeTelegram`; nothing runs until :meth:`start`."""
        self._token = token
        self._kwargs = kwargs
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._fake: FakeTelegram | None = None

    @property
    def fake(self) -> FakeTelegram:
        """The underlying fake (read its state; call helpers through this wrapper)."""
        if self._fake is None:
            raise RuntimeError("ThreadedFakeTelegram is not started")
        return self._fake

    @property
    def api_root(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return self.fake.api_root

    @property
    def token(self) -> str:
        """The bot token the fake accepts."""
        return self._token

    @property
    def base_url(self) -> str:
        """What PTB's ``base_url`` wants."""
        return self.fake.base_url

    def start(self) -> None:
        """Start the loop thread and the server; returns once it listens."""
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="fake-telegram", daemon=True)
        self._thread.start()

        async def boot() -> FakeTelegram:
            fake = FakeTelegram(self._token, **self._kwargs)
            await fake.start()
            return fake

        self._fake = asyncio.run_coroutine_threadsafe(boot(), loop).result(30)

    def stop(self) -> None:
        """Stop the server and the loop thread."""
        if self._loop is None:
            return
        if self._fake is not None:
            asyncio.run_coroutine_threadsafe(self._fake.stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(30)
        self._loop.close()
        self._loop = None

    def __enter__(self) -> ThreadedFakeTelegram:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def call(self, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """Run ``fn(*args, **kwargs)`` on the fake's loop thread and return its result."""
        if self._loop is None:
            raise RuntimeError("ThreadedFakeTelegram is not started")

        async def run() -> _T:
            return fn(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(30)

    def send_message(self, chat_id: int, text: str, **kwargs: Any) -> JSONDict:
        """See :meth:`FakeTelegram.send_message`."""
        return self.call(self.fake.send_message, chat_id, text, **kwargs)

    def press_button(self, chat_id: int, message_id: int, data: str, **kwargs: Any) -> JSONDict:
        """See :meth:`FakeTelegram.press_button`."""
        return self.call(self.fake.press_button, chat_id, message_id, data, **kwargs)

    def fail_next(self, method: str, **kwargs: Any) -> None:
        """See :meth:`FakeTelegram.fail_next`."""
        self.call(self.fake.fail_next, method, **kwargs)

    def block(self, chat_id: int, **kwargs: Any) -> None:
        """See :meth:`FakeTelegram.block`."""
        self.call(self.fake.block, chat_id, **kwargs)

    def set_limits(self, **kwargs: Any) -> None:
        """See :meth:`FakeTelegram.set_limits`."""
        self.call(self.fake.set_limits, **kwargs)

    def set_admins(self, chat_id: int, user_ids: Iterable[int], **kwargs: Any) -> None:
        """See :meth:`FakeTelegram.set_admins`."""
        self.call(self.fake.set_admins, chat_id, list(user_ids), **kwargs)

    def calls_of(self, method: str, **kwargs: Any) -> list[Call]:
        """See :meth:`FakeTelegram.calls_of`."""
        return self.call(self.fake.calls_of, method, **kwargs)

    def last_message(self, chat_id: int) -> SentMessage:
        """See :meth:`FakeTelegram.last_message`."""
        return self.call(self.fake.last_message, chat_id)

    def wait_for(self, method: str, *, timeout: float = 10.0, **kwargs: Any) -> list[Call]:
        """Blocking :meth:`FakeTelegram.wait_for`; raises TimeoutError."""
        if self._loop is None:
            raise RuntimeError("ThreadedFakeTelegram is not started")
        future = asyncio.run_coroutine_threadsafe(
            self.fake.wait_for(method, timeout=timeout, **kwargs), self._loop
        )
        return future.result(timeout + 30)


@contextlib.asynccontextmanager
async def spawn_fake_telegram(
    *extra_args: str, token: str = "123456:TEST-TOKEN", ready_timeout: float = 20.0
) -> AsyncIterator[RemoteFakeTelegram]:
    """Run the fake in a child process; yield a connected :class:`RemoteFakeTelegram`.

    ``extra_args`` are passed to the CLI (e.g. ``"--global-rate", "30"``).
    """
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.telegram_server",
        "--port",
        "0",
        "--token",
        token,
        *extra_args,
        cwd=str(_REPO_ROOT),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), ready_timeout)
        if not line:
            raise RuntimeError(f"fake telegram exited early with {await proc.wait()}")
        info = json.loads(line)
        async with RemoteFakeTelegram(info["api_root"], token) as remote:
            yield remote
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()


# --------------------------------------------------------------------------- CLI


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.telegram_server",
        description="Fake Telegram Bot API server for tests and benchmarks.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", default="123456:TEST-TOKEN")
    parser.add_argument("--bot-username", default="evbot_test_bot")
    parser.add_argument(
        "--global-rate", type=float, default=None, help="flood control: sends per second overall"
    )
    parser.add_argument(
        "--per-chat-rate", type=float, default=None, help="flood control: sends per second per chat"
    )
    parser.add_argument(
        "--per-group-per-minute",
        type=float,
        default=None,
        help="flood control: sends per minute per group",
    )
    parser.add_argument("--retry-after", type=int, default=1)
    parser.add_argument(
        "--answer-delay",
        type=float,
        default=0.0,
        help="seconds every Bot API request waits before it is answered (a real round trip)",
    )
    parser.add_argument("--long-poll-cap", type=float, default=FakeTelegram.long_poll_cap)
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeTelegram(args.token, bot_username=args.bot_username, host=args.host, port=args.port)
    fake.long_poll_cap = args.long_poll_cap
    fake.answer_delay = args.answer_delay
    if any(
        v is not None for v in (args.global_rate, args.per_chat_rate, args.per_group_per_minute)
    ):
        fake.set_limits(
            global_per_second=args.global_rate,
            per_chat_per_second=args.per_chat_rate,
            per_group_per_minute=args.per_group_per_minute,
            retry_after=args.retry_after,
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await fake.start()
    lag_watch = asyncio.create_task(_watch_loop_lag(fake))
    # One JSON line on stdout tells the parent process where we listen.
    print(
        json.dumps({"api_root": fake.api_root, "port": fake.port, "token": fake.token}), flush=True
    )
    try:
        await stop.wait()
    finally:
        lag_watch.cancel()
        await fake.stop()


async def _watch_loop_lag(fake: FakeTelegram, tick: float = 0.01) -> None:
    """Count the fake's own stalls: a stalled fake stamps calls that arrived apart
    as if they came together, and its sliding windows then see a burst."""
    while True:
        start = time.monotonic()
        await asyncio.sleep(tick)
        lag_ms = int((time.monotonic() - start - tick) * 1000)
        if lag_ms >= 50:
            fake.counters["loop_stalls_over_50ms"] += 1
        fake.counters["max_loop_stall_ms"] = max(fake.counters["max_loop_stall_ms"], lag_ms)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m tests.fakes.telegram_server``."""
    asyncio.run(_serve(_parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
