#!/usr/bin/env bash
# Installs the interop harness's dependencies: npm packages from the committed lockfile and a
# Python venv at interop/.venv from the fully pinned interop/python/requirements.txt.
# Idempotent and quiet; safe to run before every test run.
set -euo pipefail
INTEROP="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$INTEROP"

# npm: reinstall only when the lockfile changed since the last install.
stamp="node_modules/.tidings-lock-stamp"
if [[ ! -f "$stamp" ]] || ! cmp -s package-lock.json "$stamp"; then
  timeout 600 npm ci --no-audit --no-fund --loglevel=error >/dev/null
  cp package-lock.json "$stamp"
fi

# Python: create the venv once, then install only when requirements.txt changed.
if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv
fi
pystamp=".venv/.tidings-req-stamp"
if [[ ! -f "$pystamp" ]] || ! cmp -s python/requirements.txt "$pystamp"; then
  timeout 600 .venv/bin/pip install --quiet --disable-pip-version-check -r python/requirements.txt
  cp python/requirements.txt "$pystamp"
fi
echo "interop setup: ok (node $(node --version), $(.venv/bin/python --version))"
