/**
 * Helpers the e2e files share: the cluster from globalSetup, workload builders (one base
 * inference Deployment, varied per test), manifests (the seed vectors, or signed here with the
 * seed algorithm), and the shapes of what kubectl prints.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, expect, inject } from 'vitest';
import { kubectl, kubectlOk, type KubectlResult } from '../harness/kubectl.js';
import { waitFor } from '../harness/net.js';
import { repoRoot } from '../harness/sandbox.js';
import { ensureNamespace } from '../harness/webhook.js';
import type { ManifestV1 } from '../../src/manifest/types.js';
import type { E2EContext } from './context.js';
import './context.js';

export const fixtures = path.join(repoRoot, 'test', 'e2e', 'fixtures');
export const INFERENCE = { 'modelgate.dev/inference': 'true' };
export const VERIFY_IMAGE = 'ghcr.io/modelgate/modelgate:0.1.0';

export function ctx(): E2EContext {
  return inject('e2e');
}

export type Obj = Record<string, unknown>;

// ---- manifests

export type { ManifestV1 } from '../../src/manifest/types.js';

export const seedKey = fs.readFileSync(path.join(fixtures, 'seed-v1', 'signing.key'), 'utf8');
export const signedSeed = readManifest('fraud-detector.manifest.json');
export const wrongKeySeed = readManifest('wrong-key.manifest.json');

function readManifest(name: string): ManifestV1 {
  return JSON.parse(fs.readFileSync(path.join(fixtures, 'seed-v1', name), 'utf8')) as ManifestV1;
}

/** The seed's algorithm: HMAC-SHA256(key, sha256 hex as UTF-8). */
export function signV1(
  key: string,
  modelPath: string,
  content: string = randomBytes(32).toString('hex'),
): ManifestV1 {
  const fileHash = createHash('sha256').update(content).digest('hex');
  return {
    model_path: modelPath,
    file_hash: fileHash,
    signature: createHmac('sha256', key).update(fileHash, 'utf8').digest('hex'),
    signed_at: new Date().toISOString().replace('Z', ''),
    file_size: content.length,
  };
}

/** The signed manifest with one hex digit of its hash changed: the signature no longer matches. */
export function tampered(m: ManifestV1): ManifestV1 {
  const last = m.file_hash.at(-1) === '0' ? '1' : '0';
  return { ...m, file_hash: m.file_hash.slice(0, -1) + last };
}

// ---- workloads

export interface PodOptions {
  /** Manifest(s) for the modelgate.dev/manifest annotation; none = no annotation. */
  manifest?: ManifestV1 | ManifestV1[];
  /** Extra annotations (e.g. modelgate.dev/manifest-configmap). */
  annotations?: Record<string, string>;
  /** sha256 pinned by the verify init container; default: the manifests' hashes. */
  pin?: string[];
  volumes?: Obj[];
}

function hashesOf(opts: PodOptions): string[] {
  if (opts.pin) return opts.pin;
  const list =
    opts.manifest === undefined ? [] : Array.isArray(opts.manifest) ? opts.manifest : [opts.manifest];
  return list.map((m) => m.file_hash);
}

export function modelAnnotations(opts: PodOptions): Record<string, string> {
  const annotations = { ...opts.annotations };
  if (opts.manifest !== undefined) annotations['modelgate.dev/manifest'] = JSON.stringify(opts.manifest);
  return annotations;
}

/** A pod spec with the `modelgate verify` init container pinning the model hash(es). */
export function podSpec(opts: PodOptions): Obj {
  const pins = hashesOf(opts);
  return {
    ...(pins.length > 0 && {
      initContainers: [
        {
          name: 'verify-model',
          image: VERIFY_IMAGE,
          args: [
            'verify',
            ...pins.map((_, i) => `/models/model-${i}.onnx`),
            ...pins.flatMap((h) => ['--sha256', h]),
          ],
          volumeMounts: [{ name: 'models', mountPath: '/models', readOnly: true }],
        },
      ],
    }),
    containers: [
      {
        name: 'server',
        image: 'registry.example.com/inference-server:1.0',
        volumeMounts: [{ name: 'models', mountPath: '/models', readOnly: true }],
      },
    ],
    volumes: [{ name: 'models', emptyDir: {} }, ...(opts.volumes ?? [])],
  };
}

function template(name: string, opts: PodOptions): Obj {
  return { metadata: { labels: { app: name, ...INFERENCE } }, spec: podSpec(opts) };
}

function meta(name: string, namespace: string, opts: PodOptions): Obj {
  return { name, namespace, labels: { app: name, ...INFERENCE }, annotations: modelAnnotations(opts) };
}

export function deployment(name: string, namespace: string, opts: PodOptions = {}, replicas = 1): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(name, namespace, opts),
    spec: { replicas, selector: { matchLabels: { app: name } }, template: template(name, opts) },
  };
}

export function pod(name: string, namespace: string, opts: PodOptions = {}): Obj {
  return { apiVersion: 'v1', kind: 'Pod', metadata: meta(name, namespace, opts), spec: podSpec(opts) };
}

export function statefulSet(name: string, namespace: string, opts: PodOptions = {}): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: meta(name, namespace, opts),
    spec: {
      serviceName: name,
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: template(name, opts),
    },
  };
}

/** A core/v1 ReplicationController: its selector is a plain label map, not matchLabels. */
export function replicationController(
  name: string,
  namespace: string,
  opts: PodOptions = {},
  replicas = 1,
): Obj {
  return {
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: meta(name, namespace, opts),
    spec: { replicas, selector: { app: name }, template: template(name, opts) },
  };
}

export function cronJob(name: string, namespace: string, opts: PodOptions = {}): Obj {
  const tpl = template(name, opts);
  (tpl.spec as Obj).restartPolicy = 'Never';
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: meta(name, namespace, opts),
    spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: tpl } } },
  };
}

export function job(name: string, namespace: string, opts: PodOptions = {}): Obj {
  const tpl = template(name, opts);
  (tpl.spec as Obj).restartPolicy = 'Never';
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: meta(name, namespace, opts),
    spec: { template: tpl },
  };
}

export function configMap(name: string, namespace: string, data: Record<string, string>): Obj {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}

// ---- kubectl

export async function k(args: string[], input?: Obj | string): Promise<KubectlResult> {
  return kubectl(ctx().kubeconfig, args, typeof input === 'object' ? JSON.stringify(input) : input);
}

export async function kOk(args: string[], input?: Obj | string): Promise<string> {
  return kubectlOk(ctx().kubeconfig, args, typeof input === 'object' ? JSON.stringify(input) : input);
}

export async function apply(obj: Obj, ...flags: string[]): Promise<KubectlResult> {
  return k(['apply', ...flags, '-f', '-'], obj);
}

/** A namespace with its "default" ServiceAccount (Pods are refused by the API until it exists). */
export async function namespace(name: string): Promise<string> {
  await ensureNamespace(ctx().kubeconfig, name);
  await waitFor(
    `ServiceAccount default in ${name}`,
    async () => ((await k(['get', 'sa', 'default', '-n', name])).code === 0 ? true : undefined),
    {
      timeoutMs: 30_000,
    },
  );
  return name;
}

const DENIED = /admission webhook "([^"]+)" denied the request: (.*)$/m;

/** The part of kubectl's error line that modelgate wrote (status.message), or undefined. */
export function denial(r: KubectlResult): string | undefined {
  return DENIED.exec(r.stderr)?.[2];
}

/** Asserts kubectl was refused by modelgate with one line naming the model. */
export function expectRefused(r: KubectlResult, model: string): string {
  expect(r.code, `expected a refusal, kubectl said: ${r.stdout}${r.stderr}`).not.toBe(0);
  const message = denial(r);
  expect(message, `not a webhook denial: ${r.stderr}`).toBeDefined();
  expect(message).toMatch(/^modelgate: /);
  expect(message).toContain(model);
  expect(
    r.stderr
      .trim()
      .split('\n')
      .filter((l) => l.includes('denied the request')),
  ).toHaveLength(1);
  return message!;
}

export function expectAdmitted(r: KubectlResult): void {
  expect(r.code, `expected admission, kubectl said: ${r.stderr}`).toBe(0);
}

/** kubectl's "Warning: ..." lines. */
export function warnings(r: KubectlResult): string[] {
  return r.stderr
    .split('\n')
    .filter((l) => l.startsWith('Warning: '))
    .map((l) => l.slice('Warning: '.length));
}

// ---- events

export interface EventSummary {
  reason: string;
  regarding: string;
  note: string;
  reportingController: string;
  reportingInstance: string;
  annotations: Record<string, string>;
}

interface EventItem {
  metadata?: { annotations?: Record<string, string> };
  reason?: string;
  note?: string;
  reportingController?: string;
  reportingInstance?: string;
  regarding?: { kind?: string; name?: string };
}

export async function events(ns: string): Promise<EventSummary[]> {
  const out = JSON.parse(await kOk(['get', 'events.v1.events.k8s.io', '-n', ns, '-o', 'json'])) as {
    items: EventItem[];
  };
  return out.items.map((e) => ({
    reason: e.reason ?? '',
    regarding: `${e.regarding?.kind ?? ''}/${e.regarding?.name ?? ''}`,
    note: e.note ?? '',
    reportingController: e.reportingController ?? '',
    reportingInstance: e.reportingInstance ?? '',
    annotations: e.metadata?.annotations ?? {},
  }));
}

/** Events are sent asynchronously: poll until one with `reason` regards `kind/name`. */
export async function waitForEvent(ns: string, reason: string, regarding: string): Promise<EventSummary> {
  return waitFor(
    `a ${reason} Event regarding ${regarding} in ${ns}`,
    async () => (await events(ns)).find((e) => e.reason === reason && e.regarding === regarding),
    {
      timeoutMs: 20_000,
      intervalMs: 300,
    },
  );
}

/** The webhook's decision log lines (pino JSON); default: the suite webhook's log. */
export function decisions(logFile: string = ctx().webhookLog): Obj[] {
  return fs
    .readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Obj)
    .filter((l) => l.msg === 'admission');
}

export function unique(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** On a failed test, print the tail of the webhook's log: it usually says why. */
export function showWebhookLogOnFailure(): void {
  afterEach((t) => {
    if (t.task.result?.state !== 'fail') return;
    const lines = fs.readFileSync(ctx().webhookLog, 'utf8').trimEnd().split('\n').slice(-15);
    process.stderr.write(`----- modelgate serve log (last 15 lines) -----\n${lines.join('\n')}\n`);
  });
}
