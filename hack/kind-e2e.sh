#!/usr/bin/env bash
# `make kind-e2e`: modelgate running IN a kind cluster, installed by the Helm chart from the
# image built here, smoke-tested through kubectl (hack/smoke.sh). For machines with Docker; without it this says
# what is missing and exits 2. (`make test-e2e` is the Docker-free variant: a local control
# plane with the webhook outside it.)
#
# Steps: create cluster -> build image -> load it into kind -> namespace + demo key Secret ->
# helm install (--wait) -> hack/smoke.sh -> delete the cluster (KEEP_CLUSTER=1 keeps it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$root/.tools/bin:$PATH"
cd "$root"

CLUSTER=${KIND_CLUSTER_NAME:-modelgate-e2e}
NAMESPACE=modelgate
RELEASE=modelgate
IMAGE=modelgate:e2e
KEEP_CLUSTER=${KEEP_CLUSTER:-0}

missing=()
command -v docker >/dev/null || missing+=("docker (the CLI; https://docs.docker.com/engine/install/)")
if command -v docker >/dev/null && ! docker info >/dev/null 2>&1; then
  missing+=("a running Docker engine (the docker CLI is there, but 'docker info' cannot reach a daemon)")
fi
command -v kind >/dev/null || missing+=("kind (go install sigs.k8s.io/kind@latest, or https://kind.sigs.k8s.io)")
command -v helm >/dev/null || missing+=("helm (make tools builds it into .tools/bin)")
command -v kubectl >/dev/null || missing+=("kubectl (make tools builds it into .tools/bin)")
command -v npx >/dev/null || missing+=("node/npx (make setup)")
if ((${#missing[@]} > 0)); then
  echo "kind-e2e: cannot run here; missing:" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  echo "kind-e2e: without Docker, 'make test-e2e' runs the same suite on a local control plane." >&2
  exit 2
fi

work=$(mktemp -d)
export KUBECONFIG="$work/kubeconfig"
cleanup() {
  local rc=$?
  if [[ $rc -ne 0 ]]; then
    echo "kind-e2e: failed; webhook pods and logs:" >&2
    kubectl -n "$NAMESPACE" get pods -o wide >&2 || true
    kubectl -n "$NAMESPACE" logs -l "app.kubernetes.io/instance=$RELEASE" --tail=100 >&2 || true
  fi
  if [[ "$KEEP_CLUSTER" == 1 ]]; then
    echo "kind-e2e: keeping cluster $CLUSTER (KUBECONFIG=$KUBECONFIG); delete with: kind delete cluster --name $CLUSTER"
  else
    kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT

echo "kind-e2e: creating cluster $CLUSTER"
kind create cluster --name "$CLUSTER" --kubeconfig "$KUBECONFIG" --wait 180s

echo "kind-e2e: building $IMAGE"
docker build -t "$IMAGE" "$root"
kind load docker-image "$IMAGE" --name "$CLUSTER"

# The examples' demo key (never a real one): hack/smoke.sh applies examples/*.yaml signed with it.
kubectl create namespace "$NAMESPACE"
kubectl -n "$NAMESPACE" create secret generic modelgate-keys --from-file="ci-2026=$root/examples/keys/ci-2026"

echo "kind-e2e: installing the chart"
helm install "$RELEASE" "$root/charts/modelgate" \
  --namespace "$NAMESPACE" \
  --set keys.existingSecret=modelgate-keys \
  --set image.repository=modelgate --set image.tag=e2e --set image.pullPolicy=Never \
  --wait --timeout 5m

# The self-managed TLS mode fills the caBundle and sets failurePolicy (installed as Ignore) to
# Fail once a pod answers; wait until both are there.
for _ in $(seq 1 60); do
  ca=$(kubectl get validatingwebhookconfiguration "$RELEASE" -o jsonpath='{.webhooks[0].clientConfig.caBundle}')
  fp=$(kubectl get validatingwebhookconfiguration "$RELEASE" -o jsonpath='{.webhooks[0].failurePolicy}')
  [[ -n "$ca" && "$fp" == Fail ]] && break
  sleep 2
done
[[ -n "$ca" ]] || { echo "kind-e2e: the webhook's caBundle was never filled in" >&2; exit 1; }
[[ "$fp" == Fail ]] || { echo "kind-e2e: the webhook's failurePolicy is $fp, never set to Fail" >&2; exit 1; }

# What runs against kind is the chart-installed webhook seen through kubectl (hack/smoke.sh).
# The full suite (make test-e2e) needs a control plane it drives itself: it stops and restarts
# the webhook, swaps its keys directory and reads its log, which an in-cluster install does not
# allow; it runs without Docker on every machine, CI included.
echo "kind-e2e: smoke-testing the installed webhook"
bash "$root/hack/smoke.sh"
