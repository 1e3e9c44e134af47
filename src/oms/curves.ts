import type { KeyObject } from 'node:crypto';
import { ALGORITHM_OF, ALGORITHMS } from '../keys/algorithms.js';
import { ecKeyType } from '../keys/material.js';

/**
 * The hash to verify an EC key's signatures with (P-256/SHA-256, P-384/SHA-384, P-521/SHA-512, as
 * model_signing signs: the same pairing as modelgate's own ECDSA algorithms, from their one
 * table in src/keys/algorithms.ts); undefined for any other key.
 */
export function curveHash(key: KeyObject): string | undefined {
  const type = ecKeyType(key);
  return type === undefined ? undefined : (ALGORITHMS[ALGORITHM_OF[type]].hash ?? undefined);
}
