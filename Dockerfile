# Doorstep web and worker image: `docker compose up` (compose.yaml) runs it as gunicorn (web) and
# `python -m backend.worker` (worker). Python packages from the hash-locked requirements.lock;
# the PWA's vendored libraries (Leaflet, Swagger UI) from npm at build time.
# Python 3.11: the version requirements.lock was resolved for.

FROM node:22-bookworm-slim AS vendor
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
RUN mkdir -p pwa/vendor/swagger-ui-dist \
 && cp -r node_modules/leaflet/dist pwa/vendor/leaflet \
 && cp node_modules/swagger-ui-dist/swagger-ui.css node_modules/swagger-ui-dist/swagger-ui-bundle.js \
       node_modules/swagger-ui-dist/swagger-ui-standalone-preset.js pwa/vendor/swagger-ui-dist/

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FLASK_APP=wsgi.py \
    DOORSTEP_INSTANCE=/var/lib/doorstep \
    PROMETHEUS_MULTIPROC_DIR=/run/doorstep-metrics \
    GUNICORN_BIND=0.0.0.0:8000

# fonts-wqy-microhei: the Chinese names on agreement PDFs
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-wqy-microhei=0.2.0-beta-3.1 \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 doorstep \
 && useradd --system --uid 10001 --gid doorstep --home-dir /srv/doorstep --shell /usr/sbin/nologin doorstep

WORKDIR /srv/doorstep
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock

COPY --chown=root:root backend backend
COPY --chown=root:root migrations migrations
COPY --chown=root:root pwa pwa
COPY --chown=root:root wsgi.py gunicorn.conf.py ./
COPY --from=vendor /build/pwa/vendor pwa/vendor

RUN mkdir -p /var/lib/doorstep /run/doorstep-metrics \
 && chown doorstep:doorstep /var/lib/doorstep /run/doorstep-metrics

USER 10001:10001
EXPOSE 8000
# the web's health check is in compose.yaml (the worker runs this image without a web server)
CMD ["gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"]
