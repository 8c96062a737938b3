"""The public web archive: categorised stories on pages, per-category Atom feeds, search.

Served by the operations HTTP server (`bot.ops.http_server`) when
`EVBOT_ARCHIVE` is on. `site` holds the aiohttp routes, `texts` the page
texts in Turkish and English with the language choice and dates, `atom` the
feed documents, `conditional` the ETag / 304 answers, `cache` the rendered
pages and feeds kept until the database changes, `templates/` and `static/`
the HTML and the stylesheet. All reads go through `Storage`
(`bot.storage.archive`); nothing here writes.
"""
