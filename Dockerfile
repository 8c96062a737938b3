# syntax=docker/dockerfile:1
#
# evbot: install the locked dependencies (every file checked against its hash
# in requirements.lock) and then evbot itself, without resolving anything, into
# a virtualenv in one stage; copy that virtualenv into a clean slim image in the
# next, and run as an unprivileged user.
#
#   docker build -t evbot .
#   docker run --env-file .env -v evbot-data:/app/data evbot
#
# The default database is SQLite in the /app/data volume; docker-compose.yml
# runs it with PostgreSQL 16 instead.

ARG PYTHON_VERSION=3.11

# ---- builder: the virtualenv, no build tools left behind ---------------------
FROM python:${PYTHON_VERSION}-slim AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY requirements.lock ./
RUN /opt/venv/bin/pip install --require-hashes -r requirements.lock
# Only what the package needs: tests, benchmarks and docs stay out of the image.
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY feeds ./feeds
COPY rules ./rules
RUN /opt/venv/bin/pip install --no-deps . \
 && /opt/venv/bin/pip check

# ---- runtime ---------------------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim AS runtime
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH \
    EVBOT_HTTP_PORT=8080 \
    EVBOT_HTTP_HOST=0.0.0.0 \
    EVBOT_DATABASE_URL=sqlite:////app/data/evbot.sqlite3

RUN groupadd --system --gid 10001 evbot \
 && useradd --system --uid 10001 --gid evbot --home-dir /app --shell /usr/sbin/nologin evbot \
 && mkdir -p /app/data \
 && chown evbot:evbot /app/data

# Same base image and path as the builder, so the virtualenv works as copied.
COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
USER evbot:evbot
VOLUME ["/app/data"]
EXPOSE 8080

# slim has no curl: ask /healthz with the standard library. A 503 raises
# HTTPError, so the probe exits non-zero exactly when evbot reports trouble.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('EVBOT_HTTP_PORT', '8080'), timeout=4)"]

# `docker stop` sends SIGTERM; evbot finishes in-flight sends and exits.
STOPSIGNAL SIGTERM
ENTRYPOINT ["evbot"]
CMD ["run"]
