import { readFile } from 'node:fs/promises';
import { RequestError, requestFor, type RequestOptions } from '../admission/request.js';
import { reviewResponse } from '../admission/respond.js';
import type { AdmissionRequest } from '../admission/types.js';
import { decideAdmission } from '../decision/decide.js';
import { describe } from '../decision/message.js';
import { planAdmission } from '../decision/plan.js';
import type { Decision } from '../decision/types.js';
import { manifestsFromConfigMaps } from '../kube/manifest-refs.js';
import { isPodCreatingKind } from '../workload/kinds.js';
import { MemoryKeyring } from '../keys/keyring.js';
import { loadKeyDir } from '../keys/load.js';
import type { Keyring } from '../keys/types.js';
import { defaultPolicy } from '../policy/defaults.js';
import { formatPolicyError, loadPolicyFile } from '../policy/load.js';
import type { Policy } from '../policy/types.js';
import type { ModelRef, ResolvedManifest } from '../workload/types.js';
import { parseFlags } from './args.js';
import { formatDecision } from './review-format.js';
import {
  addConfigMap,
  parseObjects,
  parseReviewInput,
  type ConfigMapFiles,
  type InputObject,
} from './review-input.js';
import type { CliIO, Command } from './types.js';
import { UsageError } from './types.js';

const HELP = `usage: modelgate review [-f FILE|-] [--policy P] [--keys-dir D] [--now TIME]
                        [--user U] [--groups G1,G2] [--namespace N] [--operation CREATE|UPDATE]
                        [--old FILE] [--dry-run] [--configmap FILE]... [-o text|json]

Decides, offline and exactly as the webhook would, either
  - the objects you will 'kubectl apply -f': YAML or JSON, several documents separated by ---,
    or a kind: List; every pod-creating kind (Pod, Deployment, ReplicaSet, ReplicationController,
    StatefulSet, DaemonSet, Job, CronJob). ConfigMap documents in the file are not reviewed: they
    are what the workloads' manifest ConfigMaps resolve to. Other kinds (a Service beside the
    Deployment) are noted on stderr and skipped.
  - or one AdmissionReview (as the API server sends it; answered as before, in JSON).

The request is built as the API server builds it:
  --user U            the requester (default: $USER, else "review"); rules on requesters and
                      break-glass read it
  --groups G1,G2      the requester's groups; "system:authenticated" is always added, as the
                      API server does
  --namespace N       the namespace applied to (default: the object's own, else "default"); an
                      object in another namespace is bad input, as with kubectl
  --operation OP      CREATE (default) or UPDATE; UPDATE needs --old
  --old FILE          the objects as they are in the cluster (matched by kind, namespace, name)
  --dry-run           a dry-run request (kubectl apply --dry-run=server)
  --configmap FILE    ConfigMap YAML for modelgate.dev/manifest-configmap and manifest-volume
                      refs (repeatable); resolved with the webhook's rules; a ConfigMap not given
                      is a problem (configmap-unavailable), never a pass
  --policy P, --keys-dir D, --now TIME (ISO 8601)   as the server's
  -o text|json        text (default for objects): one line per object, DENIED or ALLOWED, then
                      each problem "- code at path: message"; json (default for an
                      AdmissionReview): the AdmissionReviews, request and response (for objects,
                      a JSON array, one per object)
exit: 0 all allowed, 1 any denied, 2 bad input (the message names the document)`;

const OPTIONS = {
  file: { type: 'string', short: 'f', default: '-' },
  policy: { type: 'string' },
  'keys-dir': { type: 'string' },
  now: { type: 'string' },
  user: { type: 'string' },
  groups: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  operation: { type: 'string' },
  old: { type: 'string' },
  'dry-run': { type: 'boolean', default: false },
  configmap: { type: 'string', multiple: true },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseFlags<typeof OPTIONS>>;

/** What every decision of one run shares. */
interface Context {
  policy: Policy;
  keyring: Keyring;
  now: Date;
  configMaps: ConfigMapFiles;
}

/**
 * The file's workloads. Its ConfigMaps are what manifest refs resolve to; like `kubectl apply -f`,
 * it may hold other kinds beside its workloads (a Service): noted on stderr and skipped.
 */
function workloadsOf(
  objects: InputObject[],
  context: Context,
  opts: { namespace: string; io: CliIO },
): InputObject[] {
  const workloads: InputObject[] = [];
  for (const o of objects) {
    if (o.object.kind === 'ConfigMap') addConfigMap(context.configMaps, o, opts.namespace);
    else if (isPodCreatingKind(String(o.object.kind))) workloads.push(o);
    else
      opts.io.stderr.write(
        `modelgate review: ${o.where}: kind ${JSON.stringify(o.object.kind ?? null)} creates no pods: not checked\n`,
      );
  }
  return workloads;
}

/** `modelgate review`: decide an AdmissionReview, or the objects of a manifest file, offline. */
export const review: Command = async (args, io) => {
  const values = parseFlags(args, OPTIONS);
  if (values.help) {
    io.stdout.write(`${HELP}\n`);
    return 0;
  }
  const output = outputOf(values.output);
  const source = values.file === '-' ? 'stdin' : values.file;
  const input = parseReviewInput(await readInput(values.file, io), source);
  const context = await contextOf(values);
  if (input.kind === 'review') {
    refuseRequestFlags(values);
    const decision = decide(input.request, context);
    if (output === 'text') io.stdout.write(formatDecision(decision));
    else io.stdout.write(`${JSON.stringify(reviewResponse(decision.response), null, 2)}\n`);
    return decision.response.allowed ? 0 : 1;
  }
  const workloads = workloadsOf(input.objects, context, { namespace: values.namespace ?? 'default', io });
  if (workloads.length === 0) throw new UsageError(`${source} holds no pod-creating objects`);
  const requests = await requestsFor(workloads, values, io);
  const decisions = requests.map((r) => decide(r, context));
  if (output === 'json')
    io.stdout.write(
      `${JSON.stringify(
        decisions.map((d, i) => exchange(requests[i]!, d)),
        null,
        2,
      )}\n`,
    );
  else io.stdout.write(decisions.map(formatDecision).join(''));
  return decisions.every((d) => d.response.allowed) ? 0 : 1;
};

/** The webhook's two phases; the shell's ConfigMap reads are the files given. */
function decide(request: AdmissionRequest, context: Context): Decision {
  const plan = planAdmission(request, context.policy);
  const resolved =
    plan.refs.length === 0 ? [] : resolveFromFiles(plan.namespace, plan.refs, context.configMaps);
  return decideAdmission(plan, { resolved, keyring: context.keyring, now: context.now });
}

function resolveFromFiles(
  namespace: string,
  refs: readonly ModelRef[],
  configMaps: ConfigMapFiles,
): ResolvedManifest[] {
  return manifestsFromConfigMaps(namespace, refs, (name) => {
    const cm = configMaps.get(`${namespace}/${name}`);
    return cm
      ? { cm }
      : { err: new Error('not given; pass the ConfigMap with --configmap FILE (namespace must match)') };
  });
}

function exchange(request: AdmissionRequest, decision: Decision): Record<string, unknown> {
  return { ...reviewResponse(decision.response), request };
}

function outputOf(flag: string | undefined): 'text' | 'json' | undefined {
  if (flag === undefined || flag === 'text' || flag === 'json') return flag;
  throw new UsageError(`-o must be text or json, got "${flag}"`);
}

async function contextOf(values: Values): Promise<Context> {
  const [keyring, policy, configMaps] = await Promise.all([
    loadKeys(values['keys-dir']),
    loadPolicy(values.policy),
    loadConfigMapFiles(values.configmap ?? [], values.namespace ?? 'default'),
  ]);
  const now = values.now === undefined ? new Date() : parseNow(values.now);
  return { keyring, policy, now, configMaps };
}

async function requestsFor(objects: InputObject[], values: Values, io: CliIO): Promise<AdmissionRequest[]> {
  const operation = operationOf(values.operation ?? 'CREATE');
  if (operation === 'UPDATE' && values.old === undefined)
    throw new UsageError('--operation UPDATE needs --old FILE');
  if (operation === 'CREATE' && values.old !== undefined)
    throw new UsageError('--old needs --operation UPDATE');
  const old = values.old === undefined ? [] : parseObjects(await readInput(values.old, io), values.old);
  const base = {
    userInfo: userOf(values, io),
    operation,
    dryRun: values['dry-run'],
    ...(values.namespace === undefined ? {} : { namespace: values.namespace }),
  };
  return objects.map(({ where, object }) => {
    try {
      const request = requestFor(object, base);
      if (operation === 'CREATE') return request;
      return requestFor(object, { ...base, oldObject: oldFor(request, old, where) });
    } catch (err) {
      if (err instanceof RequestError) throw new UsageError(`${where}: ${err.message}`);
      throw err;
    }
  });
}

/** An AdmissionReview carries its own request: flags that would build one cannot apply to it. */
function refuseRequestFlags(values: Values): void {
  const given: string[] = (['user', 'groups', 'namespace', 'operation', 'old'] as const).filter(
    (f) => values[f] !== undefined,
  );
  if (values['dry-run']) given.push('dry-run');
  if (given.length > 0)
    throw new UsageError(
      `--${given.join(', --')}: an AdmissionReview carries its own request; these apply to objects`,
    );
}

function operationOf(flag: string): RequestOptions['operation'] {
  if (flag === 'CREATE' || flag === 'UPDATE') return flag;
  throw new UsageError(`--operation must be CREATE or UPDATE, got "${flag}"`);
}

/** The API server always adds system:authenticated for an authenticated user. */
function userOf(values: Values, io: CliIO): RequestOptions['userInfo'] {
  const username = values.user ?? (io.env.USER || 'review');
  const given = (values.groups ?? '')
    .split(',')
    .map((g) => g.trim())
    .filter((g) => g !== '');
  return { username, groups: [...new Set([...given, 'system:authenticated'])] };
}

function oldFor(request: AdmissionRequest, old: InputObject[], where: string): Record<string, unknown> {
  const found = old.find(({ object }) => {
    const meta = (object.metadata ?? {}) as { name?: unknown; namespace?: unknown };
    return (
      object.kind === request.kind.kind &&
      meta.name === request.name &&
      (meta.namespace ?? request.namespace) === request.namespace
    );
  });
  if (!found) throw new UsageError(`${where}: --old has no ${describe(request)} to update`);
  return found.object;
}

async function loadConfigMapFiles(files: string[], namespace: string): Promise<ConfigMapFiles> {
  const maps: ConfigMapFiles = new Map();
  for (const file of files) {
    const body = await readFile(file).catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read ${file}: ${err.code ?? err.message}`);
    });
    for (const object of parseObjects(body, file)) addConfigMap(maps, object, namespace);
  }
  return maps;
}

async function readInput(file: string, io: CliIO): Promise<Buffer> {
  if (file !== '-') {
    return readFile(file).catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read ${file}: ${err.code ?? err.message}`);
    });
  }
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

async function loadKeys(dir: string | undefined): Promise<Keyring> {
  if (dir === undefined) return new MemoryKeyring([]);
  return loadKeyDir(dir).catch((err: Error) => {
    throw new UsageError(err.message);
  });
}

async function loadPolicy(file: string | undefined): Promise<Policy> {
  if (file === undefined) return defaultPolicy();
  const result = await loadPolicyFile(file);
  if (!result.ok)
    throw new UsageError(
      `invalid policy:\n${result.errors.map((e) => formatPolicyError(file, e)).join('\n')}`,
    );
  return result.policy;
}

function parseNow(text: string): Date {
  const now = new Date(text);
  if (Number.isNaN(now.getTime())) throw new UsageError(`--now must be an ISO 8601 time, got "${text}"`);
  return now;
}
