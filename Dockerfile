# Paceboard server image: SQLite in the /data volume by default; set PACEBOARD_DATABASE_URL to a
# PostgreSQL database to run several of these behind a load balancer (docs/deployment.md,
# compose.yaml). No Docker engine runs on the build machines: tests/test_packaging.py checks this
# file's promises (slim base, non-root, health check, /data), a real build is the release step.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PACEBOARD_DATA_DIR=/data \
    PACEBOARD_HOST=0.0.0.0 \
    PACEBOARD_PORT=8000 \
    PACEBOARD_LOG_FORMAT=json

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin paceboard \
    && mkdir -p /data && chown paceboard /data

USER 10001
VOLUME ["/data"]
EXPOSE 8000
# Liveness: the process answers. (Load balancers should use /readyz: database and schema.)
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)" || exit 1
# `docker stop` sends SIGTERM: requests in flight finish (PACEBOARD_SHUTDOWN_SECONDS, 20 s), so
# give the container longer than that: docker stop -t 30, stop_grace_period: 30s in compose.
STOPSIGNAL SIGTERM
CMD ["paceboard", "serve"]
