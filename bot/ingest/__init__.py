"""Ingest: the poll job that fetches due feeds (`poll`: the loop, its claims, tasks and
passes), what each poll becomes in the database (`outcome`: fetch record and next due
time, decisions, classification within a budget via `classify`, alerts, one
transaction), WebSub pushes (`websub`) and hot reload of the rules and catalog files
(`reloader`)."""
