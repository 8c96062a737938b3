"""The archive's routes on the operations HTTP server (aiohttp), rendered with Jinja2.

    /                   the latest categorised stories
    /c/<category>       one category, with a "follow in Telegram" button
    /s/<id>             one story: every source and the terms that placed it
    /search?q=          full-text search (Turkish-folded, word prefixes)
    /feeds/all.atom     Atom feeds, all stories or /feeds/<category>.atom
    /static/style.css   the stylesheet

Pages are paged by story id (`?before=<id>`). The language comes from
`?lang=` (then remembered in a cookie), the cookie, or Accept-Language.
Everything from feeds reaches HTML only through Jinja's autoescaping, and
links to articles only when they are http(s).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bot.storage.archive import ArchiveStore, ArchiveStory, search_terms
from bot.web import atom
from bot.web.cache import DEFAULT_SIZE, PageCache
from bot.web.conditional import conditional, strong_etag
from bot.web.texts import DEFAULT_LANGUAGE, LANG_COOKIE, LANGUAGES, choose_language, format_time
from bot.web.texts import text as page_text
from rules import RuleSet

HERE = Path(__file__).parent
PAGE_SIZE = 20
FEED_SIZE = 50
SUMMARY_CHARS = 260
#: The authority of entry ids when EVBOT_ARCHIVE_URL is not set (.invalid is
#: reserved for names that resolve nowhere, RFC 2606).
DEFAULT_AUTHORITY = "evbot.invalid"
_BOT_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_YEAR = 365 * 24 * 3600
# Exactly the characters for which str.isspace() or ord(c) < 32 holds (checked
# over every code point); a regex because the per-character loop showed in profiles.
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f]")

# The pages need nothing but their own stylesheet: no scripts, frames or
# third-party requests, so an injected tag could do nothing even if one
# slipped past the escaping.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def safe_link(url: str | None) -> str | None:
    """`url` if it is an http(s) link a reader may follow, else None (no javascript:)."""
    if not url or _SPACE_OR_CONTROL.search(url):
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        return None
    return url


def bot_link(username: str | None, start: str | None = None) -> str | None:
    """`https://t.me/<bot>?start=<payload>`, or None when the bot's name is unknown."""
    name = (username or "").strip().lstrip("@")
    if not _BOT_USERNAME.match(name):
        return None
    return f"https://t.me/{name}" + (f"?start={start}" if start else "")


def shorten(value: str, limit: int = SUMMARY_CHARS) -> str:
    """`value` cut at a word boundary to at most `limit` characters, with an ellipsis."""
    value = " ".join(value.split())
    if len(value) <= limit:
        return value
    cut = value[:limit].rsplit(" ", 1)[0] or value[:limit]
    return cut.rstrip(",.;:") + "…"


# Templates read attributes: Jinja finds them on the first try (a dict key
# costs it a failed getattr first, which showed in the benchmark's profile).
@dataclass(frozen=True, slots=True)
class CategoryLink:
    """A category as a link: its id and its name in the page's language."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class StoryView:
    """A story as the templates show it."""

    id: int
    url: str
    title: str
    summary: str
    link: str | None
    when: str
    iso: str
    published: str | None
    categories: list[CategoryLink]
    source: str | None
    others: str


@dataclass(frozen=True, slots=True)
class Rendered:
    """A page's HTML and status, as cached: the same for every reader of one URL and language."""

    body: str
    status: int = 200


@dataclass(frozen=True, slots=True)
class RenderedFeed:
    """A feed document with its validators, as cached."""

    body: bytes
    etag: str
    modified: datetime


@dataclass(frozen=True)
class Page:
    """A request's language and whether it asked to remember it."""

    lang: str
    remember: bool


class ArchiveSite:
    """The public archive: pages and feeds over `Storage`'s archive reads."""

    def __init__(
        self,
        storage: ArchiveStore,
        rules: Callable[[], RuleSet],
        *,
        timezone: str = "Europe/Istanbul",
        bot_username: Callable[[], str | None] = lambda: None,
        public_url: str | None = None,
        page_size: int = PAGE_SIZE,
        cache_size: int = DEFAULT_SIZE,
    ) -> None:
        self.storage = storage
        self.rules = rules
        self.zone = ZoneInfo(timezone)
        self.bot_username = bot_username
        self.public_url = public_url.rstrip("/") if public_url else None
        self.authority = (urlsplit(self.public_url).hostname if self.public_url else None) or (
            DEFAULT_AUTHORITY
        )
        self.page_size = page_size
        self._stylesheet = (HERE / "static" / "style.css").read_bytes()
        # Pages and feeds are rendered once per change of the database
        # (see bot.web.cache); cache_size=0 renders every request.
        self.cache: PageCache[Rendered | RenderedFeed] = PageCache(
            storage.archive_version, size=cache_size
        )
        self.env = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def add_routes(self, app: web.Application) -> None:
        """Mount the archive's routes on `app`."""
        app.router.add_get("/", self.home)
        app.router.add_get("/c/{category}", self.category)
        app.router.add_get(r"/s/{story_id:\d{1,18}}", self.story)
        app.router.add_get("/search", self.search)
        app.router.add_get("/feeds/{tag}.atom", self.feed)
        app.router.add_get("/static/style.css", self.stylesheet)

    # --- pages -----------------------------------------------------------------------------

    async def home(self, request: web.Request) -> web.Response:
        """The latest categorised stories."""
        page = self._page(request)

        async def render() -> Rendered:
            before = _before(request)
            stories = await self.storage.archive_stories(before=before, limit=self.page_size + 1)
            return self._list(
                request,
                page,
                stories,
                heading=page_text(page.lang, "latest"),
                empty=page_text(page.lang, "no_stories"),
                current=None,
                follow_url=bot_link(self.bot_username()),
                follow_text=page_text(page.lang, "follow"),
                paged=before is not None,
                is_home=True,
            )

        return await self._cached_page(request, page, render)

    async def category(self, request: web.Request) -> web.Response:
        """One category's stories, with the Telegram button."""
        page = self._page(request)

        async def render() -> Rendered:
            category = request.match_info["category"]
            names = self._category_names(page.lang)
            if category not in names:
                return self._not_found(request, page)
            before = _before(request)
            stories = await self.storage.archive_stories(
                category=category, before=before, limit=self.page_size + 1
            )
            name = names[category]
            return self._list(
                request,
                page,
                stories,
                heading=name,
                empty=page_text(page.lang, "no_stories"),
                current=category,
                follow_url=bot_link(self.bot_username(), category),
                follow_text=page_text(page.lang, "follow_category", name=name),
                paged=before is not None,
            )

        return await self._cached_page(request, page, render)

    async def search(self, request: web.Request) -> web.Response:
        """Full-text search; an empty query shows just the form."""
        page = self._page(request)

        async def render() -> Rendered:
            query = request.query.get("q", "").strip()[:200]
            terms = search_terms(query)
            before = _before(request)
            stories = (
                await self.storage.archive_search(terms, before=before, limit=self.page_size + 1)
                if terms
                else []
            )
            heading = (
                page_text(page.lang, "results_for", query=query)
                if query
                else page_text(page.lang, "search_label")
            )
            return self._list(
                request,
                page,
                stories,
                heading=heading,
                empty=page_text(page.lang, "no_results") if query else "",
                current=None,
                follow_url=None,
                follow_text="",
                paged=before is not None,
                query=query,
                robots="noindex",
            )

        return await self._cached_page(request, page, render)

    async def story(self, request: web.Request) -> web.Response:
        """One story with all its sources and the terms that placed it in its categories."""
        page = self._page(request)

        async def render() -> Rendered:
            found = await self.storage.archive_story(int(request.match_info["story_id"]))
            if found is None:
                return self._not_found(request, page)
            names = self._category_names(page.lang)
            view = self._story_view(found, page.lang, names, full=True)
            why = [
                {"id": c, "name": names.get(c, c), "terms": found.matches.get(c, [])}
                for c in found.categories
            ]
            sources = [{"name": s.name, "link": safe_link(s.link)} for s in found.sources]
            body = self._render(
                request,
                page,
                "story.html",
                page_title=found.title,
                story=view,
                why=why,
                sources=sources,
                current=None,
                category_feed=None,
            )
            return Rendered(body)

        return await self._cached_page(request, page, render)

    # --- feeds and static ------------------------------------------------------------------

    async def feed(self, request: web.Request) -> web.Response:
        """An Atom feed with ETag and Last-Modified; 304 when the reader has it already."""
        tag = request.match_info["tag"]
        # Feed readers send no cookie and vary in Accept-Language: a feed URL's
        # language is its ?lang= alone, so one URL is always one document.
        lang = request.query.get("lang", DEFAULT_LANGUAGE)
        lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
        names = self._category_names(lang)
        if tag != "all" and tag not in names:
            raise web.HTTPNotFound()
        base = self._base(request)

        async def render() -> RenderedFeed:
            return await self._render_feed(tag, lang, base)

        # Feed readers poll: most requests end here, as a 304 from the cached ETag.
        found = await self.cache.get(("feed", tag, lang, base), render, context=self._context())
        assert isinstance(found, RenderedFeed)
        return conditional(request, found.body, atom.CONTENT_TYPE, found.modified, etag=found.etag)

    async def _render_feed(self, tag: str, lang: str, base: str) -> RenderedFeed:
        names = self._category_names(lang)
        category = None if tag == "all" else tag
        stories = await self.storage.archive_stories(category=category, limit=FEED_SIZE)
        site = page_text(lang, "site_title")
        title = site if category is None else f"{names[category]} · {site}"
        suffix = "" if lang == DEFAULT_LANGUAGE else f"?lang={lang}"
        info = atom.FeedInfo(
            tag=tag,
            title=title,
            self_url=f"{base}/feeds/{tag}.atom{suffix}",
            html_url=f"{base}/" + ("" if category is None else f"c/{category}") + suffix,
            lang=lang,
            authority=self.authority,
        )
        body = atom.atom_feed(
            info,
            stories,
            category_name=lambda c: names.get(c, c),
            story_url=lambda story_id: f"{base}/s/{story_id}{suffix}",
            category_scheme=f"{base}/c/",
            safe_link=safe_link,
        )
        modified = max((s.first_seen_at for s in stories), default=atom.EMPTY_FEED_UPDATED)
        return RenderedFeed(body, strong_etag(body), modified)

    async def stylesheet(self, request: web.Request) -> web.Response:
        """The stylesheet, revalidated by ETag."""
        return conditional(request, self._stylesheet, "text/css", None, max_age=3600)

    # --- helpers ---------------------------------------------------------------------------

    def _page(self, request: web.Request) -> Page:
        asked = request.query.get("lang")
        lang = choose_language(
            asked, request.cookies.get(LANG_COOKIE), request.headers.get("Accept-Language")
        )
        return Page(lang, remember=asked in LANGUAGES)

    def _base(self, request: web.Request) -> str:
        return self.public_url or str(request.url.origin())

    def _category_names(self, lang: str) -> dict[str, str]:
        return {c.id: c.name(lang) for c in self.rules().categories}

    def _story_view(
        self, story: ArchiveStory, lang: str, names: dict[str, str], *, full: bool = False
    ) -> StoryView:
        return StoryView(
            id=story.id,
            url=f"/s/{story.id}",
            title=story.title,
            summary=" ".join(story.summary.split()) if full else shorten(story.summary),
            link=safe_link(story.link),
            when=format_time(story.first_seen_at, lang, self.zone),
            iso=story.first_seen_at.astimezone(UTC).isoformat(),
            published=(
                format_time(story.published_at, lang, self.zone) if story.published_at else None
            ),
            categories=[CategoryLink(c, names.get(c, c)) for c in story.categories],
            source=story.sources[0].name if story.sources else None,
            others=", ".join(s.name for s in story.sources[1:]),
        )

    def _list(
        self,
        request: web.Request,
        page: Page,
        stories: list[ArchiveStory],
        *,
        heading: str,
        empty: str,
        current: str | None,
        follow_url: str | None,
        follow_text: str,
        paged: bool,
        query: str = "",
        robots: str | None = None,
        is_home: bool = False,
    ) -> Rendered:
        names = self._category_names(page.lang)
        shown = stories[: self.page_size]
        older = None
        if len(stories) > self.page_size:
            params = {k: v for k, v in request.query.items() if k not in {"before", "lang"}}
            params["before"] = str(shown[-1].id)
            older = f"{request.path}?{urlencode(params)}"
        newest = None
        if paged:
            params = {k: v for k, v in request.query.items() if k not in {"before", "lang"}}
            newest = request.path + (f"?{urlencode(params)}" if params else "")
        body = self._render(
            request,
            page,
            "list.html",
            page_title=heading,
            heading=heading,
            empty=empty,
            stories=[self._story_view(s, page.lang, names) for s in shown],
            current=current,
            category_feed=current,
            follow_url=follow_url,
            follow_text=follow_text,
            older_url=older,
            newest_url=newest,
            query=query,
            robots=robots,
            is_home=is_home,
        )
        return Rendered(body)

    def _render(self, request: web.Request, page: Page, template: str, **context: Any) -> str:
        lang = page.lang
        names = self._category_names(lang)
        feed_suffix = "" if lang == DEFAULT_LANGUAGE else f"?lang={lang}"
        category_feed = context.get("category_feed")
        switch = {}
        for code in LANGUAGES:
            params = {k: v for k, v in request.query.items() if k != "lang"}
            params["lang"] = code
            switch[code] = f"{request.path}?{urlencode(params)}"
        context.setdefault("query", "")
        context.setdefault("robots", None)
        context.setdefault("is_home", False)
        return self.env.get_template(template).render(
            lang=lang,
            t=lambda key, **values: page_text(lang, key, **values),
            categories=[CategoryLink(c, n) for c, n in names.items()],
            all_feed_url=f"/feeds/all.atom{feed_suffix}",
            category_feed_url=(
                f"/feeds/{category_feed}.atom{feed_suffix}" if category_feed else None
            ),
            category_feed_title=(
                page_text(lang, "feed_of", name=names[category_feed]) if category_feed else None
            ),
            lang_urls=switch,
            **context,
        )

    async def _cached_page(
        self, request: web.Request, page: Page, render: Callable[[], Awaitable[Rendered]]
    ) -> web.Response:
        # A page is its path, its query (but ?lang=, which only picks the
        # language) and the language; the cookie only changes headers.
        query = tuple((k, v) for k, v in request.query.items() if k != "lang")
        key = ("page", request.path, query, page.lang)
        found = await self.cache.get(key, render, context=self._context())
        assert isinstance(found, Rendered)
        return self._html(found, page)

    def _context(self) -> object:
        """What pages depend on besides the database: the rules (category names), the bot."""
        return (self.rules(), self.bot_username())

    def _html(self, rendered: Rendered, page: Page) -> web.Response:
        response = web.Response(
            text=rendered.body, status=rendered.status, content_type="text/html"
        )
        response.headers.update(SECURITY_HEADERS)
        response.headers["Vary"] = "Accept-Language, Cookie"
        response.headers["Cache-Control"] = "max-age=30"
        if page.remember:
            response.set_cookie(
                LANG_COOKIE, page.lang, max_age=_YEAR, path="/", samesite="Lax", httponly=True
            )
        return response

    def _not_found(self, request: web.Request, page: Page) -> Rendered:
        body = self._render(
            request,
            page,
            "not_found.html",
            page_title=page_text(page.lang, "not_found"),
            current=None,
            category_feed=None,
        )
        return Rendered(body, status=404)


def _before(request: web.Request) -> int | None:
    raw = request.query.get("before")
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise web.HTTPBadRequest(text="before: expected a story id")
    return int(raw)
