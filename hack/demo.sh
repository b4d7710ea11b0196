#!/usr/bin/env bash
# Local end to end: a control plane with the CRDs, the Shopify sandbox with a seeded store, the manager with the
# embedded store, and config/samples applied. Waits for the first sync, shows the result, and leaves it all
# running. `hack/demo.sh down` (or `make demo-down`) stops it.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
state=tmp/demo
kubectl="$root/bin/k8s/kubectl"
export KUBEBUILDER_ASSETS="$root/bin/k8s"
export KUBECONFIG="$root/$state/kubeconfig"

stop() {
  for p in manager sandbox localcluster; do
    if [ -f "$state/$p.pid" ]; then
      kill "$(cat "$state/$p.pid")" 2>/dev/null || true
      rm -f "$state/$p.pid"
    fi
  done
}

if [ "${1:-}" = "down" ]; then
  stop
  echo "demo: stopped"
  exit 0
fi

stop
rm -rf "$state"
mkdir -p "$state"

echo "demo: starting the control plane"
go build -o bin/localcluster ./hack/localcluster
nohup bin/localcluster --kubeconfig "$state/kubeconfig" >"$state/localcluster.log" 2>&1 &
echo $! >"$state/localcluster.pid"
for _ in $(seq 1 120); do [ -s "$state/kubeconfig" ] && break; sleep 0.5; done
[ -s "$state/kubeconfig" ] || { echo "demo: control plane did not start; see $state/localcluster.log" >&2; exit 1; }

echo "demo: starting the platform sandboxes"
nohup bin/sandbox --listen 127.0.0.1:18081 --platform Shopify --orders "${DEMO_ORDERS:-3000}" >"$state/sandbox.log" 2>&1 &
echo $! >"$state/sandbox.pid"

echo "demo: starting the manager"
nohup bin/manager --store "$state/tether.db" --metrics-bind-address 127.0.0.1:18080 \
  --health-probe-bind-address 127.0.0.1:18082 >"$state/manager.log" 2>&1 &
echo $! >"$state/manager.pid"

echo "demo: applying config/samples"
"$kubectl" apply -k config/samples
echo "demo: waiting for the integrations to connect and finish their first sync"
"$kubectl" wait --for=condition=Ready integrations --all --timeout=10m
"$kubectl" wait --for=jsonpath='{.status.orders}' channel/online-store --timeout=1m >/dev/null 2>&1 || true

echo
"$kubectl" get integrations,channels
echo
echo "Synced records:"
"$kubectl" get integrations -o jsonpath='{range .items[*]}{.metadata.name}{":"}{range .status.progress[*]}{" "}{.entity}{"="}{.total}{end}{"\n"}{end}'
echo
echo "It keeps running. To look around:"
echo "  export KUBECONFIG=$state/kubeconfig"
echo "  bin/k8s/kubectl get integrations -o wide; bin/k8s/kubectl describe integration acme-shopify"
echo "Logs are in $state/. Stop it all with: make demo-down"
