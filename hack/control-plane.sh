#!/usr/bin/env bash
# Builds the local control-plane binaries (kube-apiserver, etcd, kubectl) from the Go module proxy
# into bin/k8s, once. envtest finds them through KUBEBUILDER_ASSETS=bin/k8s.
# Cached binaries are reused as long as the tool module that pins them has not changed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/bin/k8s"
mkdir -p "$out"

# build NAME MODULE_DIR PACKAGE: build PACKAGE from the tool module in MODULE_DIR unless the cached binary
# was built from the same go.sum.
build() {
  local name=$1 moddir=$2 pkg=$3
  local stamp="$out/.$name.stamp"
  local want
  want=$(cat "$moddir/go.mod" "$moddir/go.sum" | sha256sum | cut -d' ' -f1)
  if [ -x "$out/$name" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "control-plane: $name is cached"
    return
  fi
  echo "control-plane: building $name from $pkg (first time only; kube-apiserver takes several minutes on 2 cores)"
  local start=$SECONDS
  # -v prints each package as it is compiled, so a long build shows progress; we print a count instead of the list.
  (cd "$moddir" && CGO_ENABLED=0 go build -v -trimpath -ldflags='-s -w' -o "$out/$name.tmp" "$pkg" 2>&1) |
    awk -v n="$name" '{c++; if (c % 100 == 0) {printf "control-plane: %s: %d packages compiled\n", n, c; fflush()}} /^(#|.*\.go:[0-9]+)/ {print; fflush()}'
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "control-plane: building $name failed" >&2; exit 1; }
  mv "$out/$name.tmp" "$out/$name"
  echo "$want" > "$stamp"
  echo "control-plane: built $name in $((SECONDS - start))s"
}

build etcd "$root/hack/tools/etcd" go.etcd.io/etcd/server/v3
build kube-apiserver "$root/hack/tools/kube" k8s.io/kubernetes/cmd/kube-apiserver
build kubectl "$root/hack/tools/kube" k8s.io/kubernetes/cmd/kubectl
