/**
 * Writes docs/policy.schema.json from the policy loader's field tables (src/policy/load.ts), or
 * with --check fails when the file differs. `make policy-schema` / `make policy-schema-check`;
 * src/policy/schema.test.ts makes the same comparison in the unit suite.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { policyJsonSchema } from '../src/policy/load.js';
import { formatSchema } from '../src/policy/schema.js';

const file = new URL('../docs/policy.schema.json', import.meta.url);
const text = formatSchema(policyJsonSchema());

if (process.argv.includes('--check')) {
  if (readFileSync(file, 'utf8') !== text) {
    console.error('docs/policy.schema.json differs from the loader: run make policy-schema');
    process.exit(1);
  }
} else {
  writeFileSync(file, text);
}
