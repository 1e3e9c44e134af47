import type { KeyObject } from 'node:crypto';

/** The hash ECDSA uses with each curve, as model_signing signs (P-256/SHA-256, P-384/SHA-384, P-521/SHA-512). */
const CURVE_HASH: Readonly<Record<string, string>> = {
  prime256v1: 'sha256',
  secp384r1: 'sha384',
  secp521r1: 'sha512',
};

/** The hash to verify an EC key's signatures with; undefined for any other key. */
export function curveHash(key: KeyObject): string | undefined {
  if (key.asymmetricKeyType !== 'ec') return undefined;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return curve === undefined ? undefined : CURVE_HASH[curve];
}
