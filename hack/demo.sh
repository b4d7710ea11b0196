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

# waitfor FILE PIDFILE: wait until FILE has content, or fail as soon as the process is gone.
waitfor() {
  for _ in $(seq 1 240); do
    [ -s "$1" ] && return 0
    kill -0 "$(cat "$2")" 2>/dev/null || return 1
    sleep 0.5
  done
  return 1
}

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
nohup bin/localcluster --kubeconfig-out "$state/kubeconfig" >"$state/localcluster.log" 2>&1 &
echo $! >"$state/localcluster.pid"
waitfor "$state/kubeconfig" "$state/localcluster.pid" || { echo "demo: control plane did not start; see $state/localcluster.log" >&2; exit 1; }

echo "demo: starting the platform sandboxes"
limits=--unlimited
[ "${DEMO_RATE_LIMITS:-off}" = on ] && limits=
oauth_url=http://127.0.0.1:18072
nohup bin/sandbox --host 127.0.0.1 --port 18081 --orders "${DEMO_ORDERS:-3000}" $limits --secrets "$state/secrets.yaml" \
  --oauth-redirect "$oauth_url/oauth/callback" \
  >"$state/sandbox.log" 2>&1 &
echo $! >"$state/sandbox.pid"
waitfor "$state/secrets.yaml" "$state/sandbox.pid" || { echo "demo: sandboxes did not start; see $state/sandbox.log" >&2; exit 1; }
cat "$state/sandbox.log"

echo "demo: starting the manager"
nohup bin/manager --store "$state/tether.db" --metrics-bind-address 127.0.0.1:18070 \
  --health-probe-bind-address 127.0.0.1:18071 --oauth-bind-address 127.0.0.1:18072 --oauth-external-url "$oauth_url" \
  --oauth-key-secret default/tether-oauth-key >"$state/manager.log" 2>&1 &
echo $! >"$state/manager.pid"

echo "demo: applying the sandbox credentials and config/samples"
"$kubectl" apply -f "$state/secrets.yaml"
"$kubectl" apply -k config/samples
echo "demo: waiting for the integrations to connect and finish their first sync"
"$kubectl" wait --for=condition=Ready integrations --all --timeout=10m
"$kubectl" wait --for=condition=Ready channels --all --timeout=1m >/dev/null

echo
"$kubectl" get integrations,channels
echo
echo "Synced records:"
"$kubectl" get integrations -o jsonpath='{range .items[*]}{.metadata.name}{":"}{range .status.progress[*]}{" "}{.entity}{"="}{.total}{end}{"\n"}{end}'

echo
echo "demo: adding a Shopify integration that connects with OAuth (auth.type OAuth)"
"$kubectl" apply -f - <<'YAML'
apiVersion: integrations.tether.io/v1alpha1
kind: Integration
metadata:
  name: acme-shopify-oauth
  namespace: default
spec:
  platform: Shopify
  connection:
    shopDomain: acme.myshopify.com
    endpoint: http://127.0.0.1:18081
  auth:
    type: OAuth
    secretRef:
      name: acme-shopify-app
YAML
"$kubectl" wait --for=jsonpath='{.status.state}'=Disconnected integration/acme-shopify-oauth --timeout=2m >/dev/null
echo "It waits for an admin. Open this link in a browser on this machine, log in with the Shopify merchant login"
echo "printed in $state/sandbox.log and press Authorize; it then turns Connected and syncs:"
"$kubectl" get integration acme-shopify-oauth -o jsonpath='{.status.authorization.connectURL}{"\n"}'
echo
echo "It keeps running. To look around:"
echo "  export KUBECONFIG=$state/kubeconfig"
echo "  bin/k8s/kubectl get integrations -o wide; bin/k8s/kubectl describe integration acme-shopify"
echo "Logs are in $state/. Stop it all with: make demo-down"
