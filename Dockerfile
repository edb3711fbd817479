# Paceboard server image. SQLite data lives in the /data volume; point PACEBOARD_DATABASE_URL
# at PostgreSQL to scale out. (No Docker engine runs on the build machines: this file is
# reviewed, not built, in CI.)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PACEBOARD_DATA_DIR=/data \
    PACEBOARD_HOST=0.0.0.0 \
    PACEBOARD_PORT=8000

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /data paceboard \
    && mkdir -p /data && chown paceboard /data

USER paceboard
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s \
    CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)" || exit 1
CMD ["paceboard", "serve"]
