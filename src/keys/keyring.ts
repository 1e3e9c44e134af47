/** An in-memory Keyring: key bytes live in a private field and never leave this module. */
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import type { Keyring } from './types.js';

/** Key ids are file names in a mounted Secret; this is what Kubernetes allows there, bounded. */
export const KEY_ID_PATTERN = /^[A-Za-z0-9._-]{1,253}$/;

const HMAC_HEX_RE = /^[0-9a-f]{64}$/;

export function isValidKeyId(id: string): boolean {
  return KEY_ID_PATTERN.test(id) && id !== '.' && id !== '..';
}

export class MemoryKeyring implements Keyring {
  // KeyObjects: the bytes live outside the JS heap, and HMAC with a KeyObject skips the per-call
  // key import that a Buffer costs (Node 24: ~43 µs → ~6 µs per HMAC, on every admission).
  readonly #keys: ReadonlyMap<string, KeyObject>;
  readonly #ids: readonly string[];

  /** Copies the bytes; throws (naming the id only) for an invalid id or an empty key. */
  constructor(entries: Iterable<readonly [string, Uint8Array]>) {
    const keys = new Map<string, KeyObject>();
    for (const [id, bytes] of entries) {
      if (!isValidKeyId(id)) throw new Error(`invalid key id ${JSON.stringify(id)}: use [A-Za-z0-9._-], 1-253 characters`);
      if (bytes.length === 0) throw new Error(`key "${id}" is empty`);
      if (keys.has(id)) throw new Error(`key id "${id}" appears twice`);
      keys.set(id, createSecretKey(Buffer.from(bytes)));
    }
    this.#keys = keys;
    this.#ids = Object.freeze([...keys.keys()].sort());
  }

  ids(): readonly string[] {
    return this.#ids;
  }

  has(keyId: string): boolean {
    return this.#keys.has(keyId);
  }

  sign(keyId: string, message: string): string | undefined {
    const key = this.#keys.get(keyId);
    return key === undefined ? undefined : createHmac('sha256', key).update(message, 'utf8').digest('hex');
  }

  verify(keyId: string, message: string, signatureHex: string): boolean {
    const key = this.#keys.get(keyId);
    if (key === undefined || !HMAC_HEX_RE.test(signatureHex)) return false;
    const expected = createHmac('sha256', key).update(message, 'utf8').digest();
    // Both are 32 bytes here (the regex fixes the length), as timingSafeEqual requires.
    return timingSafeEqual(expected, Buffer.from(signatureHex, 'hex'));
  }

  toJSON(): { keyIds: readonly string[] } {
    return { keyIds: this.#ids };
  }

  [inspect.custom](): string {
    return `Keyring { ids: [${this.#ids.map((id) => JSON.stringify(id)).join(', ')}] }`;
  }

  toString(): string {
    return `Keyring(${this.#ids.join(', ')})`;
  }
}
