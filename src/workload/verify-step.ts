/**
 * The verify step: an init container running `modelgate verify FILE... --sha256 HEX...` that
 * re-hashes the model bytes at pod start. The pod's author writes it, so it counts only in one
 * exact, inert form, read with the very grammar the CLI runs (manifest/verify-command.ts), and
 * only if nothing that runs after it or beside it can write the bytes it checked.
 */
import { isDeepStrictEqual } from 'node:util';
import { posix } from 'node:path';
import { asArray, asObject, asString, isObject, type Obj } from '../json/object.js';
import { digestError } from '../manifest/fields.js';
import type { Problem } from '../manifest/types.js';
import { parseVerifyArgs, VERIFY_ENTRYPOINT, type VerifyValues } from '../manifest/verify-command.js';

export interface VerifyStep {
  container: string;
  image: string;
  /** Index in initContainers: everything at a higher index, and every sidecar, runs after it. */
  index: number;
  /** Field path of the container, e.g. spec.template.spec.initContainers[0]. */
  path: string;
  /** Each file it checks and the sha256 it must have (paired in order, as the CLI pairs them). */
  files: { path: string; sha256: string }[];
  /** The volumes those files lie in: its model volumes. */
  volumes: string[];
  /**
   * The OMS form (`verify MODEL --oms-bundle B --oms-payload-sha256 H`): the model path (the model
   * volume's mountPath: it checks the volume whole), the bundle and the pinned payload hash.
   * `files` is then empty: the bundle's signed list is what it checks.
   */
  oms?: { model: string; bundle: string; payloadSha256: string };
  /** Why it is not an exact, inert verify step; empty when it counts. */
  problems: Problem[];
}

export const CODES = {
  notInert: 'verify-step-not-inert',
  modelVolumeWritable: 'model-volume-writable',
  modelVolumeShared: 'model-volume-shared',
} as const;

/** Volume sources whose content the API can change under a running pod (the kubelet syncs them). */
const API_SYNCED_SOURCES = ['configMap', 'secret', 'downwardAPI', 'projected'] as const;

/** Volume sources only this pod can reach: nothing outside it can rewrite them after the step. */
const POD_PRIVATE_SOURCES = ['emptyDir', 'image'] as const;

/** Container fields that change what runs, or where, while the image and args stay the same. */
const FORBIDDEN_FIELDS: readonly [field: string, why: string][] = [
  ['env', 'environment variables change what Node runs (NODE_OPTIONS) and feed $(VAR) expansion'],
  ['envFrom', 'environment variables change what Node runs (NODE_OPTIONS) and feed $(VAR) expansion'],
  ['restartPolicy', 'restartPolicy: Always makes it a sidecar, which does not gate the serving containers'],
  ['lifecycle', 'lifecycle hooks run other commands in the container'],
  ['workingDir', 'the working directory changes what relative paths mean'],
];

/** A modelgate image by name: what a verify step may run when the policy pins no verifyImages. */
export const MODELGATE_IMAGE = /(^|\/)modelgate(:|@|$)/;

/** `value` as a list of strings, or undefined when it is anything else. */
function strings(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((a) => typeof a === 'string') ? value : undefined;
}

/** An init container that looks like a verify step: it says `verify`, or runs a modelgate image. */
function looksLikeVerifyStep(c: Obj): boolean {
  const argv = [...asArray(c.command), ...asArray(c.args)];
  return argv.includes('verify') || MODELGATE_IMAGE.test(asString(c.image) ?? '');
}

/** Every init container that looks like a verify step, with why it does not count (if it does not). */
export function verifySteps(podSpec: Obj | undefined, specPath: string): VerifyStep[] {
  const volumes = volumesByName(podSpec);
  const steps: VerifyStep[] = [];
  asArray(podSpec?.initContainers).forEach((c, index) => {
    if (!isObject(c) || !looksLikeVerifyStep(c)) return;
    steps.push(readStep(c, index, `${specPath}.initContainers[${index}]`, volumes));
  });
  return steps;
}

function readStep(c: Obj, index: number, path: string, volumes: Map<string, Obj>): VerifyStep {
  const container = asString(c.name) ?? '';
  const step: VerifyStep = {
    container,
    image: asString(c.image) ?? '',
    index,
    path,
    files: [],
    volumes: [],
    problems: [],
  };
  const fail = (field: string, why: string): void => {
    step.problems.push({
      code: CODES.notInert,
      path: field,
      message: `init container "${container}" is not an exact verify step (${field}): ${why}`,
    });
  };
  checkFields(c, path, fail);
  const argv = readArgv(c, path, fail);
  const files = argv && 'oms' in argv ? [{ path: argv.oms.model, sha256: '' }] : argv;
  if (files) placeFiles(step, files, { mounts: asArray(c.volumeMounts), volumes, fail });
  if (step.problems.length === 0) checkMountLayout(asArray(c.volumeMounts), files ?? [], path, fail);
  if (argv && 'oms' in argv) {
    if (step.problems.length === 0) wholeVolume(argv.oms.model, asArray(c.volumeMounts), `${path}.args`, fail);
    step.oms = argv.oms;
    step.files = [];
  }
  return step;
}

/**
 * The OMS step checks a whole volume: MODEL must be the model volume's mountPath, so nothing it
 * did not check (another model directory, a file beside the signed one) can lie in that volume
 * for a serving container to load instead. A single-file model is that volume's one file.
 */
function wholeVolume(model: string, mounts: unknown[], path: string, fail: (field: string, why: string) => void): void {
  const mountPath = asString(mountOf(`${model}/.`, mounts)?.mount.mountPath);
  if (mountPath !== undefined && cleanPath(mountPath) !== model)
    fail(path, `the OMS step checks the model volume whole: pass its mountPath ${cleanPath(mountPath)} as MODEL, not ${model}, and keep only the model in that volume`);
}

/** A mount path as the runtime resolves it: normalised, no trailing slash. */
function cleanPath(mountPath: string): string {
  return posix.normalize(mountPath).replace(/(.)\/+$/, '$1');
}

function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir === '/' ? '/' : `${dir}/`);
}

/**
 * Where the verify step's program lives in its image (and what Node reads at start): a mount
 * over any of these would run other code under the verify step's name.
 */
const IMAGE_PATHS = [
  '/app',
  '/node_modules',
  '/usr',
  '/bin',
  '/sbin',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/etc',
  '/opt',
  '/proc',
  '/sys',
  '/dev',
  '/var/lib',
];

function overlaps(a: string, b: string): boolean {
  return within(a, b) || within(b, a);
}

/**
 * No mount of the verify step may lie over its program (the image's /app, /usr, /etc, ...), and
 * none may lie at, above or below another where a model file is: such a mount could lay other
 * bytes over the files it hashes, which the serving containers would not see. Other mounts (the
 * ServiceAccount token the API server adds) are harmless.
 */
function checkMountLayout(
  mounts: unknown[],
  files: { path: string }[],
  path: string,
  fail: (field: string, why: string) => void,
): void {
  const paths = mounts.map((m) => cleanPath(asString(asObject(m)?.mountPath) ?? ''));
  const holdsModel = paths.map((p) => files.some((f) => within(f.path, p)));
  paths.forEach((p, i) => {
    const field = `${path}.volumeMounts[${i}]`;
    if (!p.startsWith('/')) return fail(field, `mountPath "${p}" must be absolute`);
    const program = IMAGE_PATHS.find((q) => overlaps(p, q));
    if (program !== undefined)
      return fail(
        field,
        `a mount at ${p} lies over the image's ${program}: mount the model elsewhere (e.g. /models)`,
      );
    const other = paths.findIndex((q, j) => j !== i && (holdsModel[i] || holdsModel[j]) && overlaps(p, q));
    if (other >= 0)
      fail(
        field,
        `mounts at ${p} and ${paths[other]} overlap where a model file lies: mount each model volume once, apart`,
      );
  });
}

function checkFields(c: Obj, path: string, fail: (field: string, why: string) => void): void {
  for (const [field, why] of FORBIDDEN_FIELDS) {
    const v = c[field];
    const empty = v === undefined || v === null || (Array.isArray(v) && v.length === 0);
    if (!empty) fail(`${path}.${field}`, `${why}: remove ${field}`);
  }
  if (c.command !== undefined && !isDeepStrictEqual(strings(c.command), VERIFY_ENTRYPOINT))
    fail(`${path}.command`, `command replaces the image's entrypoint: remove command`);
}

type Pins = { path: string; sha256: string }[];
type OmsPin = { oms: NonNullable<VerifyStep['oms']> };

/** The files and pins of `verify FILE... --sha256 HEX...` (or the OMS form), or undefined when argv is anything else. */
function readArgv(
  c: Obj,
  path: string,
  fail: (field: string, why: string) => void,
): Pins | OmsPin | undefined {
  const args = c.args === undefined ? [] : strings(c.args);
  if (args === undefined) return void fail(`${path}.args`, 'args must be a list of strings');
  if ([...(strings(c.command) ?? []), ...args].some((a) => a.includes('$(')))
    return void fail(
      `${path}.args`,
      `"$(" is expanded by Kubernetes from the environment: write the values out`,
    );
  if (args[0] !== 'verify') return void fail(`${path}.args[0]`, 'the first argument must be "verify"');
  const parsed = parseVerifyArgs(args.slice(1));
  if (!parsed.ok) return void fail(`${path}.args`, `${parsed.message}: use verify FILE... --sha256 HEX...`);
  const { values, positionals } = parsed;
  if (values['oms-bundle'] !== undefined || values['oms-payload-sha256'] !== undefined)
    return readOmsArgv(values, positionals, `${path}.args`, fail);
  const extra = Object.entries(values).filter(([k, v]) => k !== 'sha256' && v !== false);
  if (extra.length > 0)
    return void fail(
      `${path}.args`,
      `--${extra.map(([k]) => k).join(', --')} is not allowed: a verify step takes only files and one --sha256 per file`,
    );
  return pairFiles(positionals, values.sha256 ?? [], `${path}.args`, fail);
}

// eslint-disable-next-line no-control-regex -- a NUL or newline in a path is hostile, not a name
const CONTROL_RE = /[\u0000-\u001f]/;

function isCleanPath(f: string): boolean {
  return f.startsWith('/') && posix.normalize(f) === f && !f.endsWith('/') && !CONTROL_RE.test(f);
}

/** `verify MODEL --oms-bundle B --oms-payload-sha256 HEX`, exactly: nothing else. */
function readOmsArgv(
  values: VerifyValues,
  positionals: string[],
  path: string,
  fail: (field: string, why: string) => void,
): OmsPin | undefined {
  const usage = 'use verify MODEL --oms-bundle BUNDLE --oms-payload-sha256 HEX';
  const extra = Object.entries(values).filter(([k, v]) => !k.startsWith('oms-') && v !== false);
  if (extra.length > 0) return void fail(path, `--${extra.map(([k]) => k).join(', --')} is not allowed with --oms-bundle: ${usage}`);
  const [model, ...more] = positionals;
  const bundle = values['oms-bundle'];
  const pin = values['oms-payload-sha256'];
  if (model === undefined || more.length > 0 || bundle === undefined || pin === undefined)
    return void fail(path, `one model path, --oms-bundle and --oms-payload-sha256: ${usage}`);
  const bad = [model, bundle].find((f) => !isCleanPath(f));
  if (bad !== undefined) return void fail(path, `path ${JSON.stringify(bad)} must be an absolute, normalised path`);
  const why = digestError(pin);
  if (why !== undefined) return void fail(path, `--oms-payload-sha256 ${JSON.stringify(pin)} ${why}`);
  return { oms: { model, bundle, payloadSha256: pin } };
}

function pairFiles(
  files: string[],
  pins: string[],
  path: string,
  fail: (field: string, why: string) => void,
): { path: string; sha256: string }[] | undefined {
  if (files.length === 0 || files.length !== pins.length)
    return void fail(
      path,
      `${files.length} file(s) but ${pins.length} --sha256 value(s): give one per file, in order`,
    );
  const badFile = files.find((f) => !isCleanPath(f));
  if (badFile !== undefined)
    return void fail(path, `file ${JSON.stringify(badFile)} must be an absolute, normalised path`);
  const badPin = pins.map((p) => [p, digestError(p)] as const).find(([, why]) => why !== undefined);
  if (badPin) return void fail(path, `--sha256 ${JSON.stringify(badPin[0])} ${badPin[1]}`);
  return files.map((f, i) => ({ path: f, sha256: pins[i] as string }));
}

interface Mounts {
  mounts: unknown[];
  volumes: Map<string, Obj>;
  fail: (field: string, why: string) => void;
}

/** Each file must lie in a read-only, whole-volume mount of a volume only the pod can write. */
function placeFiles(step: VerifyStep, files: { path: string; sha256: string }[], m: Mounts): void {
  const placed = new Set<string>();
  for (const file of files) {
    // An OMS model directory may be the mount itself; its files lie inside it.
    const hit = mountOf(file.sha256 === '' ? `${file.path}/.` : file.path, m.mounts);
    const where = `${step.path}.volumeMounts`;
    if (hit === undefined)
      return m.fail(where, `${file.path} lies in no volume mount: mount the model volume`);
    const { mount, index } = hit;
    const at = `${where}[${index}]`;
    if (mount.readOnly !== true) return m.fail(at, `the model volume must be mounted readOnly: true`);
    if (mount.subPath !== undefined || mount.subPathExpr !== undefined)
      return m.fail(at, `mount the whole model volume (no subPath), so every container sees the same files`);
    const volume = m.volumes.get(asString(mount.name) ?? '');
    const synced = volume && API_SYNCED_SOURCES.find((s) => volume[s] !== undefined);
    if (!volume) return m.fail(at, `volume "${String(mount.name)}" is not in the pod's volumes`);
    if (synced)
      return m.fail(at, `a ${synced} volume changes when its API object does: use emptyDir or a PVC`);
    placed.add(asString(mount.name) ?? '');
  }
  step.files = files;
  step.volumes = [...placed];
}

/** The deepest mount whose mountPath contains `file`. */
function mountOf(file: string, mounts: unknown[]): { mount: Obj; index: number } | undefined {
  let best: { mount: Obj; index: number; depth: number } | undefined;
  mounts.forEach((raw, index) => {
    const mount = asObject(raw);
    const at = asString(mount?.mountPath);
    if (!mount || at === undefined) return;
    const dir = cleanPath(at);
    if (file === dir || !within(file, dir) || (best && best.depth >= dir.length)) return;
    best = { mount, index, depth: dir.length };
  });
  return best && { mount: best.mount, index: best.index };
}

function volumesByName(podSpec: Obj | undefined): Map<string, Obj> {
  const out = new Map<string, Obj>();
  for (const v of asArray(podSpec?.volumes)) {
    const name = asString(asObject(v)?.name);
    if (name !== undefined && isObject(v)) out.set(name, v);
  }
  return out;
}

/** The PVC a volume names: its claim, or for a StatefulSet claim template the claims' common prefix. */
function claimOf(volume: Obj): { name: string; prefix: boolean } | undefined {
  const claim = asString(asObject(volume.persistentVolumeClaim)?.claimName);
  if (claim === undefined) return undefined;
  return claim.endsWith('-*') ? { name: claim.slice(0, -1), prefix: true } : { name: claim, prefix: false };
}

function sameClaim(a: { name: string; prefix: boolean }, b: { name: string; prefix: boolean }): boolean {
  if (a.prefix) return b.name.startsWith(a.name);
  return b.prefix ? a.name.startsWith(b.name) : a.name === b.name;
}

/** A volume's source type: the one key beside `name`. */
function sourceOf(volume: Obj): string {
  return Object.keys(volume)
    .filter((k) => k !== 'name')
    .sort()
    .join('+');
}

/** A generic ephemeral volume is the PVC "<pod>-<volume>": any claim ending in "-<volume>" may be it. */
function ephemeralClaimAlias(ephemeral: Obj, other: Obj): boolean {
  return claimOf(other)?.name.endsWith(`-${String(ephemeral.name)}`) === true;
}

/**
 * Whether two volumes of one pod may reach the same storage. A hostPath reaches any (the node's
 * disk holds every volume); pod-private sources (emptyDir, image) otherwise only under their own
 * name; PVCs by claim, generic ephemeral volumes by their claim's name; any other source (nfs,
 * csi, iscsi, ...) conservatively with every volume of the same type.
 */
function mayAlias(a: Obj, b: Obj): boolean {
  if (a.name === b.name || a.hostPath !== undefined || b.hostPath !== undefined) return true;
  if (POD_PRIVATE_SOURCES.some((s) => a[s] !== undefined || b[s] !== undefined)) return false;
  if (a.ephemeral !== undefined) return ephemeralClaimAlias(a, b);
  if (b.ephemeral !== undefined) return ephemeralClaimAlias(b, a);
  const [ca, cb] = [claimOf(a), claimOf(b)];
  if (ca && cb) return sameClaim(ca, cb);
  return ca === undefined && cb === undefined && sourceOf(a) === sourceOf(b);
}

const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

/**
 * Once a verify step has checked a volume, nothing may write it: a container may mount a model
 * volume (or any volume sharing its storage) writable only if it is a plain init container that
 * runs before the first verify step of that volume. Sidecars run beside everything.
 */
export function modelVolumeProblems(
  podSpec: Obj | undefined,
  specPath: string,
  steps: VerifyStep[],
  opts: { shared: boolean },
): Problem[] {
  const volumes = volumesByName(podSpec);
  const guarded = guardedVolumes(volumes, steps);
  if (guarded.size === 0) return [];
  const problems = opts.shared ? [] : sharedVolumes(podSpec, specPath, guarded);
  const mayWriteBefore = firstWriterLimit(podSpec);
  for (const list of CONTAINER_LISTS) {
    asArray(podSpec?.[list]).forEach((c, index) => {
      if (!isObject(c)) return;
      const plain = list === 'initContainers' && c.restartPolicy === undefined && index < mayWriteBefore;
      const where = `${specPath}.${list}[${index}]`;
      const g = { guarded, volumes, before: plain ? index : Infinity };
      problems.push(...remountProblems(c, where), ...writableMounts(c, where, g), ...leakPaths(c, where, g));
    });
  }
  return problems;
}

const REMOUNT_CAPABILITIES = new Set(['SYS_ADMIN', 'CAP_SYS_ADMIN', 'ALL']);

/** A privileged container, or one with SYS_ADMIN, can remount a read-only mount writable. */
function remountProblems(c: Obj, where: string): Problem[] {
  const sc = asObject(c.securityContext);
  const added = asArray(asObject(sc?.capabilities)?.add).map((a) => String(a).toUpperCase());
  if (sc?.privileged !== true && !added.some((a) => REMOUNT_CAPABILITIES.has(a))) return [];
  return [
    {
      code: CODES.modelVolumeWritable,
      path: `${where}.securityContext`,
      message: `container "${asString(c.name) ?? ''}" (${where}.securityContext) is privileged or adds SYS_ADMIN, so it can remount the model volume writable or reach it on the node: drop privileged and SYS_ADMIN`,
    },
  ];
}

/**
 * A writer before the verify step may mount pod-private volumes only: through a volume another
 * pod can mount (a PVC, a hostPath) it could hand its open, writable file to a process outside
 * the pod (a unix socket on shared storage) that rewrites the bytes after the step.
 */
function leakPaths(c: Obj, where: string, g: Guard): Problem[] {
  const writer = asArray(c.volumeMounts).some((m) => g.before !== Infinity && writesBefore(asObject(m), g));
  if (!writer) return [];
  return asArray(c.volumeMounts).flatMap((m, i) => {
    const volume = g.volumes.get(asString(asObject(m)?.name) ?? '');
    if (!volume || PRIVATE_TO_POD.some((s) => volume[s] !== undefined)) return [];
    return [
      {
        code: CODES.modelVolumeWritable,
        path: `${where}.volumeMounts[${i}]`,
        message: `container "${asString(c.name) ?? ''}" writes the model before the verify step and also mounts ${sourceOf(volume)} volume "${String(volume.name)}" (${where}.volumeMounts[${i}]), which other pods can reach: a writer may mount only emptyDir, image, configMap, secret, downwardAPI or projected volumes`,
      },
    ];
  });
}

/** Sources no other pod can reach (the API-synced ones are read-only in the pod). */
const PRIVATE_TO_POD = [...POD_PRIVATE_SOURCES, ...API_SYNCED_SOURCES] as const;

/** A mount through which a writer before the verify step writes a model volume. */
function writesBefore(m: Obj | undefined, g: Guard): boolean {
  const first = firstCheckOf(m, g);
  return first !== undefined && g.before < first && m?.readOnly !== true;
}

/** Index of the first verify step that checks the storage a mount reaches; undefined: none does. */
function firstCheckOf(m: Obj | undefined, g: Guard): number | undefined {
  const volume = g.volumes.get(asString(m?.name) ?? '');
  const firsts = [...g.guarded].filter(([v]) => volume && mayAlias(v, volume)).map(([, i]) => i);
  return firsts.length === 0 ? undefined : Math.min(...firsts);
}

const SHARED_NAMESPACES = ['shareProcessNamespace', 'hostPID', 'hostIPC', 'hostNetwork'] as const;

/**
 * Init containers from this index on may not write a model volume at all. A native sidecar runs
 * beside every later init container, and with a shared process namespace (or the node's) other
 * processes see the writer: it could hand its open file to one that outlives the verify step.
 */
function firstWriterLimit(podSpec: Obj | undefined): number {
  // The node's process, IPC and network namespaces (abstract unix sockets) reach other pods.
  if (SHARED_NAMESPACES.some((field) => podSpec?.[field] === true)) return 0;
  const sidecar = asArray(podSpec?.initContainers).findIndex(
    (c) => isObject(c) && c.restartPolicy !== undefined,
  );
  return sidecar < 0 ? Infinity : sidecar;
}

/** Model volumes other pods may reach (PVCs, hostPath, nfs, ...): they can rewrite the bytes later. */
function sharedVolumes(podSpec: Obj | undefined, specPath: string, guarded: Map<Obj, number>): Problem[] {
  const all = asArray(podSpec?.volumes);
  return [...guarded.keys()]
    .filter((v) => !POD_PRIVATE_SOURCES.some((s) => v[s] !== undefined))
    .map((v) => {
      const index = all.indexOf(v);
      const at = index >= 0 ? `${specPath}.volumes[${index}]` : `${specPath}.volumes`;
      return {
        code: CODES.modelVolumeShared,
        path: at,
        message: `model volume "${String(v.name)}" (${at}) is a ${sourceOf(v)} volume, which other pods can rewrite after the verify step: copy the model into an emptyDir in an init container before the step, use an image volume, or accept the risk with sharedModelVolumes: true in the rule`,
      };
    });
}

/** Each verified volume → index of the first verify step that checks it. */
function guardedVolumes(volumes: Map<string, Obj>, steps: VerifyStep[]): Map<Obj, number> {
  const guarded = new Map<Obj, number>();
  for (const step of steps) {
    for (const name of step.volumes) {
      const volume = volumes.get(name);
      if (volume) guarded.set(volume, Math.min(guarded.get(volume) ?? Infinity, step.index));
    }
  }
  return guarded;
}

interface Guard {
  guarded: Map<Obj, number>;
  volumes: Map<string, Obj>;
  /** The container's index when it is a plain init container (may run before a verify step). */
  before: number;
}

/** A mount (or block device) through which this container could change verified bytes. */
function writesModel(m: Obj | undefined, device: boolean, g: Guard): boolean {
  const first = firstCheckOf(m, g);
  if (first === undefined || g.before < first) return false;
  return device || m?.readOnly !== true;
}

function writableMounts(c: Obj, where: string, g: Guard): Problem[] {
  const name = asString(c.name) ?? '';
  const problems: Problem[] = [];
  const uses = [
    ...asArray(c.volumeMounts).map((m, i) => ({
      m: asObject(m),
      field: `volumeMounts[${i}]`,
      device: false,
    })),
    ...asArray(c.volumeDevices).map((m, i) => ({
      m: asObject(m),
      field: `volumeDevices[${i}]`,
      device: true,
    })),
  ];
  for (const { m, field, device } of uses) {
    if (!writesModel(m, device, g)) continue;
    problems.push({
      code: CODES.modelVolumeWritable,
      path: `${where}.${field}`,
      message: `container "${name}" (${where}.${field}) can write model volume "${String(m?.name)}" after the verify step checked it: ${device ? 'remove the block device' : 'set readOnly: true'}`,
    });
  }
  return problems;
}
