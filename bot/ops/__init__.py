"""Operations: the HTTP server (`/healthz`, `/metrics`), Prometheus metrics and logging
(one line or one JSON object per event, the token masked)."""
