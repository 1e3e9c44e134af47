/**
 * A set of HMAC keys by id. Implementations never expose key bytes: not in toJSON, not in
 * util.inspect, not in errors. Everything that needs a key goes through these methods.
 */
export interface Keyring {
  /** Loaded key ids, sorted. */
  ids(): readonly string[];
  has(keyId: string): boolean;
  /** HMAC-SHA256(key, message as UTF-8) as lowercase hex; undefined when the id is unknown. */
  sign(keyId: string, message: string): string | undefined;
  /** Timing-safe check of a lowercase-hex HMAC-SHA256 over message; false for unknown ids or malformed hex. */
  verify(keyId: string, message: string, signatureHex: string): boolean;
}
