#!/usr/bin/env bash
# A smoke test of an installed modelgate, through kubectl only, against the cluster in
# $KUBECONFIG: the webhook must verify with the examples' key (examples/keys/ci-2026) and
# enforce in namespace ml-serving (the chart's default policy does). Used by `make kind-e2e`
# after `helm install`; works against `make demo` too.
#   signed Deployment admitted · tampered one refused with "modelgate: …" · server-side dry-run
#   refused without an Event · a ModelRejected Event for the real refusal · the controller's
#   ReplicaSet created (controller-made objects are not refused)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ns=ml-serving
fail() { echo "smoke: FAIL: $*" >&2; exit 1; }
ok() { echo "smoke: ok   $*"; }

kubectl get namespace "$ns" >/dev/null 2>&1 || kubectl create namespace "$ns" >/dev/null
kubectl -n "$ns" delete deployment fraud-detector --ignore-not-found >/dev/null

out=$(kubectl apply -f "$root/examples/signed-deployment.yaml" 2>&1) || fail "signed Deployment refused: $out"
ok "signed model admitted: $(head -1 <<<"$out")"

# Unique names: identical rejections are aggregated into one Event per window, so each check
# looks for the Event of its own object.
run=$(date +%s)
dry=tampered-dry-$run real=tampered-$run
tampered() { sed "s/name: fraud-detector-tampered/name: $1/" "$root/examples/tampered-deployment.yaml"; }
events_for() {
  kubectl -n "$ns" get events --field-selector "reason=ModelRejected,involvedObject.name=$1" -o name 2>/dev/null | wc -l
}

if out=$(tampered "$dry" | kubectl apply --dry-run=server -f - 2>&1); then
  fail "tampered Deployment admitted on dry-run: $out"
fi
grep -q 'denied the request: modelgate: ' <<<"$out" || fail "dry-run refusal is not modelgate's: $out"
ok "tampered model refused on server-side dry-run"

if out=$(tampered "$real" | kubectl apply -f - 2>&1); then
  fail "tampered Deployment admitted: $out"
fi
grep -q "denied the request: modelgate: Deployment ml-serving/$real denied: " <<<"$out" || fail "unexpected refusal: $out"
ok "tampered model refused: ${out#*denied the request: }"

for _ in $(seq 1 30); do (($(events_for "$real") > 0)) && break; sleep 1; done
(($(events_for "$real") == 1)) || fail "no ModelRejected Event for $real"
(($(events_for "$dry") == 0)) || fail "the dry-run wrote an Event"
ok "a ModelRejected Event for the refusal, none for the dry-run"

for _ in $(seq 1 30); do
  [[ -n "$(kubectl -n "$ns" get rs -l app=fraud-detector -o name 2>/dev/null)" ]] && break
  sleep 1
done
[[ -n "$(kubectl -n "$ns" get rs -l app=fraud-detector -o name)" ]] || fail "the controller made no ReplicaSet"
ok "the controller-manager's ReplicaSet was admitted"
kubectl -n "$ns" delete deployment fraud-detector --ignore-not-found >/dev/null
echo "smoke: all checks passed"
