#!/usr/bin/env bash
# Debian packages the tests need: a PostgreSQL 15 server, Prometheus (with promtool), and
# Chromium plus Node.js for the dashboard's browser test.
# Installs only what is missing, so it is cheap to run before every test run.
set -euo pipefail
need=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
command -v prometheus >/dev/null && command -v promtool >/dev/null || need+=(prometheus)
command -v runuser >/dev/null || need+=(util-linux)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v node >/dev/null && command -v npm >/dev/null || need+=(nodejs npm)
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing ${need[*]} (apt)"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
