import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { RESOURCES } from '../admission/request.js';
import { decideAdmission } from '../decision/decide.js';
import { planAdmission } from '../decision/plan.js';
import { ConfigMapResolver } from '../kube/configmaps.js';
import type { KubeApi } from '../kube/client.js';
import { loadKeyDir } from '../keys/load.js';
import { defaultPolicy } from '../policy/defaults.js';
import { TEMPLATE_PATHS } from '../workload/kinds.js';
import {
  admissionRequest,
  admissionReview,
  deployment,
  workloadOfKind,
  type Obj,
} from '../../test/fixtures/objects.js';
import { runCli } from '../../test/fixtures/cli.js';
import { vectors } from '../../test/fixtures/vectors.js';

const NOW = '2026-05-01T00:00:00Z';
let root: string;
let keysDir: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'mg-review-'));
  keysDir = join(root, 'keys');
  mkdirSync(keysDir);
  writeFileSync(join(keysDir, 'ci'), vectors.key);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const yamlOf = (...objects: Obj[]): string => objects.map((o) => stringify(o)).join('---\n');
const file = (name: string, text: string): string => {
  const path = join(root, name);
  writeFileSync(path, text);
  return path;
};
const review = (args: string[], stdin: string) =>
  runCli(['review', '--keys-dir', keysDir, '--now', NOW, ...args], { stdin });

/** The vector Deployment whose manifest sits in ConfigMap "models" instead of an annotation. */
function fromConfigMap(): Obj {
  const d = deployment(null);
  d.metadata.annotations = { 'modelgate.dev/manifest-configmap': 'models' };
  return d;
}
const modelsConfigMap = (namespace = 'ml'): Obj => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'models', namespace },
  data: { 'fraud-detector.manifest.json': vectors.manifestText },
});

describe('modelgate review of the objects one applies', () => {
  it('several YAML documents: one line per object, each problem with its path, exit 1 when any is denied', async () => {
    const bad = deployment(vectors.wrongKeyManifestText);
    bad.metadata.name = 'bad';
    const r = await review([], yamlOf(deployment(), bad));
    expect(r.code).toBe(1);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^Deployment ml\/fraud-detector: ALLOWED \(verified /);
    expect(lines).toContain('Deployment ml/bad: DENIED');
    expect(lines.find((l) => l.startsWith('  - '))).toMatch(/^ {2}- [a-z-]+ at metadata\.annotations\S*: /);
  });

  it('every pod-creating kind, in a kind: List, is allowed when signed: exit 0', async () => {
    const items = Object.keys(TEMPLATE_PATHS).map((k) => workloadOfKind(k));
    const r = await review([], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out.split('\n').filter((l) => l.includes(': ALLOWED'))).toHaveLength(items.length);
  });

  it.each([
    ['unparseable YAML', 'a: [\n', /stdin document 1: invalid YAML/],
    [
      'only kinds that create no pods',
      yamlOf({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } }),
      /holds no pod-creating objects/,
    ],
    ['a scalar', 'just text\n', /stdin document 1 is not an object/],
    ['nothing', '', /holds no objects/],
    [
      'another apiVersion of a kind',
      yamlOf({ ...deployment(), apiVersion: 'extensions/v1beta1' }),
      /must have apiVersion "apps\/v1"/,
    ],
    [
      'a List item that is not an object',
      '{"apiVersion":"v1","kind":"List","items":[3]}',
      /document 1 items\[0\] is not an object/,
    ],
    ['100 000 nested arrays', '['.repeat(100_000) + ']'.repeat(100_000), /nests deeper/],
  ])('%s → exit 2 naming the document', async (_, stdin, message) => {
    const r = await review([], stdin);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });

  it('an AdmissionReview is still answered with its response review, in JSON', async () => {
    const r = await review([], JSON.stringify(admissionReview(deployment())));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ kind: 'AdmissionReview', response: { allowed: true } });
  });

  it('flags that build a request are bad input with an AdmissionReview, which carries its own', async () => {
    const r = await review(['--user', 'bob', '--dry-run'], JSON.stringify(admissionReview(deployment())));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--user, --dry-run: an AdmissionReview carries its own request/);
  });

  it('-o json: one AdmissionReview per object, with the request as the API server builds it', async () => {
    const r = await review(
      ['-o', 'json', '--user', 'bob', '--groups', 'ml-engineers', '--dry-run'],
      yamlOf(workloadOfKind('CronJob')),
    );
    const [out] = JSON.parse(r.out) as Obj[];
    expect(out!.request).toMatchObject({
      kind: { group: 'batch', version: 'v1', kind: 'CronJob' },
      resource: { group: 'batch', version: 'v1', resource: 'cronjobs' },
      namespace: 'ml',
      name: 'fraud-detector',
      operation: 'CREATE',
      userInfo: { username: 'bob', groups: ['ml-engineers', 'system:authenticated'] },
      dryRun: true,
      options: { kind: 'CreateOptions', dryRun: ['All'] },
    });
    expect(out!.response).toMatchObject({ allowed: true });
  });

  it('the user defaults to $USER, else "review"', async () => {
    const d = yamlOf(deployment());
    const json = async (env: NodeJS.ProcessEnv): Promise<Obj> => {
      const { fakeIO } = await import('../../test/fixtures/cli.js');
      const { main } = await import('./main.js');
      const io = { ...fakeIO({ stdin: d }), env };
      const out: string[] = [];
      io.stdout.on('data', (c: Buffer) => out.push(c.toString()));
      await main(['review', '-o', 'json'], io);
      return (JSON.parse(out.join('')) as Obj[])[0]!.request;
    };
    expect((await json({ USER: 'carol' })).userInfo.username).toBe('carol');
    expect((await json({})).userInfo.username).toBe('review');
  });

  it('--namespace fills in an object without one, and refuses one that contradicts it', async () => {
    const d = deployment();
    delete d.metadata.namespace;
    const r = await review(['-o', 'json', '-n', 'team-a'], yamlOf(d));
    expect((JSON.parse(r.out) as Obj[])[0]!.request).toMatchObject({
      namespace: 'team-a',
      object: { metadata: { namespace: 'team-a' } },
    });
    const none = await review(['-o', 'json'], yamlOf(d));
    expect((JSON.parse(none.out) as Obj[])[0]!.request.namespace).toBe('default');
    const clash = await review(['-n', 'team-a'], yamlOf(deployment()));
    expect(clash.code).toBe(2);
    expect(clash.err).toMatch(/document 1: the object's namespace "ml" does not match --namespace "team-a"/);
  });

  it('--operation UPDATE with --old: an unchanged template is not checked again; no --old is bad input', async () => {
    const old = file('old.yaml', yamlOf(deployment(vectors.wrongKeyManifestText)));
    const same = await review(
      ['--operation', 'UPDATE', '--old', old],
      yamlOf(deployment(vectors.wrongKeyManifestText)),
    );
    expect(same.out).toMatch(/ALLOWED \(not checked: template-unchanged\)/);
    expect(same.code).toBe(0);
    const changed = await review(['--operation', 'UPDATE', '--old', old], yamlOf(deployment()));
    expect(changed.code).toBe(0);
    expect((await review(['--operation', 'UPDATE'], yamlOf(deployment()))).code).toBe(2);
    expect((await review(['--operation', 'DELETE'], yamlOf(deployment()))).code).toBe(2);
    const other = deployment();
    other.metadata.name = 'other';
    const missing = await review(['--operation', 'UPDATE', '--old', old], yamlOf(other));
    expect(missing.err).toMatch(/--old has no Deployment ml\/other to update/);
  });

  it('--groups reach the policy: a break-glass member is admitted with a warning', async () => {
    const policy = file(
      'bg.yaml',
      stringify({ apiVersion: 'modelgate.dev/v1', kind: 'Policy', breakGlass: { group: 'sre-oncall' } }),
    );
    const d = deployment(vectors.wrongKeyManifestText);
    d.metadata.annotations['modelgate.dev/break-glass'] = 'INC-1: model server down';
    const denied = await review(['--policy', policy], yamlOf(d));
    expect(denied.code).toBe(1);
    const glass = await review(['--policy', policy, '--groups', 'sre-oncall'], yamlOf(d));
    expect(glass.out).toMatch(/ALLOWED by break-glass/);
    expect(glass.code).toBe(0);
  });
});

describe('what the text says', () => {
  it('warn mode: admitted, each problem listed once (not again as a warning), exit 0', async () => {
    const policy = file(
      'warn.yaml',
      stringify({
        apiVersion: 'modelgate.dev/v1',
        kind: 'Policy',
        rules: [{ name: 'staging', mode: 'warn', match: { namespaces: ['ml'] } }],
      }),
    );
    const r = await review(['--policy', policy], yamlOf(deployment(vectors.wrongKeyManifestText)));
    const lines = r.out.trimEnd().split('\n');
    expect(lines, r.out).toHaveLength(2);
    expect(r.code).toBe(0);
    expect(lines[0]).toBe('Deployment ml/fraud-detector: ALLOWED with problems (rule staging, warn mode)');
    expect(lines[1]).toMatch(
      /^ {2}- [a-z-]+ at metadata\.annotations\[modelgate\.dev\/manifest\]: model fraud-detector\.onnx: /,
    );
  });

  it('an object no rule selects: ALLOWED, and why it was not checked', async () => {
    const d = deployment(null);
    d.metadata.labels = {};
    d.spec.template.metadata.labels = { app: 'web' };
    d.spec.template.spec = { containers: [{ name: 'web', image: 'nginx:1.27' }] };
    const r = await review([], yamlOf(d));
    expect(r.out).toBe('Deployment ml/fraud-detector: ALLOWED (not checked: not-inference)\n');
    expect(r.code).toBe(0);
  });

  it('-o text answers an AdmissionReview in the same words', async () => {
    const r = await review(['-o', 'text'], JSON.stringify(admissionReview(deployment(null))));
    expect(r.out).toMatch(
      /^Deployment ml\/fraud-detector: DENIED\n {2}- missing-manifest at metadata\.annotations: /,
    );
    expect(r.code).toBe(1);
  });
});

describe('ConfigMap refs resolved from files', () => {
  it('--configmap FILE resolves modelgate.dev/manifest-configmap; without it the ref is a problem, never a pass', async () => {
    const cm = file('cm.yaml', yamlOf(modelsConfigMap()));
    const ok = await review(['--configmap', cm], yamlOf(fromConfigMap()));
    expect(ok.out).toMatch(/ALLOWED \(verified /);
    expect(ok.code).toBe(0);
    const missing = await review([], yamlOf(fromConfigMap()));
    expect(missing.code).toBe(1);
    expect(missing.out).toMatch(
      /configmap-unavailable at metadata\.annotations\S*: cannot read configmap ml\/models: not given; pass the ConfigMap with --configmap FILE/,
    );
  });

  it('a ConfigMap in the applied file counts; one in another namespace does not', async () => {
    expect((await review([], yamlOf(modelsConfigMap(), fromConfigMap()))).code).toBe(0);
    expect((await review([], yamlOf(modelsConfigMap('other'), fromConfigMap()))).code).toBe(1);
  });

  it('a --configmap file holding something else is bad input', async () => {
    const bad = file('not-cm.yaml', yamlOf(deployment()));
    const r = await review(['--configmap', bad], yamlOf(fromConfigMap()));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/not-cm\.yaml document 1 is not a v1 ConfigMap/);
  });
});

describe("review's decision is the webhook's", () => {
  const policy = defaultPolicy();
  const variants: [string, () => Obj][] = [
    ...Object.keys(TEMPLATE_PATHS).map((k): [string, () => Obj] => [`signed ${k}`, () => workloadOfKind(k)]),
    ...Object.keys(TEMPLATE_PATHS).map((k): [string, () => Obj] => [
      `unsigned ${k}`,
      () => workloadOfKind(k, null),
    ]),
    ['wrong key', () => deployment(vectors.wrongKeyManifestText)],
    ['manifest in a ConfigMap', fromConfigMap],
    [
      'manifest in a ConfigMap, another key',
      () => {
        const d = fromConfigMap();
        d.metadata.annotations['modelgate.dev/manifest-configmap'] = 'models/other.manifest.json';
        return d;
      },
    ],
  ];

  it.each(variants)('%s: same allowed, status and warnings as the webhook path', async (_, make) => {
    const object = make();
    const cm = file('equal-cm.yaml', yamlOf(modelsConfigMap()));
    const r = await review(
      [
        '-o',
        'json',
        '--user',
        'alice@example.com',
        '--groups',
        'system:authenticated,ml-engineers',
        '--configmap',
        cm,
      ],
      yamlOf(object),
    );
    const [cli] = JSON.parse(r.out) as Obj[];
    // The webhook: the fixture request (as the e2e suite sends it), ConfigMaps read by its resolver.
    const request = admissionRequest(object, {
      uid: cli!.request.uid,
      groups: ['ml-engineers', 'system:authenticated'],
    });
    const api = {
      readConfigMap: (ns: string, name: string) =>
        Promise.resolve(ns === 'ml' && name === 'models' ? { data: modelsConfigMap().data } : undefined),
    };
    const resolver = new ConfigMapResolver({ api: api as unknown as KubeApi });
    const plan = planAdmission(request, policy);
    const resolved = await resolver.resolve(plan.namespace, plan.refs, new AbortController().signal);
    const webhook = decideAdmission(plan, {
      resolved,
      keyring: await loadKeyDir(keysDir),
      now: new Date(NOW),
    });
    const strip = (s?: { message: string }) => s?.message;
    expect({ ...cli!.response, status: strip(cli!.response.status) }).toEqual({
      ...webhook.response,
      status: strip(webhook.response.status),
    });
    expect(r.code).toBe(webhook.response.allowed ? 0 : 1);
  });

  it('a ConfigMap not given is denied like one the cluster lacks, and says to pass it', async () => {
    const d = fromConfigMap();
    d.metadata.annotations['modelgate.dev/manifest-configmap'] = 'gone';
    const r = await review(['-o', 'json'], yamlOf(d));
    const [cli] = JSON.parse(r.out) as Obj[];
    expect(cli!.response.allowed).toBe(false);
    expect(cli!.response.status.message).toMatch(
      /cannot read configmap ml\/gone: not given; pass the ConfigMap with --configmap FILE/,
    );
    expect(r.code).toBe(1);
  });

  it('the request names the resource of every pod-creating kind', () => {
    expect(Object.keys(RESOURCES).sort()).toEqual(Object.keys(TEMPLATE_PATHS).sort());
  });
});

describe('modelgate review of a file with other kinds beside its workloads', () => {
  it('notes a Service on stderr, skips it, and decides the Deployment', async () => {
    const r = await review(
      [],
      yamlOf(deployment(), { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } }),
    );
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/stdin document 2: kind "Service" creates no pods: not checked/);
    expect(r.out).toMatch(/: ALLOWED/);
  });
});
