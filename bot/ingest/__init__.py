"""Ingest: the poll job that fetches due feeds, decides what is new, classifies it and
stores it with its outbox rows (`poll`), and hot reload of the rules and catalog files
(`reloader`)."""
