#!/usr/bin/env bash
# Tests of charts/modelgate (`make chart-test`):
#   hack/chart-test.sh               helm lint; render the defaults and every option; check each
#                                    rendering's content; check every bad combination fails with
#                                    its message; no key material anywhere.
#   hack/chart-test.sh render DIR    render every valid option combination into DIR/<case>.yaml
#                                    (and DIR/ca.crt, the test CA), for the end-to-end suite to
#                                    apply with server-side dry-run to a real API server.
#   hack/chart-test.sh dry-run       render every case and apply it with server-side dry-run to the
#                                    API server in $KUBECONFIG (real schema, strict fields, and each
#                                    Deployment's pod template created as a Pod under Pod Security
#                                    "restricted"); kinds whose CRDs the server lacks are skipped.
#                                    Creates namespace modelgate and the ServiceAccounts for real.
#   hack/chart-test.sh cases         list the valid cases, one per line.
# Needs helm (.tools/bin), node with the repository's node_modules (the yaml package), openssl.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$root/.tools/bin:$PATH"
chart="$root/charts/modelgate"
cd "$root"

# Overridable so a dry-run can stay clear of a live install of the same chart (the e2e suite's).
RELEASE=${CHART_TEST_RELEASE:-modelgate}
NAMESPACE=${CHART_TEST_NAMESPACE:-modelgate}

# ---- the option combinations: name -> helm arguments. $CA is a PEM test CA, made below.
case_args() { # case_args NAME -> prints one argument per line
  local base=(--set keys.existingSecret=modelgate-keys)
  local url=(--set deployment.enabled=false --set webhook.url=https://127.0.0.1:8443/validate --set-file "webhook.caBundle=$CA")
  case $1 in
    defaults) printf '%s\n' "${base[@]}" ;;
    tls-cert-manager-issuer) printf '%s\n' "${base[@]}" --set tls.mode=certManager \
      --set tls.certManager.issuerRef.name=corp-ca --set tls.certManager.issuerRef.kind=ClusterIssuer ;;
    tls-cert-manager-selfsigned) printf '%s\n' "${base[@]}" --set tls.mode=certManager \
      --set tls.certManager.createSelfSignedIssuer=true ;;
    tls-existing-secret) printf '%s\n' "${base[@]}" --set tls.mode=existingSecret \
      --set tls.existingSecret.name=modelgate-serving --set-file "webhook.caBundle=$CA" ;;
    tls-existing-secret-injected) printf '%s\n' "${base[@]}" --set tls.mode=existingSecret \
      --set tls.existingSecret.name=modelgate-serving \
      --set 'webhook.annotations.cert-manager\.io/inject-ca-from-secret=modelgate/modelgate-serving' ;;
    out-of-cluster) printf '%s\n' "${url[@]}" ;;
    out-of-cluster-existing-secret) printf '%s\n' "${url[@]}" --set tls.mode=existingSecret ;;
    client-ca) printf '%s\n' "${base[@]}" --set webhook.clientCA.existingSecret=apiserver-webhook-client-ca \
      --set webhook.clientCA.key=ca.pem ;;
    network-policy-off) printf '%s\n' "${base[@]}" --set networkPolicy.enabled=false ;;
    existing-policy) printf '%s\n' "${base[@]}" --set policy.existingConfigMap=team-policy \
      --set policy.existingConfigMapKey=modelgate.yaml ;;
    network-policy) printf '%s\n' "${base[@]}" --set networkPolicy.enabled=true \
      --set 'networkPolicy.apiServer.cidrs={10.0.0.1/32}' --set networkPolicy.allowDNS=true \
      --set 'networkPolicy.ingressFrom[0].ipBlock.cidr=10.0.0.0/16' \
      --set 'networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.kubernetes\.io/metadata\.name=monitoring' ;;
    monitoring) printf '%s\n' "${base[@]}" --set serviceMonitor.enabled=true --set prometheusRule.enabled=true \
      --set grafanaDashboard.enabled=true --set serviceMonitor.labels.release=prometheus ;;
    everything) printf '%s\n' "${base[@]}" --set tls.mode=certManager --set tls.certManager.createSelfSignedIssuer=true \
      --set networkPolicy.enabled=true --set serviceMonitor.enabled=true --set prometheusRule.enabled=true \
      --set grafanaDashboard.enabled=true --set webhook.failurePolicy=Ignore --set webhook.timeoutSeconds=5 \
      --set server.deadlineMs=4000 --set server.failureMode=allow --set 'webhook.excludeNamespaces={ci,sandbox}' \
      --set image.digest=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef \
      --set replicaCount=3 --set priorityClassName=system-cluster-critical \
      --set 'tolerations[0].key=dedicated' --set 'tolerations[0].operator=Exists' ;;
    long-names) printf '%s\n' "${base[@]}" --set networkPolicy.enabled=true --set serviceMonitor.enabled=true \
      --set prometheusRule.enabled=true --set grafanaDashboard.enabled=true \
      --set fullnameOverride=modelgate-with-a-rather-long-name-that-goes-past-the-limit-of-63-chars ;;
    long-names-cert-manager) printf '%s\n' "${base[@]}" --set tls.mode=certManager --set tls.certManager.createSelfSignedIssuer=true \
      --set fullnameOverride=modelgate-with-a-rather-long-name-that-goes-past-the-limit-of-63-chars ;;
    conventions) printf '%s\n' "${base[@]}" --set commonLabels.team=platform --set 'commonLabels.cost-center=ml' --set-string commonLabels.canary=true \
      --set podLabels.tier=admission --set 'podAnnotations.example\.com/scrape=yes' \
      --set 'extraArgs={--event-queue-size=5000,--grace-ms=15000}' \
      --set 'extraEnv[0].name=NODE_OPTIONS' --set 'extraEnv[0].value=--max-old-space-size=192' \
      --set 'webhook.namespaceSelector.matchExpressions[0].key=modelgate.dev/tenant' \
      --set 'webhook.namespaceSelector.matchExpressions[0].operator=Exists' \
      --set 'webhook.objectSelector.matchExpressions[0].key=modelgate.dev/skip' \
      --set 'webhook.objectSelector.matchExpressions[0].operator=DoesNotExist' ;;
    openshift) printf '%s\n' "${base[@]}" --set podSecurityContext.runAsUser=null --set podSecurityContext.runAsGroup=null \
      --set podSecurityContext.fsGroup=null --set containerSecurityContext.runAsUser=null \
      --set containerSecurityContext.runAsGroup=null ;;
    scanner-off) printf '%s\n' "${base[@]}" --set scanner.enabled=false ;;
    scanner-crd) printf '%s\n' "${base[@]}" --set scanner.policyReports.installCRD=true --set prometheusRule.enabled=true \
      --set scanner.period=5m --set scanner.leaseDuration=30s ;;
    scanner-no-reports) printf '%s\n' "${base[@]}" --set scanner.policyReports.enabled=false ;;
    *) echo "chart-test: unknown case $1" >&2; return 1 ;;
  esac
}
VALID=(defaults tls-cert-manager-issuer tls-cert-manager-selfsigned tls-existing-secret
  tls-existing-secret-injected out-of-cluster out-of-cluster-existing-secret existing-policy
  network-policy network-policy-off client-ca monitoring everything long-names long-names-cert-manager
  conventions openshift scanner-off scanner-crd scanner-no-reports)

# ---- bad combinations: name | expected message fragment | helm arguments (one string, word-split)
BAD=(
  "no keys Secret|keys.existingSecret is required|"
  "installing into kube-system|do not install into kube-system|--namespace kube-system --set keys.existingSecret=k"
  "cert-manager without an issuer|tls.mode=certManager needs an issuer|--set keys.existingSecret=k --set tls.mode=certManager"
  "cert-manager with two issuers|either createSelfSignedIssuer=true or issuerRef.name|--set keys.existingSecret=k --set tls.mode=certManager --set tls.certManager.createSelfSignedIssuer=true --set tls.certManager.issuerRef.name=x"
  "url mode without caBundle|webhook.url needs webhook.caBundle|--set deployment.enabled=false --set webhook.url=https://127.0.0.1:8443/validate"
  "url with the in-cluster Deployment|set deployment.enabled=false with it|--set keys.existingSecret=k --set webhook.url=https://127.0.0.1:8443/validate --set-file webhook.caBundle=@CA@"
  "no Deployment and no url|set webhook.url|--set deployment.enabled=false"
  "url over plain http|https://|--set deployment.enabled=false --set webhook.url=http://127.0.0.1:8443/validate --set-file webhook.caBundle=@CA@"
  "url mode with cert-manager|issues a certificate for the in-cluster Service|--set deployment.enabled=false --set webhook.url=https://127.0.0.1:8443/validate --set-file webhook.caBundle=@CA@ --set tls.mode=certManager"
  "url mode with a client CA Secret|pass --client-ca FILE to modelgate serve|--set deployment.enabled=false --set webhook.url=https://127.0.0.1:8443/validate --set-file webhook.caBundle=@CA@ --set webhook.clientCA.existingSecret=ca"
  "a client CA Secret with an invalid name|existingSecret|--set keys.existingSecret=k --set webhook.clientCA.existingSecret=Bad_Name"
  "existing TLS Secret without its name|needs tls.existingSecret.name|--set keys.existingSecret=k --set tls.mode=existingSecret --set-file webhook.caBundle=@CA@"
  "existing TLS Secret without a CA|tls.mode=existingSecret needs webhook.caBundle|--set keys.existingSecret=k --set tls.mode=existingSecret --set tls.existingSecret.name=s"
  "caBundle that is not a certificate|must be a PEM certificate|--set keys.existingSecret=k --set tls.mode=existingSecret --set tls.existingSecret.name=s --set webhook.caBundle=bm90LWEtY2VydA=="
  "caBundle carrying a private key|contains a PRIVATE KEY|--set keys.existingSecret=k --set tls.mode=existingSecret --set tls.existingSecret.name=s --set-file webhook.caBundle=@CAKEY@"
  "deadline not below the API server timeout|must be below webhook.timeoutSeconds|--set keys.existingSecret=k --set server.deadlineMs=10000"
  "preStop pause as long as the grace period|must exceed preStopSleepSeconds|--set keys.existingSecret=k --set preStopSleepSeconds=30"
  "a key passed as a value (unknown key)|signingKey|--set keys.existingSecret=k --set keys.signingKey=c2VjcmV0"
  "a typo in a value|failurPolicy|--set keys.existingSecret=k --set webhook.failurPolicy=Ignore"
  "an unknown failurePolicy|failurePolicy|--set keys.existingSecret=k --set webhook.failurePolicy=Maybe"
  "an unknown TLS mode|mode|--set keys.existingSecret=k --set tls.mode=letsencrypt"
  "excluding a namespace by an invalid name|excludeNamespaces|--set keys.existingSecret=k --set webhook.excludeNamespaces={Bad_Name}"
  "commonLabels redefining a chart label|may not set app.kubernetes.io/name|--set keys.existingSecret=k --set commonLabels.app\.kubernetes\.io/name=x"
  "podLabels redefining a selector label|may not set app.kubernetes.io/instance|--set keys.existingSecret=k --set podLabels.app\.kubernetes\.io/instance=x"
  "extraArgs repeating a flag the chart sets|extraArgs may not repeat --log-level|--set keys.existingSecret=k --set extraArgs={--log-level=debug}"
  "extraArgs that is not a flag|extraArgs|--set keys.existingSecret=k --set extraArgs={serve}"
  "a typo in the objectSelector|matchLable|--set keys.existingSecret=k --set webhook.objectSelector.matchLables.a=b"
  "metrics on the webhook port|metrics.port must differ from server.port|--set keys.existingSecret=k --set metrics.port=8443"
  "a leftover ServiceMonitor tlsConfig|tlsConfig|--set keys.existingSecret=k --set serviceMonitor.tlsConfig.insecureSkipVerify=true"
  "a misspelt policy field|mdoe|--set keys.existingSecret=k --set policy.document.rules[0].name=default --set policy.document.rules[0].mdoe=enforce"
  "a policy mode that does not exist|enforce|--set keys.existingSecret=k --set policy.document.rules[0].name=default --set policy.document.rules[0].mode=block"
  "a policy without kind|kind|--set keys.existingSecret=k --set policy.document.kind=null"
  "a security context typo|runAsUsr|--set keys.existingSecret=k --set podSecurityContext.runAsUsr=1000"
)

make_ca() { # make_ca DIR: a throwaway self-signed CA (public cert only is used as caBundle)
  local dir=$1
  command -v openssl >/dev/null || { echo "chart-test: openssl is needed to make a test CA" >&2; exit 2; }
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 \
    -subj "/CN=modelgate chart-test CA" -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
  cat "$dir/ca.crt" "$dir/ca.key" > "$dir/ca-with-key.pem"
  CA="$dir/ca.crt"
  CAKEY="$dir/ca-with-key.pem"
}

render_case() { # render_case NAME OUTFILE
  local args
  mapfile -t args < <(case_args "$1")
  helm template "$RELEASE" "$chart" --namespace "$NAMESPACE" "${args[@]}" > "$2"
}

# render_all DIR: every valid combination into DIR/<case>.yaml, plus DIR/ca.crt.
render_all() {
  local dir=$1
  mkdir -p "$dir"
  make_ca "$dir"
  rm -f "$dir/ca.key" "$dir/ca-with-key.pem"
  for c in "${VALID[@]}"; do render_case "$c" "$dir/$c.yaml"; done
}

# dry_run_all: every case, server-side dry-run against $KUBECONFIG.
dry_run_all() {
  local tmp fails=0 f out served
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  render_all "$tmp"
  served=$(kubectl api-resources --no-headers | awk '{print $(NF-2) "/" $NF}' | tr '\n' ' ')
  kubectl create namespace "$NAMESPACE" --dry-run=client -o yaml | kubectl apply --server-side -f - >/dev/null
  kubectl label namespace "$NAMESPACE" --overwrite pod-security.kubernetes.io/enforce=restricted >/dev/null
  for f in "$tmp"/*.yaml; do
    # Kinds the server does not serve (cert-manager, Prometheus Operator CRDs) are left out and
    # named; ServiceAccounts are created for real (a Pod's admission looks its ServiceAccount up).
    SERVED="$served" node --input-type=module -e "$DRY_RUN_JS" "$f" "$tmp/sa.yaml" >"$tmp/objects.out"
    kubectl apply --server-side -f "$tmp/sa.yaml" >/dev/null
    if out=$(kubectl apply --dry-run=server --server-side -f "$tmp/objects.out" 2>&1); then
      echo "chart-test: ok   dry-run $(basename "$f" .yaml)$(grep -h '^# skipped' "$tmp/objects.out" | sed 's/^#/;/' || true)"
      grep -i 'warning' <<<"$out" || true
    else
      echo "chart-test: FAIL dry-run $(basename "$f" .yaml): $(grep -v 'serverside-applied' <<<"$out")"; fails=$((fails + 1))
    fi
  done
  ((fails == 0)) || { echo "chart-test: $fails dry-run(s) failed"; return 1; }
}

DRY_RUN_JS=$(cat <<'JS'
import { readFileSync, writeFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
const [file, saFile] = process.argv.slice(1);
// Re-emitted as JSON (valid YAML): the yaml package writes YAML 1.2, where a bare yes is a
// string, and kubectl reads YAML 1.1, where it is a bool.
const stringify = (o) => `${JSON.stringify(o)}\n`;
const served = new Set((process.env.SERVED ?? '').split(' '));
const objs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS()).filter((o) => o && o.kind);
const isServed = (o) => served.has(`${o.apiVersion}/${o.kind}`);
const keep = objs.filter(isServed);
const skipped = [...new Set(objs.filter((o) => !isServed(o)).map((o) => o.kind))];
const dep = keep.find((o) => o.kind === 'Deployment');
if (dep) {
  const t = dep.spec.template;
  keep.push({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `${dep.metadata.name.slice(0, 50)}-pod-check`, namespace: dep.metadata.namespace, labels: t.metadata.labels }, spec: t.spec });
}
writeFileSync(saFile, objs.filter((o) => o.kind === 'ServiceAccount').map((o) => stringify(o)).join('---\n'));
process.stdout.write((skipped.length ? `# skipped (no CRD): ${skipped.join(', ')}\n` : '') + keep.map((o) => stringify(o)).join('---\n'));
JS
)

# ---- assertions on one rendering, in node (the repository's yaml package parses the output).
check_rendering() { # check_rendering CASE FILE
  node --input-type=module -e "$ASSERT_JS" "$1" "$2"
}

ASSERT_JS=$(cat <<'JS'
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
const [caseName, file] = process.argv.slice(1);
const text = readFileSync(file, 'utf8');
const objs = parseAllDocuments(text).map((d) => d.toJS()).filter((o) => o && o.kind);
const problems = [];
const expect = (ok, what) => { if (!ok) problems.push(what); };
const all = (kind) => objs.filter((o) => o.kind === kind);
const one = (kind) => all(kind)[0];
const NS = 'modelgate';

// Everywhere: no key material, no Secret objects, names within 63 characters.
expect(!/PRIVATE KEY/.test(text), 'no private key in the output');
expect(all('Secret').length === 0, 'the chart renders no Secret');
for (const o of objs) expect(o.metadata.name.length <= 63, `name <= 63 chars: ${o.kind}/${o.metadata.name}`);
const ids = objs.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
expect(new Set(ids).size === ids.length, `every object has its own name: ${ids.filter((id, i) => ids.indexOf(id) !== i).join(', ')}`);

const vwc = one('ValidatingWebhookConfiguration');
expect(vwc, 'a ValidatingWebhookConfiguration');
const wh = vwc?.webhooks?.[0] ?? {};
expect(vwc?.webhooks?.length === 1 && wh.name === 'validate.modelgate.dev', 'one webhook validate.modelgate.dev');
expect(JSON.stringify(wh.admissionReviewVersions) === '["v1"]', 'admissionReviewVersions [v1]');
expect(wh.sideEffects === 'NoneOnDryRun', 'sideEffects NoneOnDryRun');
expect(wh.matchPolicy === 'Equivalent', 'matchPolicy Equivalent');
const excluded = wh.namespaceSelector?.matchExpressions?.find((e) => e.key === 'kubernetes.io/metadata.name' && e.operator === 'NotIn')?.values ?? [];
for (const n of ['kube-system', 'kube-node-lease', NS]) expect(excluded.includes(n), `namespaceSelector leaves out ${n}`);
const ruleFor = (group, res) => wh.rules?.find((r) => r.apiGroups.includes(group) && r.resources.includes(res));
for (const [g, rs] of [['apps', ['deployments', 'replicasets', 'statefulsets', 'daemonsets']], ['batch', ['jobs', 'cronjobs']], ['', ['pods', 'replicationcontrollers']]]) {
  for (const r of rs) expect(ruleFor(g, r)?.operations.join() === 'CREATE,UPDATE', `rule CREATE,UPDATE ${g || 'core'}/${r}`);
}
expect(ruleFor('', 'pods/ephemeralcontainers')?.operations.join() === 'UPDATE', 'rule UPDATE pods/ephemeralcontainers');

// RBAC: exactly the server's needs; Secrets only for self-managed TLS, and only in its namespace.
const rules = (o) => o.rules.map((r) => `${r.apiGroups.join()}|${r.resources.join()}|${r.verbs.join()}|${(r.resourceNames ?? []).join()}`).sort();
const cr = all('ClusterRole');
const selfManaged = !/tls-existing|out-of-cluster-existing|cert-manager|everything/.test(caseName);
// The background scanner (scanner.enabled, the default) adds list/watch on the kinds it re-decides and, with
// policyReports.enabled, its PolicyReports; its Lease is a Role in the release namespace (below).
const scanning = caseName !== 'scanner-off';
const wantRules = ['events.k8s.io|events|create,patch|', '|configmaps|get|',
  ...(scanning ? ['|pods,replicationcontrollers|list,watch|', 'apps|deployments,replicasets,statefulsets,daemonsets|list,watch|', 'batch|jobs,cronjobs|list,watch|'] : []),
  ...(scanning && caseName !== 'scanner-no-reports' ? ['wgpolicyk8s.io|policyreports|get,list,create,update,delete|'] : [])].sort();
expect(cr.some((c) => JSON.stringify(rules(c)) === JSON.stringify(wantRules)), `ClusterRole: configmaps get, events create/patch${scanning ? ', scanner list/watch' : ''}`);
const leaseRole = all('Role').find((r) => r.rules.some((x) => x.resources.includes('leases')));
if (scanning) {
  const leaseName = leaseRole?.rules.find((r) => r.resourceNames)?.resourceNames?.[0];
  expect(leaseRole?.metadata.namespace === NS && JSON.stringify(rules(leaseRole)) === JSON.stringify(['coordination.k8s.io|leases|create|', `coordination.k8s.io|leases|get,update|${leaseName}`]), 'Lease Role: create, get/update on the scanner Lease only, in the release namespace');
  const depArgs = one('Deployment')?.spec.template.spec.containers[0].args ?? [];
  expect(!one('Deployment') || (depArgs.includes(`--scan-lease-name=${leaseName}`) && depArgs.includes(`--scan-lease-namespace=${NS}`)), 'serve is told the Lease the Role names');
} else {
  expect(!leaseRole, 'scanner off: no Lease access');
  expect(one('Deployment')?.spec.template.spec.containers[0].args.includes('--no-scan'), 'scanner off: serve --no-scan');
}
const crd = all('CustomResourceDefinition');
expect(caseName === 'scanner-crd' ? crd.length === 1 && crd[0].metadata.name === 'policyreports.wgpolicyk8s.io' : crd.length === 0, 'the PolicyReport CRD only with scanner.policyReports.installCRD');
const caRole = cr.find((c) => c.rules.some((r) => r.resources.includes('validatingwebhookconfigurations')));
const secretRole = all('Role').find((r) => r.rules.some((x) => x.resources.includes('secrets')));
for (const c of [...cr, ...all('Role')]) for (const r of c.rules) expect(!r.verbs.includes('*') && !r.resources.includes('*'), `no wildcard in ${c.metadata.name}`);
expect(!cr.some((c) => c.rules.some((r) => r.resources.includes('secrets'))), 'no cluster-wide Secret access');
if (selfManaged) {
  expect(caRole && JSON.stringify(rules(caRole)) === JSON.stringify([`admissionregistration.k8s.io|validatingwebhookconfigurations|get,patch,update|${vwc.metadata.name}`]), 'webhook CA ClusterRole: get/patch/update on its own configuration only');
  expect(secretRole && secretRole.metadata.namespace === NS, 'Secret Role in the release namespace');
  const tlsSecret = secretRole?.rules.find((r) => r.resourceNames)?.resourceNames;
  expect(secretRole && JSON.stringify(rules(secretRole)) === JSON.stringify([`|secrets|create|`, `|secrets|get,update|${tlsSecret}`]) && tlsSecret.length === 1, 'Secret Role: create, and get/update on the TLS Secret only');
} else {
  expect(!caRole && !secretRole, 'no Secret or webhook-configuration access outside self-managed TLS');
}
for (const b of [...all('ClusterRoleBinding'), ...all('RoleBinding')]) {
  expect(b.subjects.length === 1 && b.subjects[0].kind === 'ServiceAccount' && b.subjects[0].namespace === NS, `${b.metadata.name} binds the ServiceAccount only`);
}

const dep = one('Deployment');
if (caseName.startsWith('out-of-cluster')) {
  const kinds = [...new Set(objs.map((o) => o.kind))].sort().join();
  expect(['ClusterRole,ClusterRoleBinding,Role,RoleBinding,ServiceAccount,ValidatingWebhookConfiguration', 'ClusterRole,ClusterRoleBinding,ServiceAccount,ValidatingWebhookConfiguration'].includes(kinds), `out-of-cluster renders only RBAC and the webhook configuration, got ${kinds}`);
  expect(wh.clientConfig?.url === 'https://127.0.0.1:8443/validate' && !wh.clientConfig.service, 'clientConfig.url, no service');
  expect(Buffer.from(wh.clientConfig?.caBundle ?? '', 'base64').toString().startsWith('-----BEGIN CERTIFICATE-----'), 'caBundle is base64 PEM');
} else {
  expect(dep, 'a Deployment');
  const pod = dep.spec.template.spec;
  const c = pod.containers[0];
  const sc = c.securityContext;
  expect(dep.spec.replicas >= 2, 'at least 2 replicas');
  expect(dep.spec.strategy.rollingUpdate.maxUnavailable === 0, 'RollingUpdate maxUnavailable 0');
  expect(pod.topologySpreadConstraints?.length >= 1, 'topology spread');
  expect(c.lifecycle?.preStop?.sleep?.seconds > 0, 'preStop native sleep');
  if (caseName === 'openshift') {
    expect(pod.securityContext.runAsNonRoot === true && !('runAsUser' in pod.securityContext) && !('runAsGroup' in pod.securityContext) && !('fsGroup' in pod.securityContext), 'openshift: pod non-root, IDs left to the platform');
    expect(!('runAsUser' in c.securityContext) && !('runAsGroup' in c.securityContext), 'openshift: container IDs left to the platform');
  } else {
    expect(pod.securityContext.runAsNonRoot === true && pod.securityContext.runAsUser === 65532 && pod.securityContext.fsGroup === 65532, 'pod runs as non-root 65532, keys group 65532');
  }
  expect(pod.securityContext.seccompProfile?.type === 'RuntimeDefault', 'pod seccomp RuntimeDefault');
  expect(sc.readOnlyRootFilesystem === true, 'read-only root filesystem');
  expect(sc.allowPrivilegeEscalation === false, 'no privilege escalation');
  expect(JSON.stringify(sc.capabilities?.drop) === '["ALL"]' && !sc.capabilities.add, 'capabilities drop ALL');
  expect(sc.runAsNonRoot === true && (caseName === 'openshift' || sc.runAsUser === 65532) && sc.seccompProfile?.type === 'RuntimeDefault', 'container non-root, seccomp');
  expect(pod.automountServiceAccountToken === true && one('ServiceAccount').automountServiceAccountToken === false, 'token only in the webhook pod');
  expect(c.resources?.requests?.cpu && c.resources?.limits?.memory, 'resources');
  for (const [p, path] of [['readinessProbe', '/readyz'], ['livenessProbe', '/healthz'], ['startupProbe', '/healthz']]) {
    expect(c[p]?.httpGet?.scheme === 'HTTPS' && c[p].httpGet.path === path && c[p].httpGet.port === 'https', `${p} HTTPS ${path}`);
  }
  expect(c.ports[0].containerPort === 8443 && c.ports[0].name === 'https', 'port 8443');
  expect(c.ports[1]?.containerPort === 9402 && c.ports[1].name === 'metrics' && c.args.includes('--metrics-port=9402'), 'metrics on their own port 9402 (--metrics-port)');
  const svcPorts = one('Service').spec.ports.map((p) => `${p.name}:${p.port}->${p.targetPort}`).join();
  expect(svcPorts === 'https:443->https,metrics:9402->metrics', `Service ports https and metrics, got ${svcPorts}`);
  expect(c.volumeMounts.every((m) => !m.subPath), 'no subPath mounts (they never update)');
  expect(c.volumeMounts.filter((m) => m.name !== 'tmp').every((m) => m.readOnly), 'keys, policy, TLS mounted read-only');
  const keys = pod.volumes.find((v) => v.name === 'keys');
  expect(keys?.secret?.secretName === 'modelgate-keys', 'keys from the existing Secret');
  const args = c.args.join(' ');
  expect(c.args[0] === 'serve' && args.includes('--port=8443') && args.includes('--keys-dir=/etc/modelgate/keys') && args.includes('--policy=/etc/modelgate/policy/policy.yaml'), 'serve args');
  expect(/--failure-mode=(deny|allow)/.test(args) && /--deadline-ms=\d+/.test(args) && /--log-level=\w+/.test(args), 'failure mode, deadline, log level args');
  if (selfManaged) {
    expect(args.includes('--tls-self-managed') && args.includes(`--tls-secret=${secretRole?.rules.find((r) => r.resourceNames)?.resourceNames[0]}`) && args.includes(`--namespace=${NS}`)
      && args.includes(`--service-name=${one('Service').metadata.name}`) && args.includes(`--webhook-config=${vwc.metadata.name}`), 'self-managed TLS args match the RBAC and objects');
    expect(/--webhook-failure-policy=(Fail|Ignore)( |$)/.test(args), 'self-managed: the server is told the failurePolicy to write');
    expect(!pod.volumes.some((v) => v.name === 'tls'), 'self-managed: no TLS volume');
  } else {
    expect(args.includes('--tls-cert=/etc/modelgate/tls/tls.crt') && args.includes('--tls-key=/etc/modelgate/tls/tls.key'), 'mounted TLS args');
  }
  const clientCa = pod.volumes.find((v) => v.name === 'client-ca');
  if (caseName === 'client-ca') {
    expect(args.includes('--client-ca=/etc/modelgate/client-ca/ca.crt') && clientCa?.secret?.secretName === 'apiserver-webhook-client-ca'
      && clientCa.secret.items[0].key === 'ca.pem' && clientCa.secret.items[0].path === 'ca.crt'
      && c.volumeMounts.some((m) => m.name === 'client-ca' && m.mountPath === '/etc/modelgate/client-ca'), 'client CA Secret mounted (no subPath) and passed as --client-ca');
  } else {
    expect(!args.includes('--client-ca') && !clientCa, 'no --client-ca unless webhook.clientCA.existingSecret is set');
  }
  expect(wh.clientConfig?.service?.name === one('Service').metadata.name && wh.clientConfig.service.path === '/validate' && wh.clientConfig.service.namespace === NS, 'clientConfig.service -> the Service /validate');
  const pdb = one('PodDisruptionBudget');
  expect(pdb && JSON.stringify(pdb.spec.selector.matchLabels) === JSON.stringify(dep.spec.selector.matchLabels), 'PDB selects the pods');
  if (caseName !== 'existing-policy') {
    const cm = all('ConfigMap').find((m) => m.data?.['policy.yaml']);
    expect(cm && pod.volumes.find((v) => v.name === 'policy')?.configMap?.name === cm.metadata.name, 'policy ConfigMap mounted');
    const rules = parseAllDocuments(cm.data['policy.yaml'])[0].toJS().rules ?? [];
    expect(rules.length > 0 && rules.every((r) => JSON.stringify(r.verifyImages) === JSON.stringify([c.image])), 'every rule trusts only the chart image as its verify image');
  } else {
    const pv = pod.volumes.find((v) => v.name === 'policy')?.configMap;
    expect(pv?.name === 'team-policy' && pv.items[0].key === 'modelgate.yaml' && pv.items[0].path === 'policy.yaml', 'existing policy ConfigMap mounted');
    expect(!all('ConfigMap').some((m) => m.data?.['policy.yaml']), 'no policy ConfigMap rendered');
  }
}

if (caseName === 'defaults') {
  // Self-managed: installed as Ignore (no caBundle yet), the server writes Fail once it answers.
  expect(wh.failurePolicy === 'Ignore' && wh.timeoutSeconds === 10, 'self-managed: installed with failurePolicy Ignore, timeoutSeconds 10 by default');
  expect(dep.spec.template.spec.containers[0].args.includes('--webhook-failure-policy=Fail'), 'self-managed: the server writes failurePolicy Fail by default');
  expect(!wh.clientConfig.caBundle, 'self-managed: caBundle left to the server');
  expect(dep.spec.replicas === 2 && one('PodDisruptionBudget'), '2 replicas and a PDB by default');
  for (const k of ['ServiceMonitor', 'PrometheusRule', 'Certificate', 'Issuer']) expect(!one(k), `no ${k} by default`);
}
if (caseName === 'tls-existing-secret') {
  expect(wh.failurePolicy === 'Fail', 'mounted certificate (caBundle at install): failurePolicy as configured, Fail');
}
if (caseName.startsWith('tls-cert-manager') || caseName === 'everything') {
  const certs = all('Certificate');
  const serving = certs.find((c) => !c.spec.isCA);
  expect(vwc.metadata.annotations?.['cert-manager.io/inject-ca-from'] === `${NS}/${serving?.metadata.name}`, 'inject-ca-from names the serving Certificate');
  expect(serving?.spec.dnsNames.includes(`${one('Service').metadata.name}.${NS}.svc`), 'certificate for the Service DNS name');
  expect(dep.spec.template.spec.volumes.find((v) => v.name === 'tls')?.secret.secretName === serving?.spec.secretName, 'mounts the Certificate\'s Secret');
  if (caseName === 'tls-cert-manager-issuer') expect(serving.spec.issuerRef.name === 'corp-ca' && serving.spec.issuerRef.kind === 'ClusterIssuer' && !one('Issuer'), 'uses the given issuer');
  else expect(all('Issuer').length === 2 && certs.some((c) => c.spec.isCA), 'self-signed root -> CA -> serving');
}
if (caseName === 'tls-existing-secret') {
  expect(Buffer.from(wh.clientConfig.caBundle, 'base64').toString().startsWith('-----BEGIN CERTIFICATE-----'), 'caBundle from PEM');
  expect(dep.spec.template.spec.volumes.find((v) => v.name === 'tls')?.secret.secretName === 'modelgate-serving', 'mounts the existing TLS Secret');
}
if (caseName === 'tls-existing-secret-injected') expect(vwc.metadata.annotations?.['cert-manager.io/inject-ca-from-secret'] && !wh.clientConfig.caBundle, 'CA injected from the Secret');
const np = one('NetworkPolicy');
if (caseName === 'network-policy-off' || caseName.startsWith('out-of-cluster')) {
  expect(!np, 'no NetworkPolicy when turned off, or without in-cluster pods');
} else {
  expect(np?.spec.policyTypes.join() === 'Ingress,Egress', 'a NetworkPolicy (on by default) for both directions');
  expect(JSON.stringify(np?.spec.podSelector.matchLabels) === JSON.stringify(dep.spec.selector.matchLabels), 'the NetworkPolicy selects the webhook pods');
  const ingress = np?.spec.ingress ?? [];
  expect(ingress.length === 2 && ingress[0].ports.length === 1 && ingress[0].ports[0].port === 8443
    && ingress[1].ports.length === 1 && ingress[1].ports[0].port === 9402, 'ingress only to 8443 (webhook) and 9402 (metrics), each its own rule');
  if (caseName === 'network-policy') {
    expect(JSON.stringify(ingress[0]?.from) === '[{"ipBlock":{"cidr":"10.0.0.0/16"}}]', 'ingress only from networkPolicy.ingressFrom');
    expect(JSON.stringify(ingress[1]?.from) === '[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"monitoring"}}}]', 'metrics port only from networkPolicy.metricsFrom');
  } else {
    expect(ingress[0] && !('from' in ingress[0]) && ingress[1] && !('from' in ingress[1]), 'by default any source on those ports (the API server address is cluster-specific)');
  }
  const egressPorts = (np?.spec.egress ?? []).flatMap((e) => e.ports.map((p) => `${p.port}/${p.protocol}`)).join();
  if (caseName === 'network-policy') expect(egressPorts === '443/TCP,6443/TCP,53/UDP,53/TCP', `egress to the API server and DNS, got ${egressPorts}`);
  else expect(egressPorts === '443/TCP,6443/TCP', `egress only to the API server ports, got ${egressPorts}`);
}
if (caseName === 'monitoring' || caseName === 'everything') {
  const ep = one('ServiceMonitor')?.spec.endpoints[0];
  expect(ep?.port === 'metrics' && ep.scheme === 'http' && ep.path === '/metrics' && !ep.tlsConfig, 'ServiceMonitor: plain http on the metrics port, no TLS settings to skip');
  const alerts = one('PrometheusRule')?.spec.groups[0].rules ?? [];
  const expr = (name) => alerts.find((a) => a.alert === name)?.expr ?? '';
  expect(/modelgate_verification_failures_total\{.*reason="bad-signature"/.test(expr('ModelgateModelTampering')), 'tampering alert');
  expect(expr('ModelgateRejectionSpike').includes('modelgate_requests_total{') && expr('ModelgateRejectionSpike').includes('decision="deny"'), 'rejection spike alert');
  expect(expr('ModelgateWebhookErrors').includes('decision="error"'), 'webhook errors alert');
  expect(expr('ModelgateCertificateExpiringSoon').includes('modelgate_certificate_expiry_timestamp_seconds'), 'certificate expiry alert');
  const dash = all('ConfigMap').find((m) => m.data?.['modelgate.json']);
  expect(dash && JSON.parse(dash.data['modelgate.json']).panels.length > 0, 'Grafana dashboard is valid JSON');
}
if (caseName === 'everything') {
  for (const n of ['ci', 'sandbox']) expect(excluded.includes(n), `operator exclusion ${n}`);
  expect(wh.failurePolicy === 'Ignore' && wh.timeoutSeconds === 5, 'failurePolicy and timeout from values');
  expect(dep.spec.template.spec.containers[0].image.includes('@sha256:'), 'image by digest');
}
if (caseName === 'conventions') {
  for (const o of objs) expect(o.metadata.labels?.team === 'platform' && o.metadata.labels['cost-center'] === 'ml', `commonLabels on ${o.kind}/${o.metadata.name}`);
  // The API server reads YAML 1.1: a bare yes/true is a bool there, so values must be quoted.
  expect(/^ {8}example\.com\/scrape: "yes"$/m.test(text) && /^ {4}canary: "true"$/m.test(text), 'label and annotation values rendered quoted');
  const tpl = dep.spec.template;
  expect(tpl.metadata.labels.team === 'platform' && tpl.metadata.labels.tier === 'admission' && tpl.metadata.annotations?.['example.com/scrape'] === 'yes', 'commonLabels, podLabels, podAnnotations on the pods');
  const c = tpl.spec.containers[0];
  expect(c.args.slice(-2).join() === '--event-queue-size=5000,--grace-ms=15000', 'extraArgs appended after the chart\'s args');
  expect(c.env.some((e) => e.name === 'NODE_ENV') && c.env.some((e) => e.name === 'NODE_OPTIONS' && e.value === '--max-old-space-size=192'), 'extraEnv added to NODE_ENV');
  expect(c.env.filter((e) => e.name === 'NODE_OPTIONS').length === 1, 'an extraEnv NODE_OPTIONS replaces the chart\'s own (no duplicate env entry)');
  const exprs = wh.namespaceSelector.matchExpressions;
  expect(exprs.length === 2 && exprs[0].key === 'kubernetes.io/metadata.name' && exprs[1].key === 'modelgate.dev/tenant', 'namespaceSelector: the exclusion kept, the value\'s expression added');
  expect(wh.objectSelector?.matchExpressions?.[0]?.operator === 'DoesNotExist', 'objectSelector from values');
} else {
  expect(!wh.objectSelector, 'no objectSelector by default: every object is checked');
  expect(wh.namespaceSelector.matchExpressions.length === 1 && !wh.namespaceSelector.matchLabels, 'namespaceSelector: only the exclusion by default');
}
if (caseName.startsWith('long-names')) for (const o of objs) expect(o.metadata.name.length <= 63 && !o.metadata.name.endsWith('-'), `truncated name ${o.metadata.name}`);

if (problems.length > 0) {
  console.error(`  ${caseName}: ${problems.length} problem(s):\n${problems.map((p) => `    - ${p}`).join('\n')}`);
  process.exit(1);
}
JS
)

# ---- the test run
run_tests() {
  local tmp fails=0 n=0
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  make_ca "$tmp"

  echo "chart-test: helm lint"
  helm lint --strict "$chart" --namespace "$NAMESPACE" --set keys.existingSecret=modelgate-keys >"$tmp/lint.log" 2>&1 ||
    { cat "$tmp/lint.log"; echo "chart-test: FAIL helm lint"; fails=$((fails + 1)); }
  grep -q "0 chart(s) failed" "$tmp/lint.log" && ! grep -qE '^\[(WARNING|ERROR)\]' "$tmp/lint.log" ||
    { cat "$tmp/lint.log"; echo "chart-test: FAIL helm lint is not clean"; fails=$((fails + 1)); }

  n=$((n + 1))
  if node hack/gen-chart-schema.ts --check; then echo "chart-test: ok   values.schema.json embeds docs/policy.schema.json"
  else echo "chart-test: FAIL values.schema.json policy.document is stale"; fails=$((fails + 1)); fi
  n=$((n + 1))
  if node hack/gen-chart-readme.ts --check; then echo "chart-test: ok   charts/modelgate/README.md lists every value of values.yaml"
  else echo "chart-test: FAIL charts/modelgate/README.md"; fails=$((fails + 1)); fi

  for c in "${VALID[@]}"; do
    n=$((n + 1))
    if ! render_case "$c" "$tmp/$c.yaml" 2>"$tmp/$c.err"; then
      echo "chart-test: FAIL render $c: $(cat "$tmp/$c.err")"; fails=$((fails + 1)); continue
    fi
    if check_rendering "$c" "$tmp/$c.yaml"; then echo "chart-test: ok   render $c"; else echo "chart-test: FAIL render $c"; fails=$((fails + 1)); fi
  done

  # The rendered default policy is a valid policy (when the CLI is built).
  if [[ -f dist/cli/policy.js ]]; then
    n=$((n + 1))
    node --input-type=module -e "
      import { readFileSync, writeFileSync } from 'node:fs'; import { parseAllDocuments } from 'yaml';
      const cm = parseAllDocuments(readFileSync('$tmp/defaults.yaml', 'utf8')).map((d) => d.toJS()).find((o) => o?.data?.['policy.yaml']);
      writeFileSync('$tmp/policy.yaml', cm.data['policy.yaml']);"
    if node dist/cli/bin.js policy check "$tmp/policy.yaml" >"$tmp/policy.log" 2>&1; then echo "chart-test: ok   default policy passes modelgate policy check"
    else cat "$tmp/policy.log"; echo "chart-test: FAIL default policy"; fails=$((fails + 1)); fi
  else
    echo "chart-test: skip default policy check (dist/cli/policy.js not built)"
  fi

  local entry name want args out
  for entry in "${BAD[@]}"; do
    n=$((n + 1))
    IFS='|' read -r name want args <<<"$entry"
    args=${args//@CAKEY@/$CAKEY}
    args=${args//@CA@/$CA}
    # shellcheck disable=SC2086 # the arguments are one word-split string on purpose
    if out=$(helm template "$RELEASE" "$chart" --namespace "$NAMESPACE" $args 2>&1); then
      echo "chart-test: FAIL bad combination accepted: $name"; fails=$((fails + 1))
    elif [[ "$out" != *"$want"* ]]; then
      echo "chart-test: FAIL $name: message lacks \"$want\": $out"; fails=$((fails + 1))
    else
      echo "chart-test: ok   refuses $name"
    fi
  done

  if ((fails > 0)); then echo "chart-test: $fails of $n checks failed"; return 1; fi
  echo "chart-test: all $n checks passed"
}

command -v helm >/dev/null || { echo "chart-test: helm not found (make tools builds it into .tools/bin)" >&2; exit 2; }
case "${1:-}" in
  "") run_tests ;;
  render) [[ $# -eq 2 ]] || { echo "usage: hack/chart-test.sh render DIR" >&2; exit 2; }; render_all "$2"; echo "chart-test: rendered ${#VALID[@]} cases into $2" ;;
  dry-run) command -v kubectl >/dev/null || { echo "chart-test: kubectl not found" >&2; exit 2; }; dry_run_all ;;
  cases) printf '%s\n' "${VALID[@]}" ;;
  *) echo "usage: hack/chart-test.sh [render DIR | dry-run | cases]" >&2; exit 2 ;;
esac
