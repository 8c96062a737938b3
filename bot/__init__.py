"""evbot's application: Telegram, storage, scheduling and delivery, wiring `feeds` and `rules`.

The map (imports point down this list; `rules` and `feeds` know nothing of `bot`):

- `service/`      the composition root: APScheduler jobs, the delivery worker and the
                  Telegram application (long polling or webhook) in one event loop
- `cli/`          the `evbot` command line, `doctor`, the feed report and the demo
- `telegram_app/` everything that speaks python-telegram-bot: handlers, channels, forum
                  topics, the webhook route, keyboards, callback data, the sender
- `ingest/`       the poll loop (`poll`), what a poll stores (`outcome`: decide → classify
                  → plan → store), WebSub pushes and hot reload
- `delivery/`     who gets what and when (planner), rendering, pacing, the outbox worker
- `ops/`          the HTTP server (health, metrics), metrics and logging
- `storage/`      all SQL: the `Storage` gateway, schema, migrations, the leader lease
- `web/`          the public archive: pages, search and Atom feeds (read-only)
- `models`        the row types shared by all of the above
- `settings`, `clock`, `i18n`  configuration, the injectable clock, the message catalogs
"""
