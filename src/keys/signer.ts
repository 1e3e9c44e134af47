/**
 * Signing keys, for `modelgate sign` only (CI): an HMAC secret or a PEM private key (PKCS#8,
 * or SEC1 "EC PRIVATE KEY" as `openssl ecparam -genkey` writes it). The webhook never loads
 * these: its keyring refuses private keys (src/keys/material.ts).
 */
import { createPrivateKey, sign as signBytes, type KeyObject } from 'node:crypto';
import { ALGORITHM_OF, ALGORITHMS, type AsymmetricAlgorithm, type PublicKeyType } from './algorithms.js';
import { MemoryKeyring } from './keyring.js';
import { KeyLoadError, pemBody, publicKeyTypeOf } from './material.js';
import type { ManifestSigner } from '../manifest/v2.js';

/** A loaded signing key: HMAC (v1 and v2) or a private key (v2 only). */
export type SigningKey =
  | { kind: 'hmac'; keyId: string; keyring: MemoryKeyring }
  | { kind: 'private'; keyId: string; type: PublicKeyType; signer: ManifestSigner };

const PRIVATE_LABELS: Readonly<Record<string, 'pkcs8' | 'sec1'>> = { 'PRIVATE KEY': 'pkcs8', 'EC PRIVATE KEY': 'sec1' };

/** The PEM label when the content is PEM; undefined otherwise. */
function pemLabel(text: string): string | undefined {
  return /-----BEGIN ([A-Z0-9 ]{1,40})-----/.exec(text)?.[1];
}

function privateKeyObject(id: string, text: string, label: string): KeyObject {
  const type = Object.hasOwn(PRIVATE_LABELS, label) ? PRIVATE_LABELS[label] : undefined;
  if (label === 'ENCRYPTED PRIVATE KEY')
    throw new KeyLoadError(`key "${id}" is encrypted: decrypt it for signing (openssl pkey -in KEY -out PLAIN) in the CI step`);
  if (type === undefined)
    throw new KeyLoadError(`key "${id}" is a PEM "${label}" block: to sign, pass the private key (PEM "PRIVATE KEY") or an HMAC key`);
  const der = pemBody(id, text, label);
  try {
    return createPrivateKey({ key: der, format: 'der', type });
  } catch {
    throw new KeyLoadError(`key "${id}" is a PEM "${label}" block whose content is not a valid private key`);
  }
}

/** A ManifestSigner over a private key: DER ECDSA or raw Ed25519, base64 (docs/manifests.md). */
export function privateKeySigner(keyId: string, key: KeyObject, type: PublicKeyType): ManifestSigner {
  const algorithm = ALGORITHM_OF[type] as AsymmetricAlgorithm;
  const hash = ALGORITHMS[algorithm].hash;
  return {
    keyId,
    algorithm,
    sign: (payload) => signBytes(hash, Buffer.from(payload, 'utf8'), { key, dsaEncoding: 'der' }).toString('base64'),
  };
}

/**
 * A signing key from a key file's content (minus one trailing newline). A public key cannot sign:
 * refused with the fix. Anything not PEM is HMAC bytes, as the keyring reads it.
 */
export function parseSigningKey(id: string, bytes: Uint8Array): SigningKey {
  const text = Buffer.from(bytes).toString('latin1');
  const label = pemLabel(text);
  if (label === 'PUBLIC KEY')
    throw new KeyLoadError(`key "${id}" is a public key, which cannot sign: pass the private key (modelgate keygen wrote it as ${id}.private.pem)`);
  if (label === undefined || !label.includes('PRIVATE KEY')) return { kind: 'hmac', keyId: id, keyring: new MemoryKeyring([[id, bytes]]) };
  const key = privateKeyObject(id, text, label);
  const type = publicKeyTypeOf(id, key);
  return { kind: 'private', keyId: id, type, signer: privateKeySigner(id, key, type) };
}

/** A ManifestSigner for either kind of signing key. */
export function manifestSigner(key: SigningKey): ManifestSigner {
  if (key.kind === 'private') return key.signer;
  const { keyring, keyId } = key;
  return {
    keyId,
    algorithm: 'HMAC-SHA256',
    sign: (payload) => keyring.sign(keyId, payload) as string,
  };
}
