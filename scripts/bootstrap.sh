#!/usr/bin/env bash
# Installs what Cardumen needs on a fresh Debian/Ubuntu machine, idempotently:
# PostgreSQL + PostGIS from the distribution, a Python venv in .venv, and the
# project with its dev extras. Sourced by scripts/up and scripts/test.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@";
  else echo "cardumen: need root (or sudo) to run: $*" >&2; return 1; fi
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" -eq 0 ]; then
    echo "==> apt-get update"; as_root apt-get update -qq; apt_updated=1
  fi
  echo "==> apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# PostgreSQL + PostGIS: the test suite and the embedded cluster use the server
# binaries directly, so only the packages are needed, not a running service.
# With DATABASE_URL set a remote server may be used, but tests still need the
# local binaries only when no DATABASE_URL is given.
pg_major() {
  # Prefer PostgreSQL 15 (what docker/compose.yaml pins); else the newest installed.
  for v in 15 17 16 14; do
    if [ -x "/usr/lib/postgresql/$v/bin/initdb" ] && \
       [ -f "/usr/share/postgresql/$v/extension/postgis.control" ]; then echo "$v"; return 0; fi
  done
  return 1
}
if [ -z "${DATABASE_URL:-}" ] && ! pg_major >/dev/null; then
  if [ "$apt_updated" -eq 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  if apt-cache show postgresql-15-postgis-3 >/dev/null 2>&1; then
    apt_install postgresql-15 postgresql-15-postgis-3
  else
    v="$(apt-cache depends postgresql 2>/dev/null | sed -n 's/.*Depends: postgresql-\([0-9][0-9]*\)$/\1/p' | head -n1)"
    apt_install "postgresql-$v" "postgresql-$v-postgis-3"
  fi
fi

PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; assert sys.version_info >= (3, 11)' 2>/dev/null; then
  echo "cardumen: Python >= 3.11 is required (found: $("$PY" --version 2>&1))" >&2; exit 1
fi
if [ ! -x .venv/bin/python ]; then
  if ! "$PY" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    apt_install python3-venv
    "$PY" -m venv .venv
  fi
fi
# Reinstall only when the dependency list changed, so a second run starts at once.
stamp=".venv/.cardumen-deps"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "==> pip install -e .[dev]"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  echo "$want" > "$stamp"
fi
