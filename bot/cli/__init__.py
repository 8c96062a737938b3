"""The `evbot` command line: `main` parses and dispatches; `rules`, `feeds` and `ops` hold
the subcommands, `doctor` the start-up checks, `feed_report` the feed table and `demo`
the offline demonstration."""
