import { ANNOTATIONS as ANNOTATION, LABELS } from '../vocabulary/keys.js';
import { TEMPLATE_PATHS } from './kinds.js';

const INFERENCE_LABEL = LABELS.inference;
import type { Obj } from '../json/object.js';
import { asArray, asObject, asString, getPath, isObject, stringMap } from '../json/object.js';
import type { ContainerInfo, LabelConflict, ModelRef, Workload } from './types.js';
import { verifySteps } from './verify-step.js';

const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

/**
 * Reads what modelgate needs from any pod-creating object. Returns undefined for kinds it does
 * not know; never throws on odd shapes (a missing field reads as absent).
 */
export function extractWorkload(kind: string, object: unknown, namespace?: string): Workload | undefined {
  // `namespace`: the request's, which wins over the object's own metadata.namespace.
  const templatePath = TEMPLATE_PATHS[kind];
  if (templatePath === undefined || !isObject(object)) return undefined;
  const meta = asObject(object.metadata) ?? {};
  const { podSpec } = podTemplateOf(kind, object, templatePath);
  const { annotations, annotationConflicts } = effectiveAnnotations(object, templatePath);
  const base = templatePath.length === 0 ? '' : `${templatePath.join('.')}.`;
  const { labels, labelConflicts } = effectiveLabels(object, templatePath);
  return {
    kind,
    // The request's namespace is the API server's word; metadata.namespace is the author's.
    namespace: namespace ?? asString(meta.namespace) ?? '',
    name: asString(meta.name) ?? asString(meta.generateName) ?? '',
    labels,
    labelConflicts,
    annotations,
    annotationConflicts,
    templatePath: templatePath.join('.'),
    podSpec,
    containers: listContainers(podSpec, `${base}spec`),
    refs: modelRefs(annotations, podSpec, `${base}spec`),
    verifySteps: verifySteps(podSpec, `${base}spec`),
    approvers: splitList(annotations[ANNOTATION.approvedBy]),
  };
}

function podTemplateOf(
  kind: string,
  object: Obj,
  path: readonly string[],
): { podSpec: Obj | undefined } {
  const template = path.length === 0 ? object : asObject(getPath(object, path));
  const spec = asObject(template?.spec);
  return { podSpec: spec && kind === 'StatefulSet' ? withClaimVolumes(object, spec) : spec };
}

/**
 * A StatefulSet's pods get a PVC volume "<template>-<set>-<ordinal>" for each volumeClaimTemplate,
 * in place of a template volume of the same name: decisions read the volumes the pods will have.
 */
function withClaimVolumes(object: Obj, spec: Obj): Obj {
  const templates = asArray(getPath(object, ['spec', 'volumeClaimTemplates']));
  if (templates.length === 0) return spec;
  const set = asString(getPath(object, ['metadata', 'name'])) ?? '';
  const claims = templates
    .map((t) => asString(getPath(t, ['metadata', 'name'])))
    .filter((n): n is string => n !== undefined)
    .map((name) => ({ name, persistentVolumeClaim: { claimName: `${name}-${set}-*` } }));
  const kept = asArray(spec.volumes).filter((v) => !claims.some((c) => c.name === asObject(v)?.name));
  // Claims last, so the template's own volumes keep their indexes (field paths in messages).
  return { ...spec, volumes: [...kept, ...claims] };
}

/** True when either the workload or its pod template carries modelgate.dev/inference=true. */
export function hasInferenceLabel(workload: Workload): boolean {
  return workload.labels[INFERENCE_LABEL] === 'true';
}

/** Where metadata sits on the way down to the pod template, outermost first ([] = the object's own). */
export function metadataLevels(templatePath: readonly string[]): string[][] {
  if (templatePath.length === 0) return [[]];
  const levels: string[][] = [[]];
  // CronJob: spec.jobTemplate carries the Job's own metadata between the CronJob and the pod.
  for (let i = 2; i < templatePath.length; i += 2) levels.push(templatePath.slice(0, i));
  levels.push([...templatePath]);
  return levels;
}

function metadataPath(level: string[], field: 'labels' | 'annotations'): string {
  return [...level, 'metadata', field].join('.');
}

interface Level {
  path: string;
  values: Record<string, string>;
}

/** One metadata map (labels or annotations) at each level, outermost first. */
function levelsOf(object: Obj, templatePath: readonly string[], field: 'labels' | 'annotations'): Level[] {
  return metadataLevels(templatePath).map((level) => ({
    path: metadataPath(level, field),
    values: stringMap(getPath(object, [...level, 'metadata', field])),
  }));
}

/**
 * Merge levels, the first given winning, and note every name two levels set to different values
 * (`inner`: the level nearer the pod, `outer`: the one above it).
 */
function mergeLevels(
  levels: Level[],
  innerFirst: boolean,
  keep: (name: string) => boolean = () => true,
): { merged: Record<string, string>; conflicts: LabelConflict[] } {
  const merged: Record<string, string> = Object.create(null) as Record<string, string>;
  const from: Record<string, string> = Object.create(null) as Record<string, string>;
  const conflicts: LabelConflict[] = [];
  for (const level of levels) {
    for (const [name, value] of Object.entries(level.values)) {
      const known = merged[name];
      if (known === undefined) {
        merged[name] = value;
        from[name] = level.path;
      } else if (known !== value && keep(name)) {
        const first = { path: from[name] as string, value: known };
        const here = { path: level.path, value };
        conflicts.push(innerFirst ? { name, inner: first, outer: here } : { name, inner: here, outer: first });
      }
    }
  }
  return { merged, conflicts };
}

/**
 * The labels the pods will carry: the pod template's. Labels on the levels above it (the
 * workload, a CronJob's job template) may add names the template lacks, never contradict it:
 * each contradiction is kept so the decision can refuse it. The inference label is "true" when
 * any level says so, so no level can opt the pods out.
 */
function effectiveLabels(
  object: Obj,
  templatePath: readonly string[],
): { labels: Record<string, string>; labelConflicts: LabelConflict[] } {
  const levels = levelsOf(object, templatePath, 'labels');
  const { merged: labels, conflicts } = mergeLevels([...levels].reverse(), true);
  if (levels.some((l) => l.values[INFERENCE_LABEL] === 'true')) labels[INFERENCE_LABEL] = 'true';
  return { labels, labelConflicts: conflicts };
}

/** The annotations that name or vouch for the models: one value across every level, or refused. */
const REFERENCE_ANNOTATIONS: ReadonlySet<string> = new Set([
  ANNOTATION.manifest,
  ANNOTATION.manifestConfigMap,
  ANNOTATION.manifestVolume,
  ANNOTATION.approvedBy,
]);

/**
 * Every annotation of every level, the outermost winning (the policy may name any, e.g.
 * break-glass); a model-reference annotation that two levels set differently is a conflict.
 */
function effectiveAnnotations(
  object: Obj,
  templatePath: readonly string[],
): { annotations: Record<string, string>; annotationConflicts: LabelConflict[] } {
  const levels = levelsOf(object, templatePath, 'annotations');
  const { merged, conflicts } = mergeLevels(levels, false, (name) => REFERENCE_ANNOTATIONS.has(name));
  return { annotations: { ...merged }, annotationConflicts: conflicts };
}

function listContainers(podSpec: Obj | undefined, specPath: string): ContainerInfo[] {
  const out: ContainerInfo[] = [];
  for (const list of CONTAINER_LISTS) {
    asArray(podSpec?.[list]).forEach((c, i) => {
      if (!isObject(c)) return;
      out.push({
        name: asString(c.name) ?? '',
        image: asString(c.image) ?? '',
        path: `${specPath}.${list}[${i}]`,
      });
    });
  }
  return out;
}

function annotationPath(key: string): string {
  return `metadata.annotations[${key}]`;
}

function modelRefs(
  annotations: Record<string, string>,
  podSpec: Obj | undefined,
  specPath: string,
): ModelRef[] {
  const refs: ModelRef[] = [];
  const inline = annotations[ANNOTATION.manifest];
  if (inline !== undefined)
    refs.push({ source: 'annotation', path: annotationPath(ANNOTATION.manifest), text: inline });
  const cm = annotations[ANNOTATION.manifestConfigMap];
  if (cm !== undefined) refs.push(configMapRef(cm));
  const volume = annotations[ANNOTATION.manifestVolume];
  if (volume !== undefined) refs.push(volumeRef(volume.trim(), podSpec, specPath));
  return refs;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const CONFIGMAP_KEY = /^[-._a-zA-Z0-9]{1,253}$/;

function configMapRef(value: string): ModelRef {
  const path = annotationPath(ANNOTATION.manifestConfigMap);
  const [name = '', key, ...rest] = value.trim().split('/');
  if (!DNS_SUBDOMAIN.test(name) || rest.length > 0 || (key !== undefined && !CONFIGMAP_KEY.test(key))) {
    return {
      source: 'invalid',
      path,
      message: `must be "name" or "name/key" of a ConfigMap in the workload's namespace`,
    };
  }
  return key === undefined ? { source: 'configmap', path, name } : { source: 'configmap', path, name, key };
}

function volumeRef(volumeName: string, podSpec: Obj | undefined, specPath: string): ModelRef {
  const volumes = asArray(podSpec?.volumes);
  const index = volumes.findIndex((v) => isObject(v) && v.name === volumeName);
  const volume = asObject(volumes[index]);
  const path = annotationPath(ANNOTATION.manifestVolume);
  if (!volume) {
    return {
      source: 'invalid',
      path,
      message: `names volume "${volumeName}", which ${specPath}.volumes does not have`,
    };
  }
  const configMaps = volumeConfigMaps(volume);
  if (configMaps.length === 0) {
    return {
      source: 'invalid',
      path: `${specPath}.volumes[${index}]`,
      message: `volume "${volumeName}" must be a configMap or a projected volume of configMaps`,
    };
  }
  return { source: 'volume', path: `${specPath}.volumes[${index}]`, volume: volumeName, configMaps };
}

function volumeConfigMaps(volume: Obj): { name: string; items?: string[] }[] {
  const direct = asObject(volume.configMap);
  const sources = direct
    ? [direct]
    : asArray(getPath(volume, ['projected', 'sources'])).map((s) => asObject(asObject(s)?.configMap));
  const out: { name: string; items?: string[] }[] = [];
  for (const source of sources) {
    const name = asString(source?.name);
    if (!source || name === undefined) continue;
    const items = Array.isArray(source.items)
      ? source.items.map((i) => asString(asObject(i)?.key)).filter((k): k is string => k !== undefined)
      : undefined;
    out.push(items ? { name, items } : { name });
  }
  return out;
}

function splitList(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
