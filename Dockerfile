# One image for every Relais component. The bases are build arguments, so that a
# machine without an image registry builds the same file on images of its own
# (devtools/offline_image.py: a Debian base made by debootstrap, and the web
# files as scripts/lib.sh built them); everyone else keeps the defaults.
# No `# syntax=` line: BuildKit would fetch that front end from a registry.
ARG PYTHON_IMAGE=python:3.11-slim
ARG NODE_IMAGE=node:20-slim
ARG WEB_ASSETS=web-assets-from-npm

# The web pages' browser files (Leaflet), from the npm registry at the versions
# pinned in web/package-lock.json; only the built files reach the image.
FROM ${NODE_IMAGE} AS web-assets-from-npm
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && mkdir -p /vendor/leaflet \
 && cp -r node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css \
        node_modules/leaflet/dist/images /vendor/leaflet/

# /vendor from npm above, or from an image given as WEB_ASSETS.
FROM ${WEB_ASSETS} AS web-assets

# One image for every Relais component (gateway, web, identity, booking, billing,
# notify); the command picks the component (see docker-compose.yml, deploy/k8s).
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# tini as PID 1 forwards signals and reaps zombies (gunicorn workers, subprocesses).
# Pango, HarfBuzz, fontconfig and DejaVu: WeasyPrint renders billing's PDF invoices
# with them (the same list as ensure_pdf_libraries in scripts/lib.sh). Installed
# only if the base lacks them (a base made offline has them already).
RUN packages="tini libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 libfontconfig1 fonts-dejavu-core" \
 && if ! dpkg -s $packages >/dev/null 2>&1; then \
        apt-get update \
        && apt-get install -y --no-install-recommends $packages \
        && rm -rf /var/lib/apt/lists/*; \
    fi \
 && groupadd --system --gid 10001 relais \
 && useradd --system --uid 10001 --gid relais --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin relais

WORKDIR /app

# Runtime dependencies first, from pyproject.toml alone, so that a code change
# does not reinstall them (a cached layer).
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip install --no-cache-dir -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# Then the project itself. The source stays in /app (owned by root, read-only
# for the app user): commands run from here, and they find
# gateway/gunicorn.conf.py and services/<name>/migrations relative to it.
# Byte-code is compiled now, since the running containers cannot write it.
COPY . .
COPY --from=web-assets /vendor web/static/vendor
RUN pip install --no-cache-dir . \
 && rm -rf build *.egg-info \
 && python -m compileall -q /app

# A numeric uid, so that Kubernetes can verify runAsNonRoot.
USER 10001:10001

EXPOSE 8080 8090 8001 8002 8003 8004
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["gunicorn", "-c", "gateway/gunicorn.conf.py", "--bind", "0.0.0.0:8080", "gateway.app:app"]
