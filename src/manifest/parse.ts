/** Manifest text from an annotation, ConfigMap or file → validated manifests (v1, v2 or an OMS bundle). */
import { isObject } from '../json/object.js';
import { joinPath, wholePath } from './fields.js';
import { MAX_MANIFEST_BYTES, parseStrictJson } from './json.js';
import type { Manifest, Result } from './types.js';
import { parseV1 } from './v1.js';
import { looksLikeV2, parseV2 } from './v2.js';
import { MAX_OMS_BUNDLE_BYTES, looksLikeOmsBundle, parseOmsBundle } from '../oms/bundle.js';

/** Most manifests one reference may hold: a workload runs a handful of models, not hundreds. */
export const MAX_MANIFESTS = 16;

/**
 * One text may hold MAX_MANIFESTS manifests of up to MAX_MANIFEST_BYTES each (1 MiB: a ConfigMap's
 * limit); an OMS bundle, which lists every file in its signed payload, may use all of it alone.
 */
export const MAX_MANIFEST_TEXT_BYTES = Math.max(MAX_MANIFESTS * MAX_MANIFEST_BYTES, MAX_OMS_BUNDLE_BYTES);

function fail(code: string, path: string, message: string): Result<never> {
  return { ok: false, problem: { code, path, message } };
}

/** Validate one parsed manifest value, detecting its format. */
export function parseManifestValue(value: unknown, path: string): Result<Manifest> {
  if (!isObject(value)) return fail('wrong-type', wholePath(path), 'a manifest must be a JSON object');
  // A Sigstore bundle declares itself by its mediaType (model_signing writes v0.3).
  if (looksLikeOmsBundle(value)) {
    const oms = parseOmsBundle(value, path);
    return oms.ok ? { ok: true, value: { format: 'oms', body: oms.value } } : oms;
  }
  if ('file_hash' in value) {
    const v1 = parseV1(value, path);
    return v1.ok ? { ok: true, value: { format: 'v1', body: v1.value } } : v1;
  }
  if (looksLikeV2(value)) {
    const v2 = parseV2(value, path);
    return v2.ok ? { ok: true, value: { format: 'v2', body: v2.value } } : v2;
  }
  return fail(
    'unknown-format',
    wholePath(path),
    'not a model manifest: expected v1 (file_hash, signature, ...), v2 (apiVersion: modelgate.dev/v1, kind: ModelManifest) or an OMS bundle (mediaType: application/vnd.dev.sigstore.bundle.v0.3+json)',
  );
}

function checkEachSize(items: unknown[], origin: string): Result<true> {
  for (let i = 0; i < items.length; i++) {
    const max = looksLikeOmsBundle(items[i]) ? MAX_OMS_BUNDLE_BYTES : MAX_MANIFEST_BYTES;
    if (Buffer.byteLength(JSON.stringify(items[i]), 'utf8') > max) {
      return fail('too-large', `${origin}[${i}]`, `manifest is larger than ${max} bytes`);
    }
  }
  return { ok: true, value: true };
}

/**
 * Parse manifest text: one manifest object or a JSON array of them. `origin` says where the
 * text came from (e.g. `annotation modelgate.dev/manifest`) and prefixes every problem path.
 */
export function parseManifests(text: string, origin: string): Result<Manifest[]> {
  const json = parseStrictJson(text, { maxBytes: MAX_MANIFEST_TEXT_BYTES, path: origin });
  if (!json.ok) return json;
  const isList = Array.isArray(json.value);
  const items: unknown[] = Array.isArray(json.value) ? json.value : [json.value];
  if (items.length === 0) return fail('no-manifest', origin, 'the manifest list is empty');
  if (items.length > MAX_MANIFESTS)
    return fail('too-many', origin, `holds ${items.length} manifests; at most ${MAX_MANIFESTS} are allowed`);
  const sized = checkEachSize(items, origin);
  if (!sized.ok) return sized;
  const base = origin === '' ? '' : `${origin}:`;
  const out: Manifest[] = [];
  for (let i = 0; i < items.length; i++) {
    const m = parseManifestValue(items[i], isList ? joinPath(base, i) : base);
    if (!m.ok) return m;
    out.push(m.value);
  }
  return { ok: true, value: out };
}
