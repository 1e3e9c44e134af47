/**
 * Manifest v1: the seed article's ModelSecurity format, byte-compatible with its output.
 * The signature is HMAC-SHA256(key, file_hash as UTF-8): it binds the hash only.
 */
import type { Keyring } from '../keys/types.js';
import { FieldReader } from './fields.js';
import type { ManifestV1, Result } from './types.js';

const V1_FIELDS = ['model_path', 'file_hash', 'signature', 'signed_at', 'file_size'] as const;

/** Validate an untrusted parsed value as a v1 manifest. `path` prefixes problem paths. */
export function parseV1(value: unknown, path = ''): Result<ManifestV1> {
  const r = new FieldReader();
  const o = r.object(value, path, 'a v1 manifest object');
  r.onlyKeys(o, V1_FIELDS, path);
  const body: ManifestV1 = {
    model_path: r.string(o, 'model_path', path, 4096),
    file_hash: r.digest(o, 'file_hash', path),
    signature: r.digest(o, 'signature', path),
    signed_at: r.timestamp(o, 'signed_at', path, false),
    file_size: r.size(o, 'file_size', path),
  };
  return r.result(body);
}

/** What a v1 signature covers: the lowercase hex hash, nothing else. */
export function v1SigningPayload(m: Pick<ManifestV1, 'file_hash'>): string {
  return m.file_hash;
}

/** Python's `datetime.utcnow().isoformat()`: no zone, microseconds, fraction omitted when zero. */
export function pythonUtcIsoformat(d: Date): string {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const ms = d.getUTCMilliseconds();
  return ms === 0 ? iso.slice(0, 19) : `${iso.slice(0, 23)}000`;
}

export interface SignV1Input {
  modelPath: string;
  sha256: string;
  size: number;
  signedAt: Date;
}

/** Build a signed v1 body; undefined when the keyring has no such key. */
export function signV1(input: SignV1Input, keyring: Keyring, keyId: string): ManifestV1 | undefined {
  const signature = keyring.sign(keyId, input.sha256);
  if (signature === undefined) return undefined;
  return {
    model_path: input.modelPath,
    file_hash: input.sha256,
    signature,
    signed_at: pythonUtcIsoformat(input.signedAt),
    file_size: input.size,
  };
}

/** A JSON string as Python's json.dumps writes it with ensure_ascii=True. */
export function pythonJsonString(s: string): string {
  return `"${s.replace(/[^\x20-\x7e]|["\\]/g, pythonEscape)}"`;
}

const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

function pythonEscape(ch: string): string {
  // Astral characters arrive as two UTF-16 units, each escaped on its own: Python does the same.
  return SHORT_ESCAPES[ch] ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** The manifest file bytes exactly as the seed writes them: json.dumps(indent=2), no final newline. */
export function formatV1(m: ManifestV1): string {
  const lines = [
    `  "model_path": ${pythonJsonString(m.model_path)}`,
    `  "file_hash": ${pythonJsonString(m.file_hash)}`,
    `  "signature": ${pythonJsonString(m.signature)}`,
    `  "signed_at": ${pythonJsonString(m.signed_at)}`,
    `  "file_size": ${String(m.file_size)}`,
  ];
  return `{\n${lines.join(',\n')}\n}`;
}
