import type { AsymmetricAlgorithm, KeyType } from './algorithms.js';

/**
 * A set of keys by id: HMAC shared secrets and verification-only public keys side by side.
 * Implementations never expose key bytes: not in toJSON, not in util.inspect, not in errors.
 * Everything that needs a key goes through these methods. A key is used only with the one
 * algorithm of its type (src/keys/algorithms.ts): a public key is never an HMAC secret.
 */
export interface Keyring {
  /** Loaded key ids, sorted. */
  ids(): readonly string[];
  has(keyId: string): boolean;
  /** What the key is; undefined when the id is unknown. */
  keyType(keyId: string): KeyType | undefined;
  /** HMAC-SHA256(key, message as UTF-8) as lowercase hex; undefined for unknown ids and public keys (they cannot sign). */
  sign(keyId: string, message: string): string | undefined;
  /** Timing-safe check of a lowercase-hex HMAC-SHA256 over message; false for unknown ids, public keys or malformed hex. */
  verify(keyId: string, message: string, signatureHex: string): boolean;
  /**
   * Check an asymmetric signature (`value` as a v2 manifest holds it: base64, see
   * decodeSignatureValue) over message; false for unknown ids, HMAC keys, a key of another type
   * than `algorithm` is bound to, or a malformed value.
   */
  verifyAsymmetric(keyId: string, algorithm: AsymmetricAlgorithm, message: string, value: string): boolean;
  /** sha256 (hex) of a public key's SPKI DER: public, names the key; undefined for HMAC keys and unknown ids. */
  publicKeyDigest(keyId: string): string | undefined;
}
