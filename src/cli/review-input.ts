import { parseAllDocuments } from 'yaml';
import { decodeReview, MAX_REVIEW_BYTES, structureProblem } from '../admission/decode.js';
import type { AdmissionRequest } from '../admission/types.js';
import type { ConfigMapData } from '../kube/client.js';
import { isObject } from '../json/object.js';
import { UsageError } from './types.js';

/**
 * What `modelgate review` reads: one AdmissionReview (as the webhook receives it), or the objects
 * someone will `kubectl apply -f`: YAML or JSON, several documents separated by `---`, `kind: List`.
 */

export interface InputObject {
  /** Where it is, for messages: "deploy.yaml document 2", "deploy.yaml document 1 items[0]". */
  where: string;
  object: Record<string, unknown>;
}

export type ReviewInput =
  { kind: 'review'; request: AdmissionRequest } | { kind: 'objects'; objects: InputObject[] };

/** Reads a file's text as documents; throws a UsageError naming the document for bad input. */
export function parseReviewInput(body: Buffer, source: string): ReviewInput {
  const objects = parseObjects(body, source);
  const [first] = objects;
  if (objects.length === 1 && first && first.object.kind === 'AdmissionReview') {
    const decoded = decodeReview(first.object);
    if (!decoded.ok) throw new UsageError(`${source}: ${decoded.message}`);
    return { kind: 'review', request: decoded.request };
  }
  return { kind: 'objects', objects };
}

/** Every object in the text, `kind: List` items spread, empty documents skipped (as kubectl does). */
export function parseObjects(body: Buffer, source: string): InputObject[] {
  // The webhook's own body limit: the API server's request limit is smaller still.
  if (body.length > MAX_REVIEW_BYTES) throw new UsageError(`${source} exceeds ${MAX_REVIEW_BYTES} bytes`);
  const docs = parseJson(body, source) ?? parseYaml(body.toString('utf8'), source);
  const objects = docs.flatMap(({ where, value }) => objectsOf(value, where));
  if (objects.length === 0) throw new UsageError(`${source} holds no objects`);
  return objects;
}

interface Doc {
  where: string;
  value: unknown;
}

/** JSON first, under the webhook's structure limits (a hostile file cannot exhaust the stack). */
function parseJson(body: Buffer, source: string): Doc[] | undefined {
  const text = body.toString('utf8').trimStart();
  if (!text.startsWith('{') && !text.startsWith('[')) return undefined;
  const tooBig = structureProblem(body);
  if (tooBig !== undefined) throw new UsageError(`${source} ${tooBig}`);
  try {
    return [{ where: `${source} document 1`, value: JSON.parse(text) as unknown }];
  } catch {
    return undefined; // flow-style YAML: the YAML parser judges it
  }
}

function parseYaml(text: string, source: string): Doc[] {
  const docs = parseAllDocuments(text, { uniqueKeys: true });
  if (!Array.isArray(docs)) return []; // only comments
  return docs.map((doc, i) => {
    const where = `${source} document ${i + 1}`;
    const [error] = doc.errors;
    if (error) throw new UsageError(`${where}: invalid YAML: ${error.message.split('\n')[0] ?? ''}`);
    try {
      return { where, value: doc.toJS({ maxAliasCount: 100 }) as unknown };
    } catch (err) {
      throw new UsageError(`${where}: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
}

function objectsOf(value: unknown, where: string): InputObject[] {
  if (value === null || value === undefined) return [];
  if (!isObject(value)) throw new UsageError(`${where} is not an object`);
  if (value.kind !== 'List') return [{ where, object: value }];
  if (!Array.isArray(value.items)) throw new UsageError(`${where}: a List needs items`);
  return value.items.map((item: unknown, i) => {
    if (!isObject(item)) throw new UsageError(`${where} items[${i}] is not an object`);
    return { where: `${where} items[${i}]`, object: item };
  });
}

/** ConfigMaps by "namespace/name"; one without a namespace is in `namespace`. */
export type ConfigMapFiles = Map<string, ConfigMapData>;

/** Adds a ConfigMap object; anything that is not a v1 ConfigMap with string data is bad input. */
export function addConfigMap(maps: ConfigMapFiles, { where, object }: InputObject, namespace: string): void {
  if (object.kind !== 'ConfigMap' || object.apiVersion !== 'v1')
    throw new UsageError(`${where} is not a v1 ConfigMap (kind ${JSON.stringify(object.kind ?? null)})`);
  const metadata = isObject(object.metadata) ? object.metadata : {};
  if (typeof metadata.name !== 'string' || metadata.name === '')
    throw new UsageError(`${where}: ConfigMap has no name`);
  const data = object.data ?? {};
  if (!isObject(data) || !Object.values(data).every((v) => typeof v === 'string'))
    throw new UsageError(`${where}: ConfigMap data must map keys to strings`);
  const ns =
    typeof metadata.namespace === 'string' && metadata.namespace !== '' ? metadata.namespace : namespace;
  maps.set(`${ns}/${metadata.name}`, { data: { ...(data as Record<string, string>) } });
}
