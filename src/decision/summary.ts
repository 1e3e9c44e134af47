/**
 * What a decision records about its models and says on its Event: written here, read back by
 * `modelgate audit` (audit/query.ts) with the parsers below, so the two sides cannot drift.
 */
import type { VerifiedModel } from '../manifest/types.js';
import { ANNOTATIONS, EVENT_ANNOTATIONS } from '../vocabulary/keys.js';
import type { Workload } from '../workload/types.js';
import type { Approvers, AuditRecord, ModelSummary } from './types.js';
import { oneLine } from './message.js';

export function summarizeModel(model: VerifiedModel): ModelSummary {
  const summary: ModelSummary = {
    name: model.name,
    keyId: model.keyId,
    format: model.format,
    sha256: model.oms?.payloadSha256 ?? model.files[0]?.sha256 ?? '',
  };
  if (model.version !== undefined) summary.version = model.version;
  if (model.algorithm !== undefined) summary.algorithm = model.algorithm;
  const signed = model.claims.approvers;
  if (Array.isArray(signed)) summary.approvers = signed.filter((a) => typeof a === 'string');
  return summary;
}

/** The record's models and approvers (none without verified models: nothing was approved). */
export function modelFacts(
  models: readonly VerifiedModel[] | undefined,
  workload?: Workload,
): Pick<AuditRecord, 'models' | 'approvers'> {
  const approvers = models ? approversOf(models, workload) : undefined;
  const facts = { models: (models ?? []).map(summarizeModel) };
  return approvers ? { ...facts, approvers } : facts;
}

/** Signed claims.approvers when every model has them (the rule counts those), else the annotation. */
export function approversOf(models: readonly VerifiedModel[], workload?: Workload): Approvers | undefined {
  const signed = models.map((m) => m.claims.approvers);
  if (models.length > 0 && signed.every(Array.isArray)) {
    const names = [...new Set(signed.flat().filter((a) => typeof a === 'string'))];
    return { names, from: 'claims.approvers' };
  }
  const annotated = workload?.approvers ?? [];
  return annotated.length > 0 ? { names: [...new Set(annotated)], from: ANNOTATIONS.approvedBy } : undefined;
}

/** An annotation value stays readable in `kubectl describe`; the log line keeps everything. */
export const MAX_ANNOTATION_VALUE = 1024;
const SHA256_PREFIX = 12;

/** A model on the Event: `name@version:keyId:sha256-prefix` (v1: `name:keyId:sha256-prefix`). */
export interface ModelRef {
  name: string;
  version?: string;
  keyId: string;
  sha256: string;
}

// The separators a name, version or key id might contain are percent-encoded, so the list parses back.
const encode = (text: string): string =>
  text.replace(/[%,:@]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const decode = (text: string): string =>
  text.replace(/%(25|2C|3A|40)/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));

export function formatModelRef(m: ModelRef): string {
  const name = m.version === undefined ? encode(m.name) : `${encode(m.name)}@${encode(m.version)}`;
  return `${name}:${encode(m.keyId)}:${m.sha256.slice(0, SHA256_PREFIX)}`;
}

/** The summary's bare name: v2 summaries carry name@version in `name` and the version apart. */
export function modelRefOf(m: ModelSummary): ModelRef {
  const suffix = m.version === undefined ? '' : `@${m.version}`;
  const name = suffix && m.name.endsWith(suffix) ? m.name.slice(0, -suffix.length) : m.name;
  const ref: ModelRef = { name, keyId: m.keyId, sha256: m.sha256 };
  if (m.version !== undefined) ref.version = m.version;
  return ref;
}

/** Whole entries up to `max` characters, then `+N` for the ones left out. */
export function joinCut(items: readonly string[], max = MAX_ANNOTATION_VALUE): string {
  const room = max - `,+${items.length}`.length;
  let out = '';
  for (const [i, item] of items.entries()) {
    const next = out ? `${out},${item}` : item;
    const lastFits = i === items.length - 1 && next.length <= max;
    if (next.length > room && !lastFits) return out ? `${out},+${items.length - i}` : `+${items.length - i}`;
    out = next;
  }
  return out;
}

export function parseModelRefs(value: string): ModelRef[] {
  return value.split(',').flatMap((item) => {
    const parts = item.split(':');
    if (parts.length !== 3) return [];
    const [nameVersion = '', keyId = '', sha256 = ''] = parts;
    const [name = '', version] = nameVersion.split('@');
    const ref: ModelRef = { name: decode(name), keyId: decode(keyId), sha256 };
    if (version !== undefined) ref.version = decode(version);
    return [ref];
  });
}

/** The list annotations (names, codes) split back; the `+N` cut marker is dropped. */
export function parseList(value: string): string[] {
  return value ? value.split(',').filter((v) => !/^\+\d+$/.test(v)) : [];
}

/** The annotations on a decision's Event (the server adds EVENT_ANNOTATIONS.caller). */
export function eventAnnotations(record: AuditRecord): Record<string, string> {
  const annotations: Record<string, string> = {
    [EVENT_ANNOTATIONS.user]: record.user,
    [EVENT_ANNOTATIONS.decision]: record.decision,
    [EVENT_ANNOTATIONS.reasons]: joinCut(record.reasons.map((r) => r.code)),
    [EVENT_ANNOTATIONS.requestUid]: record.uid,
  };
  if (record.models.length > 0)
    annotations[EVENT_ANNOTATIONS.models] = joinCut(record.models.map((m) => formatModelRef(modelRefOf(m))));
  if (record.rule !== undefined) annotations[EVENT_ANNOTATIONS.rule] = record.rule;
  if (record.approvers) {
    annotations[EVENT_ANNOTATIONS.approvers] = joinCut(
      record.approvers.names.map((n) => oneLine(n).replace(/,/g, ' ')),
    );
    annotations[EVENT_ANNOTATIONS.approversFrom] = record.approvers.from;
  }
  return annotations;
}
