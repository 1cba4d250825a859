# Chimera Insight Slack bot.  Build: docker build -t chimera-insight .
# Socket Mode (default) opens no port: the container only makes outbound connections; HEALTH_PORT
# (compose.yaml sets 3000) serves the probes. HTTP mode: -e SLACK_MODE=http -e SLACK_SIGNING_SECRET=...
# -p 3000:3000. Probes: GET /health (liveness), GET /health/ready (readiness: database, scheduler, pools).
# The image holds the PostgreSQL driver (the 'postgres' extra): several replicas share one PostgreSQL
# (README "Running several replicas", compose.yaml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLBACKEND=Agg \
    MPLCONFIGDIR=/tmp/matplotlib \
    HTTP_PORT=3000 \
    WORK_DIR=/data/work \
    DATABASE_URL=sqlite:////data/chimera.sqlite3 \
    STORAGE_ROOTS=/archives

WORKDIR /app
COPY pyproject.toml README.md* ./
COPY bot ./bot
COPY handlers ./handlers
RUN pip install ".[postgres]" \
    && useradd --create-home --uid 10001 chimera \
    && mkdir -p /data /archives \
    && chown chimera:chimera /data

USER chimera
VOLUME ["/data"]
EXPOSE 3000

# Liveness: the process serves requests (HTTP_PORT in HTTP mode, HEALTH_PORT in Socket Mode). With
# neither, Socket Mode has no port and the check passes trivially (the process exits on a fatal
# error). Readiness (/health/ready) is for load balancers and orchestrators.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import os,sys,urllib.request; m=os.environ.get('SLACK_MODE','socket').lower(); p=os.environ.get('HTTP_PORT','3000') if m=='http' else os.environ.get('HEALTH_PORT'); sys.exit(0) if not p else urllib.request.urlopen('http://127.0.0.1:%s/health' % p, timeout=4)"

STOPSIGNAL SIGTERM
CMD ["chimera", "serve"]
