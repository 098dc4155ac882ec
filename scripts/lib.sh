# Shared by scripts/run and scripts/test: make this machine ready, idempotently.
# Sourced, not run. Leaves ROOT, VENV and PY set.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# ensure_debian_packages WHAT PACKAGE...: apt-get install (without recommends)
# the packages not installed yet, saying WHAT.
ensure_debian_packages() {
  local what="$1"; shift
  if ! dpkg -s "$@" >/dev/null 2>&1; then
    say "installing Debian's $what"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  fi
}

ensure_postgres() {
  if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    say "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
    for _ in $(seq 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
  fi
}

rabbitmq_answers() {
  curl -fsS -u guest:guest http://127.0.0.1:15672/api/overview >/dev/null 2>&1 &&
    curl -fsS http://127.0.0.1:15692/metrics >/dev/null 2>&1
}

ensure_rabbitmq() {
  # Asked over HTTP first: several rabbitmqctl calls at once (two checkouts
  # starting their tests) can crash RabbitMQ 3.10's management agent
  # (rabbit_net:dist_info case_clause), after which /api/overview answers 500.
  rabbitmq_answers && return 0
  if ! rabbitmqctl -q status >/dev/null 2>&1; then
    say "starting RabbitMQ"
    rabbitmq-server -detached
    for _ in $(seq 60); do rabbitmqctl -q status >/dev/null 2>&1 && break; sleep 1; done
  fi
  # nameko's test fixtures create a vhost per test through the management API;
  # Prometheus scrapes the broker's own metrics (queue depths, dead letters) on :15692.
  local enabled
  enabled=$(rabbitmq-plugins list -e -m 2>/dev/null)
  if grep -qx rabbitmq_management <<<"$enabled" &&
      [ "$(curl -s -o /dev/null -w '%{http_code}' -u guest:guest http://127.0.0.1:15672/api/overview)" = 500 ]; then
    say "restarting RabbitMQ's crashed management agent"
    rabbitmq-plugins disable rabbitmq_prometheus rabbitmq_management rabbitmq_management_agent >/dev/null
    enabled=""
  fi
  for plugin in rabbitmq_management rabbitmq_prometheus; do
    if ! grep -qx "$plugin" <<<"$enabled"; then
      say "enabling RabbitMQ's $plugin plugin"
      rabbitmq-plugins enable "$plugin" >/dev/null
    fi
  done
  for _ in $(seq 30); do
    rabbitmq_answers && return 0
    sleep 1
  done
  echo "RabbitMQ's management API did not come up" >&2; return 1
}

ensure_redis() {
  # The gateway's attempt limits (log-in, invitations, SCIM) live in Redis,
  # started on every machine of this kind; start it if it is not running.
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    say "starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 >/dev/null
    for _ in $(seq 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
  fi
}

ensure_venv() {
  if [ ! -x "$PY" ]; then
    say "creating the virtualenv in .venv"
    python3 -m venv "$VENV"
  fi
  local stamp="$VENV/.relais-installed"
  if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
    say "installing Python dependencies"
    "$PY" -m pip install -q --upgrade pip
    "$PY" -m pip install -q -e "$ROOT[test]"
    touch "$stamp"
  fi
}

ensure_pdf_libraries() {
  # WeasyPrint (billing's PDF invoices) loads Pango, HarfBuzz and fontconfig
  # from the system, and the page names DejaVu Sans, which PDF/A embeds.
  # harfbuzz-subset is optional for WeasyPrint but subsets fonts much faster.
  local packages="libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 libfontconfig1 fonts-dejavu-core"
  # shellcheck disable=SC2086
  if ! dpkg -s $packages >/dev/null 2>&1; then
    say "installing WeasyPrint's libraries and fonts from Debian"
    # shellcheck disable=SC2086
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null
  fi
}

ensure_docker_compose() {
  # Only the deployment tests need it: they validate docker-compose.yml statically.
  if ! command -v docker-compose >/dev/null 2>&1; then
    say "installing Debian's docker-compose (for 'docker-compose config')"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
  fi
}

ensure_image_tools() {
  # tests/image builds the Dockerfile and runs the image where no image registry
  # is reachable (devtools/offline_image.py): Debian's Docker engine and CLI, with
  # BuildKit built in (docker.io; the test starts dockerd if none runs),
  # debootstrap for the Debian base, and Debian's own Python with pip (the
  # image's Python) to make the wheelhouse.
  ensure_debian_packages "docker.io, debootstrap and python3-pip (for the image test)" \
    docker.io debootstrap python3-pip
}

# ensure_npm_packages DIR WHAT: npm ci in DIR when its package-lock.json is
# newer than what node_modules holds (Debian's npm installed first if missing).
ensure_npm_packages() {
  local dir="$1" what="$2"
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    if ! command -v npm >/dev/null 2>&1; then
      say "installing Debian's npm (for $what)"
      apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
    fi
    say "installing $what (npm ci in ${dir#"$ROOT"/})"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
}

ensure_web_assets() {
  # The web pages' browser files come from the npm registry at the versions
  # pinned in web/package-lock.json; static/vendor is rebuilt from them (not committed).
  local web="$ROOT/web" vendor="$ROOT/web/static/vendor"
  ensure_npm_packages "$web" "the web pages' browser files"
  if [ ! -f "$vendor/leaflet/leaflet.js" ] || [ "$web/package-lock.json" -nt "$vendor/leaflet/leaflet.js" ]; then
    mkdir -p "$vendor/leaflet"
    cp -r "$web/node_modules/leaflet/dist/leaflet.js" "$web/node_modules/leaflet/dist/leaflet.css" \
          "$web/node_modules/leaflet/dist/images" "$vendor/leaflet/"
    touch "$vendor/leaflet/leaflet.js"
  fi
}

ensure_oidc_provider() {
  # The single sign-on tests run a certified OpenID Provider on loopback
  # (npm's oidc-provider, pinned in tests/oidc/package-lock.json; node_modules not committed).
  ensure_npm_packages "$ROOT/tests/oidc" "the test OpenID Provider"
}

ensure_browser() {
  # The browser tests drive Debian's Chromium through Playwright (never a
  # browser download: Playwright's own builds are not fetched).
  if [ ! -x /usr/bin/chromium ]; then
    say "installing Debian's Chromium (for the browser tests)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
}

ensure_prometheus() {
  # scripts/run starts a Prometheus (and PostgreSQL's exporter) on the local
  # network; the tests run promtool on the alert rules and a Prometheus
  # against the test network.
  ensure_debian_packages "prometheus (prometheus, promtool) and prometheus-postgres-exporter" \
    prometheus prometheus-postgres-exporter
}
