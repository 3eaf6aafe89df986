# termserver: FHIR terminology server.
# Build: docker build -t termserver .
# Run:   docker run -p 8080:8080 -v ts-data:/data termserver         (serves what /data holds)
# Demo:  docker run -p 8080:8080 -v ts-data:/data -e TERMSERVER_DEMO=1 termserver
# Load:  docker run --rm -v ts-data:/data -v "$PWD":/in termserver termserver load /in/x.tgz
# PostgreSQL instead of /data: -e TERMSERVER_DB=postgresql+psycopg://USER:PASSWORD@HOST/DB
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

FROM base AS build
WORKDIR /src
RUN python -m venv /opt/venv
# Dependencies first, from the lock file alone: this layer is reused until requirements.lock
# changes (regenerate it with `make lock`).
COPY requirements.lock ./
RUN /opt/venv/bin/pip install --no-cache-dir -r requirements.lock
# Then the code (its dependencies are all in the lock file; `pip check` proves it).
COPY pyproject.toml README.md ./
COPY termserver termserver
COPY loaders loaders
COPY mappings mappings
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps . && /opt/venv/bin/pip check

FROM base
RUN useradd --no-log-init --create-home --uid 10001 --user-group termserver \
    && mkdir /data && chown 10001:10001 /data
COPY --from=build /opt/venv /opt/venv
COPY demo /opt/termserver/demo
ENV PATH=/opt/venv/bin:$PATH \
    TERMSERVER_DB=sqlite:////data/termserver.db \
    TERMSERVER_DEMO_DIR=/opt/termserver/demo
USER 10001
VOLUME /data
EXPOSE 8080
# /livez needs no token, even with TERMSERVER_READ_TOKENS set; the start period covers a
# first start with TERMSERVER_DEMO=1 (the demo load runs before the port is served).
HEALTHCHECK --interval=30s --timeout=5s --start-period=300s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/livez', timeout=4)"]
CMD ["termserver", "serve", "--host", "0.0.0.0", "--port", "8080"]
