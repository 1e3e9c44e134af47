/**
 * Every rendering of charts/modelgate (each option case of hack/chart-test.sh) applied with
 * server-side dry-run to the suite's real API server: real schemas, strict field validation, and
 * each Deployment's pod template admitted as a Pod under Pod Security "restricted".
 *
 * The cert-manager (Certificate, Issuer) and Prometheus Operator (ServiceMonitor,
 * PrometheusRule) kinds are schema-checked too: minimal CRDs are installed first whose structural
 * schemas hold the upstream fields the chart can use (cert-manager.io/v1, monitoring.coreos.com/v1,
 * types and enums as upstream), without `x-kubernetes-preserve-unknown-fields` where the chart
 * writes, so a misspelt or misplaced field is refused like in a cluster that has those operators.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tool } from '../harness/controlPlane.js';
import { repoRoot } from '../harness/sandbox.js';
import { ctx, k, kOk, type Obj } from './lib.js';

const run = promisify(execFile);

// ---- structural schemas, written compactly

type Schema = Obj;
const str = (extra: Obj = {}): Schema => ({ type: 'string', ...extra });
const int: Schema = { type: 'integer' };
const bool: Schema = { type: 'boolean' };
const strings: Schema = { type: 'array', items: str() };
const stringMap: Schema = { type: 'object', additionalProperties: str() };
const opaque: Schema = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
function object(properties: Record<string, Schema>, required: string[] = []): Schema {
  return { type: 'object', properties, ...(required.length > 0 && { required }) };
}
const list = (items: Schema): Schema => ({ type: 'array', items });
/** Prometheus Operator's Duration pattern (monitoring.coreos.com/v1). */
const duration = str({
  pattern: '^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$',
});
const labelSelector = object({
  matchLabels: stringMap,
  matchExpressions: list(object({ key: str(), operator: str(), values: strings }, ['key', 'operator'])),
});
const secretKeySelector = object({ name: str(), key: str(), optional: bool }, ['key']);
const secretOrConfigMap = object({ secret: secretKeySelector, configMap: secretKeySelector });

const USAGES = [
  'signing', 'digital signature', 'content commitment', 'key encipherment', 'key agreement',
  'data encipherment', 'cert sign', 'crl sign', 'encipher only', 'decipher only', 'any',
  'server auth', 'client auth', 'code signing', 'email protection', 's/mime', 'ipsec end system',
  'ipsec tunnel', 'ipsec user', 'timestamping', 'ocsp signing', 'microsoft sgc', 'netscape sgc',
]; // prettier-ignore

const certificateSpec = object(
  {
    secretName: str(),
    issuerRef: object({ name: str(), kind: str(), group: str() }, ['name']),
    commonName: str(),
    literalSubject: str(),
    dnsNames: strings,
    ipAddresses: strings,
    uris: strings,
    emailAddresses: strings,
    duration: str(),
    renewBefore: str(),
    renewBeforePercentage: int,
    isCA: bool,
    usages: list(str({ enum: USAGES })),
    privateKey: object({
      algorithm: str({ enum: ['RSA', 'ECDSA', 'Ed25519'] }),
      encoding: str({ enum: ['PKCS1', 'PKCS8'] }),
      size: int,
      rotationPolicy: str({ enum: ['Never', 'Always'] }),
    }),
    secretTemplate: object({ annotations: stringMap, labels: stringMap }),
    revisionHistoryLimit: int,
    encodeUsagesInRequest: bool,
    subject: opaque,
    keystores: opaque,
    additionalOutputFormats: list(opaque),
    nameConstraints: opaque,
    otherNames: list(opaque),
  },
  ['secretName', 'issuerRef'],
);

const issuerSpec = object({
  selfSigned: object({ crlDistributionPoints: strings }),
  ca: object(
    {
      secretName: str(),
      crlDistributionPoints: strings,
      ocspServers: strings,
      issuingCertificateURLs: strings,
    },
    ['secretName'],
  ),
  acme: opaque,
  vault: opaque,
  venafi: opaque,
});

const endpoint = object({
  port: str(),
  targetPort: { 'x-kubernetes-int-or-string': true },
  path: str(),
  scheme: str({ enum: ['http', 'https', 'HTTP', 'HTTPS'] }),
  params: { type: 'object', additionalProperties: strings },
  interval: duration,
  scrapeTimeout: duration,
  honorLabels: bool,
  honorTimestamps: bool,
  followRedirects: bool,
  enableHttp2: bool,
  bearerTokenSecret: secretKeySelector,
  authorization: opaque,
  basicAuth: opaque,
  oauth2: opaque,
  proxyUrl: str(),
  relabelings: list(opaque),
  metricRelabelings: list(opaque),
  tlsConfig: object({
    ca: secretOrConfigMap,
    cert: secretOrConfigMap,
    keySecret: secretKeySelector,
    caFile: str(),
    certFile: str(),
    keyFile: str(),
    serverName: str(),
    insecureSkipVerify: bool,
  }),
});

const serviceMonitorSpec = object(
  {
    selector: labelSelector,
    namespaceSelector: object({ any: bool, matchNames: strings }),
    endpoints: list(endpoint),
    jobLabel: str(),
    targetLabels: strings,
    podTargetLabels: strings,
    sampleLimit: int,
    targetLimit: int,
    labelLimit: int,
    attachMetadata: object({ node: bool }),
  },
  ['selector'],
);

const prometheusRuleSpec = object({
  groups: list(
    object(
      {
        name: str({ minLength: 1 }),
        interval: duration,
        query_offset: duration,
        limit: int,
        partial_response_strategy: str(),
        labels: stringMap,
        rules: list(
          object(
            {
              alert: str(),
              record: str(),
              expr: { 'x-kubernetes-int-or-string': true },
              for: duration,
              keep_firing_for: duration,
              labels: stringMap,
              annotations: stringMap,
            },
            ['expr'],
          ),
        ),
      },
      ['name'],
    ),
  ),
});

function crd(group: string, kind: string, plural: string, spec: Schema): Obj {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}`, labels: { 'modelgate.dev/e2e': 'chart-dryrun' } },
    spec: {
      group,
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: object({ apiVersion: str(), kind: str(), metadata: { type: 'object' }, spec }, [
              'spec',
            ]),
          },
          // Status stays open: the chart never writes it.
          subresources: { status: {} },
        },
      ],
    },
  };
}

const CRDS = [
  crd('cert-manager.io', 'Certificate', 'certificates', certificateSpec),
  crd('cert-manager.io', 'Issuer', 'issuers', issuerSpec),
  crd('monitoring.coreos.com', 'ServiceMonitor', 'servicemonitors', serviceMonitorSpec),
  crd('monitoring.coreos.com', 'PrometheusRule', 'prometheusrules', prometheusRuleSpec),
];
const crdNames = CRDS.map((c) => (c.metadata as { name: string }).name);

/**
 * The suite's own webhook is installed from this chart as release "modelgate" in namespace
 * "modelgate" (test/harness/install.ts, client-side apply). A server-side dry-run under the same
 * names would merge each rendering into those live objects (e.g. an in-cluster
 * `clientConfig.service` beside the live `clientConfig.url`: "exactly one of url or service is
 * required") instead of checking it alone, so the script runs under another release/namespace.
 */
const SCRIPT = path.join(repoRoot, 'hack', 'chart-test.sh');
const DRY_RUN_RELEASE = 'modelgate-dryrun';

async function chartTest(...args: string[]): Promise<{ code: number; out: string }> {
  const env = {
    ...process.env,
    KUBECONFIG: ctx().kubeconfig,
    CHART_TEST_RELEASE: DRY_RUN_RELEASE,
    CHART_TEST_NAMESPACE: DRY_RUN_RELEASE,
    // kubectl and helm from the tools the suite uses, node (for the script's yaml helper) as ours.
    PATH: [path.dirname(tool('kubectl')), path.dirname(process.execPath), process.env.PATH].join(
      path.delimiter,
    ),
  };
  try {
    const { stdout, stderr } = await run('bash', [SCRIPT, ...args], {
      cwd: repoRoot,
      env,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

beforeAll(async () => {
  await kOk(['apply', '-f', '-'], { apiVersion: 'v1', kind: 'List', items: CRDS });
  await kOk(['wait', '--for=condition=Established', '--timeout=60s', ...crdNames.map((n) => `crd/${n}`)]);
});

afterAll(async () => {
  await k(['delete', 'crd', '--ignore-not-found', '--wait=false', ...crdNames]);
  await k(['delete', 'namespace', '--ignore-not-found', '--wait=false', DRY_RUN_RELEASE]);
});

describe('the rendered chart on the real API server (server-side dry-run)', () => {
  it('the minimal CRDs really check: a misspelt Certificate field is refused', async () => {
    const bad = {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: 'typo', namespace: 'default' },
      spec: { secretname: 'x', issuerRef: { name: 'ca' } },
    };
    const r = await k(['apply', '--dry-run=server', '--server-side', '-f', '-'], bad);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/secretname|secretName/);
  });

  it('accepts every option case, nothing skipped', async () => {
    const cases = (await chartTest('cases')).out.trim().split('\n');
    expect(cases.length).toBeGreaterThanOrEqual(10);
    const r = await chartTest('dry-run');
    expect(r.code, r.out).toBe(0);
    const ok = r.out
      .split('\n')
      .map((l) => /^chart-test: ok {3}dry-run (\S+)(.*)$/.exec(l))
      .filter((m) => m !== null);
    expect(ok.map((m) => m[1]).sort()).toEqual([...cases].sort());
    // With the CRDs present nothing is left out: Certificates, Issuers, ServiceMonitor and
    // PrometheusRule were validated by the server too.
    expect(r.out).not.toMatch(/skipped/);
    expect(r.out).not.toMatch(/FAIL|Warning/);
  });
});
