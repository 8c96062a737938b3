"""feeds: fetch, parse and normalise news feeds, and decide what is new.

No imports from ``bot``; from ``rules`` only :mod:`rules.yamlfile`, the pure
line-numbered YAML reader the catalog shares with the rules file. No storage,
no clock reads in logic.

* :mod:`feeds.fetch` — one shared ``httpx.AsyncClient``; conditional GET,
  limits, failures as :class:`~feeds.fetch.FetchResult` values;
  :mod:`feeds.transport` gives it one small connection pool per host.
* :mod:`feeds.decode` — Content-Encoding in bounded steps (no bombs);
  :mod:`feeds.netguard` — no redirects into internal address space.
* :mod:`feeds.parse` — bytes → :class:`~feeds.parse.ParsedFeed` (feedparser),
  or a one-line :class:`~feeds.parse.FeedParseError`; :mod:`feeds.fastparse`
  reads well-formed RSS 2.0/Atom 1.0 without feedparser, to the same values,
  with what it borrows from feedparser kept in :mod:`feeds.feedparser_compat`.
* :mod:`feeds.entries`, :mod:`feeds.text`, :mod:`feeds.urls` — normalised
  entries, identities, plain text, canonical links.
* :mod:`feeds.dedupe` — the pure decider (new / same story / already seen).
* :mod:`feeds.schedule` — next poll delay, backoff with jitter.
* :mod:`feeds.poller` — a batch with bounded concurrency, parsing off-loop.
* :mod:`feeds.catalog`, :mod:`feeds.opml` — the YAML catalog and OPML 2.0.
"""
