#!/usr/bin/env bash
# npm start — installs what is missing, builds, and runs the marketplace on the embedded default:
# SQLite under ./data (VIRTUOSO_DATA_DIR), the API serving the built SPA, swagger-ui at /api/docs.
set -euo pipefail
cd "$(dirname "$0")/.."
export NX_DAEMON=false NX_NO_CLOUD=true

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== installing npm packages"
  npm ci --no-audit --no-fund
fi

echo "== building"
npx nx run-many -t build --outputStyle=static >/dev/null

export VIRTUOSO_DATA_DIR="${VIRTUOSO_DATA_DIR:-$PWD/data}"
mkdir -p "$VIRTUOSO_DATA_DIR"
echo "== starting Virtuoso (data in $VIRTUOSO_DATA_DIR)"
exec node apps/api/dist/main.js
