/**
 * The signature algorithms of a v2 manifest and the key type each one is bound to. One table:
 * the manifest parser, the keyring and the CLI read it, so an algorithm name always means the
 * same key type, hash and signature encoding (docs/manifests.md, "Signature algorithms").
 */

/** Public-key types a keys Secret may hold (a file holding a PEM `PUBLIC KEY`). */
export type PublicKeyType = 'ec-p256' | 'ec-p384' | 'ec-p521' | 'ed25519';
/** Every key type a keyring holds: an HMAC shared secret or a verification-only public key. */
export type KeyType = 'hmac' | PublicKeyType;

export const HMAC_ALGORITHM = 'HMAC-SHA256';
export type AsymmetricAlgorithm = 'ECDSA-P256-SHA256' | 'ECDSA-P384-SHA384' | 'ECDSA-P521-SHA512' | 'Ed25519';
export type SignatureAlgorithm = typeof HMAC_ALGORITHM | AsymmetricAlgorithm;

export interface AlgorithmSpec {
  /** The only key type that may verify this algorithm. */
  keyType: KeyType;
  /** Digest for node:crypto sign/verify; null for Ed25519 (it hashes internally) and HMAC (own code). */
  hash: 'sha256' | 'sha384' | 'sha512' | null;
  /** Decoded signature length bounds in bytes (DER for ECDSA: SEQUENCE of two INTEGERs). */
  minBytes: number;
  maxBytes: number;
}

/*
 * DER ECDSA bounds: each INTEGER is at most the order's byte length plus a leading zero
 * (P-256: 33, P-384: 49, P-521: 67) with a 2-byte header; P-521's SEQUENCE needs a long-form
 * length (3 bytes). The shortest valid DER (two one-byte INTEGERs) is 8 bytes.
 */
export const ALGORITHMS: Readonly<Record<SignatureAlgorithm, AlgorithmSpec>> = Object.freeze({
  'HMAC-SHA256': { keyType: 'hmac', hash: 'sha256', minBytes: 32, maxBytes: 32 },
  'ECDSA-P256-SHA256': { keyType: 'ec-p256', hash: 'sha256', minBytes: 8, maxBytes: 2 + 2 * (2 + 33) },
  'ECDSA-P384-SHA384': { keyType: 'ec-p384', hash: 'sha384', minBytes: 8, maxBytes: 2 + 2 * (2 + 49) },
  'ECDSA-P521-SHA512': { keyType: 'ec-p521', hash: 'sha512', minBytes: 8, maxBytes: 3 + 2 * (2 + 67) },
  Ed25519: { keyType: 'ed25519', hash: null, minBytes: 64, maxBytes: 64 },
});

export const SIGNATURE_ALGORITHMS = Object.freeze(Object.keys(ALGORITHMS)) as readonly SignatureAlgorithm[];

/** The algorithm a key type signs and verifies (one per type: nothing to negotiate). */
export const ALGORITHM_OF: Readonly<Record<KeyType, SignatureAlgorithm>> = Object.freeze({
  hmac: 'HMAC-SHA256',
  'ec-p256': 'ECDSA-P256-SHA256',
  'ec-p384': 'ECDSA-P384-SHA384',
  'ec-p521': 'ECDSA-P521-SHA512',
  ed25519: 'Ed25519',
});

/** How a key type reads in a message. */
export const KEY_TYPE_NAMES: Readonly<Record<KeyType, string>> = Object.freeze({
  hmac: 'an HMAC secret',
  'ec-p256': 'an EC P-256 public key',
  'ec-p384': 'an EC P-384 public key',
  'ec-p521': 'an EC P-521 public key',
  ed25519: 'an Ed25519 public key',
});

export function isSignatureAlgorithm(name: string): name is SignatureAlgorithm {
  return Object.hasOwn(ALGORITHMS, name);
}

export function isPublicKeyType(type: string): type is PublicKeyType {
  return type !== 'hmac' && Object.hasOwn(ALGORITHM_OF, type);
}

/** Longest base64 text accepted before decoding anything (188 characters for P-521's 141 bytes). */
export const MAX_SIGNATURE_TEXT = 4 * Math.ceil(ALGORITHMS['ECDSA-P521-SHA512'].maxBytes / 3);

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The signature bytes of an asymmetric algorithm's `signature.value`, or why the text is not one:
 * standard base64 (RFC 4648 section 4) with padding, canonical (it re-encodes to the same text, so
 * one signature has one spelling), of a length the algorithm can produce. Bounded before decoding.
 */
export function decodeSignatureValue(algorithm: AsymmetricAlgorithm, text: string): Buffer | string {
  const spec = ALGORITHMS[algorithm];
  if (text.length > MAX_SIGNATURE_TEXT) return `must be at most ${MAX_SIGNATURE_TEXT} base64 characters for any algorithm, got ${text.length}`;
  if (!BASE64_RE.test(text)) return 'must be standard base64 (A-Z a-z 0-9 + /, "=" padding), no spaces or line breaks';
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) return 'must be canonical base64 (unused bits zero)';
  if (bytes.length < spec.minBytes || bytes.length > spec.maxBytes) {
    const want = spec.minBytes === spec.maxBytes ? `${spec.maxBytes}` : `${spec.minBytes} to ${spec.maxBytes}`;
    return `${algorithm} signatures are ${want} bytes, this one decodes to ${bytes.length}`;
  }
  return bytes;
}
