#!/usr/bin/env bash
# npm start — installs what is missing, builds, and runs the marketplace on the embedded default:
# SQLite under ./data (VIRTUOSO_DATA_DIR), the API serving the built SPA, swagger-ui at /api/docs,
# and two local provider agents on loopback for the demo provider's two hosts.
set -euo pipefail
cd "$(dirname "$0")/.."
export NX_DAEMON=false NX_NO_CLOUD=true

# Debian packages (QEMU, the guest-image tools) and npm packages, when missing: the same script as npm test and CI.
bash tools/setup.sh start

# About 90 s on a fresh clone (TypeScript and the SPA bundle), seconds afterwards (Nx's cache): name each step.
echo "== building the API, the provider agent, the web app and the libraries"
set +o pipefail
npx nx run-many -t build --outputStyle=static 2>&1 | grep --line-buffered -E '^> nx run |Successfully ran|Running target|failed' | sed -u 's/^> nx run \([^ ]*\).*/   building \1/'
built=${PIPESTATUS[0]}
set -o pipefail
[ "$built" = 0 ] || { echo "the build failed: run 'npx nx run-many -t build' to see why" >&2; exit 1; }
echo "== guest images (built once from Debian's kernel and busybox, then cached)"
bash tools/guest-image/build.sh >/dev/null

export VIRTUOSO_DATA_DIR="${VIRTUOSO_DATA_DIR:-$PWD/data}"
export VIRTUOSO_PORT="${VIRTUOSO_PORT:-8080}"
mkdir -p "$VIRTUOSO_DATA_DIR"

children=()
stop_all() {
  trap - INT TERM EXIT
  # Agents first (their VMs keep running and are found again on the next start), then the API.
  for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_all INT TERM EXIT

echo "== starting Virtuoso (data in $VIRTUOSO_DATA_DIR)"
node apps/api/dist/main.js &
children+=($!)
for _ in $(seq 1 300); do
  node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' \
    "http://127.0.0.1:$VIRTUOSO_PORT/api/health" && break
  kill -0 "${children[0]}" 2>/dev/null || exit 1
  sleep 0.2
done

# The demo provider's hosts get local agents (a join token the first time, agent.json afterwards).
demo="$VIRTUOSO_DATA_DIR/demo-agents.json"
if [ -f "$demo" ]; then
  demo_index=0
  while IFS=$'\t' read -r host dir port console token frontend; do
    mkdir -p "$dir"
    # Each demo agent also runs its transfer sshd (port + 200: 7301, 7302), so machines migrate between
    # them and join their buyers' private networks, and forwards its guests' ports (ssh first) from a
    # range of its own (20000-20099 for the first, 20100-20199 for the second).
    first=$((20000 + 100 * demo_index))
    demo_index=$((demo_index + 1))
    args=(--frontend "$frontend" --data "$dir" --port "$port" --console-port "$console" --ssh-port $((port + 200))
      --port-range "$first-$((first + 99))")
    [ "$token" != "-" ] && args+=(--join "$token")
    echo "== starting the provider agent of $host on 127.0.0.1:$port (data in $dir)"
    node apps/provider-agent/dist/main.js "${args[@]}" > "$dir.log" 2>&1 &
    children+=($!)
  done < <(node -e '
    const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    for (const a of d.agents) console.log([a.host, a.dataDir, a.port, a.consolePort, a.token ?? "-", d.frontend].join("\t"));
  ' "$demo")
fi

echo
echo "Virtuoso is running at http://127.0.0.1:$VIRTUOSO_PORT/ (API docs: http://127.0.0.1:$VIRTUOSO_PORT/api/docs)"
echo "Demo logins: buyer demo-buyer / demo-buyer-pw, provider demo-provider / demo-provider-pw. Ctrl-C stops it."
wait "${children[0]}"
