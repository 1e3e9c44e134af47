#!/usr/bin/env bash
# Builds the end-to-end test tools (etcd, kube-apiserver, kube-controller-manager, kubectl,
# helm) and the bench's second load generator (hey) from their Go modules into .tools/bin,
# once. A binary that is already there, built from the same pinned go.mod, is never rebuilt:
# a cold build takes a long while on 2 cores.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
bin="${TOOLS_BIN:-$root/.tools/bin}"
mkdir -p "$bin"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0

if ! command -v go >/dev/null; then
  echo "build-tools: Go (>= 1.26) is needed to build the control plane; install it first" >&2
  exit 2
fi

# stamp = hash of the wrapper module files: a changed pin rebuilds, nothing else does.
stamp() { cat "$here/$1"/go.* "$here/$1"/*.go 2>/dev/null | sha256sum | cut -c1-16; }

build() { # build DIR PACKAGE OUTPUT [LDFLAGS]
  local dir=$1 pkg=$2 out=$3 ldflags="-s -w ${4:-}" s
  s=$(stamp "$dir")-$(printf '%s' "$ldflags" | sha256sum | cut -c1-8)
  if [[ -x "$bin/$out" && -f "$bin/.$out.stamp" && "$(cat "$bin/.$out.stamp")" == "$s" ]]; then
    echo "build-tools: $out is up to date"
    return
  fi
  echo "build-tools: building $out from $pkg ..."
  local t0=$SECONDS
  (cd "$here/$dir" && go build -trimpath -ldflags="$ldflags" -o "$bin/$out.tmp" "$pkg")
  mv "$bin/$out.tmp" "$bin/$out"
  echo "$s" > "$bin/.$out.stamp"
  echo "build-tools: $out built in $((SECONDS - t0))s"
}

# What helm's own Makefile stamps in: its version, and the Kubernetes version its client-go
# module implies (charts' kubeVersion constraints are checked against it; unset, it says 1.20).
helm_ldflags() {
  local v minor
  v=$(cd "$here/helm" && go list -m -f '{{.Version}}' helm.sh/helm/v3)
  minor=$(cd "$here/helm" && go list -m -f '{{.Version}}' k8s.io/client-go | cut -d. -f2)
  printf -- '-X helm.sh/helm/v3/internal/version.version=%s' "$v"
  for p in pkg/lint/rules pkg/chartutil; do
    printf -- ' -X helm.sh/helm/v3/%s.k8sVersionMajor=1 -X helm.sh/helm/v3/%s.k8sVersionMinor=%s' "$p" "$p" "$minor"
  done
}

want=("$@")
[[ ${#want[@]} -eq 0 ]] && want=(etcd kube-apiserver kube-controller-manager kubectl helm hey)
for t in "${want[@]}"; do
  case $t in
    etcd) build etcd . etcd ;;
    kube-apiserver|kube-controller-manager|kubectl) build kube "k8s.io/kubernetes/cmd/$t" "$t" ;;
    helm) build helm helm.sh/helm/v3/cmd/helm helm "$(helm_ldflags)" ;;
    hey) build hey github.com/rakyll/hey hey ;;
    # The bench's side-by-side (bench/peers.ts): a standard-library no-op webhook, and Kyverno
    # only with BENCH_PEERS=1 (its module's go.sum is written by the first build).
    noop-webhook) build noop-webhook . noop-webhook ;;
    kyverno) build kyverno github.com/kyverno/kyverno/cmd/kyverno kyverno ;;
    *) echo "build-tools: unknown tool $t" >&2; exit 2 ;;
  esac
done
