# Chimera Insight Slack bot.  Build: docker build -t chimera-insight .
# Socket Mode (default) opens no port: the container only makes outbound connections.
# HTTP mode: -e SLACK_MODE=http -e SLACK_SIGNING_SECRET=... -p 3000:3000; /health is then probed.
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
RUN pip install . \
    && useradd --create-home --uid 10001 chimera \
    && mkdir -p /data /archives \
    && chown chimera:chimera /data

USER chimera
VOLUME ["/data"]
EXPOSE 3000

# In HTTP mode this checks the server; in Socket Mode there is no port, so the check passes
# trivially (the process itself is the health signal: it exits on a fatal error).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import os,sys,urllib.request; m=os.environ.get('SLACK_MODE','socket').lower(); sys.exit(0) if m!='http' else urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('HTTP_PORT','3000'), timeout=4)"

STOPSIGNAL SIGTERM
CMD ["chimera", "serve"]
