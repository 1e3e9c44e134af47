// Embeds docs/policy.schema.json (generated from the policy loader) as the schema of the chart's
// policy.document value, so `helm install/template` refuses a policy with a typo at render time.
// The embedded copy keeps its $id: it is its own schema resource, so its "#/$defs/..." references
// resolve inside it. Its $schema (2020-12) is kept too, for the same reason.
// One derivation: Helm validates with Go's RE2, which has no lookaround, so a `pattern` using
// (?= (?! (?<= (?<! is left out of the embedded copy (the server's loader, `modelgate policy
// check`, still applies it). Everything else (closed objects, field names, types, enums,
// required) is copied exactly: a misspelt field or a bad mode fails at render time.
//   node hack/gen-chart-schema.ts           rewrite charts/modelgate/values.schema.json
//   node hack/gen-chart-schema.ts --check   fail when the embedded copy differs
// (Node 24 runs it as is: type annotations only, no imports of the sources.)
import { readFileSync, writeFileSync } from 'node:fs';

const root = new URL('..', import.meta.url);
const valuesFile = new URL('charts/modelgate/values.schema.json', root);
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface ValuesSchema {
  properties: { policy: { properties: { document: Json } } };
}

const policy = JSON.parse(readFileSync(new URL('docs/policy.schema.json', root), 'utf8')) as {
  [key: string]: Json;
  description: string;
};
const before = readFileSync(valuesFile, 'utf8');
const values = JSON.parse(before) as ValuesSchema;
/** The schema without the patterns RE2 cannot compile. */
function forRe2(node: Json): Json {
  if (Array.isArray(node)) return node.map(forRe2);
  if (node === null || typeof node !== 'object') return node;
  const out: { [key: string]: Json } = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'pattern' && typeof v === 'string' && /\(\?<?[=!]/.test(v)) continue;
    out[k] = forRe2(v);
  }
  return out;
}

values.properties.policy.properties.document = {
  ...(forRe2(policy) as { [key: string]: Json }),
  description: `${policy.description} Embedded from docs/policy.schema.json by hack/gen-chart-schema.ts (lookaround patterns left out: Helm's RE2 lacks them).`,
};
const after = `${JSON.stringify(values, null, 2)}\n`;

if (process.argv.includes('--check')) {
  if (after !== before) {
    console.error('gen-chart-schema: charts/modelgate/values.schema.json does not embed docs/policy.schema.json as policy.document; run hack/gen-manifests.sh');
    process.exit(1);
  }
  console.log('gen-chart-schema: policy.document is docs/policy.schema.json');
} else {
  writeFileSync(valuesFile, after);
}
