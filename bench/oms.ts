/**
 * What verifying an OMS (model_signing) bundle costs at admission, per method, for 3 and 1,000
 * files: the webhook's path (strict JSON parse + format detection, signature, chain, statement).
 * Bundles are made by the real model_signing 1.1.1 (bash hack/oms-venv.sh first), and the
 * compiled verifier is timed (npx tsc -p tsconfig.build.json first):
 *   node --experimental-strip-types --no-warnings --import ./test/harness/tsResolve.ts bench/oms.ts
 */
import { join } from 'node:path';
import { ecKey, makeModel, makePki, omsToolAvailable, signModel } from '../test/harness/oms.js';

const dist = new URL('../dist/', import.meta.url);
const { parseManifests } = await import(new URL('manifest/parse.js', dist).href);
const { verifyParsedOmsBundle } = await import(new URL('oms/verify.js', dist).href);
const { compileOmsAuthority } = await import(new URL('oms/authorities.js', dist).href);

if (!omsToolAvailable()) process.exit(2);

function files(n: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`shard-${String(i).padStart(5, '0')}.bin`, `bytes ${i}\n`]));
}

function authority(spec: Record<string, unknown>): unknown {
  const c = compileOmsAuthority({ publicKeys: [], roots: [], identities: [], ...spec });
  if (!c.ok) throw new Error(c.message);
  return c.value;
}

function time(text: string, authorities: unknown[]): number {
  const once = (): void => {
    const parsed = parseManifests(text, 'bench');
    const r = verifyParsedOmsBundle(parsed.value[0].body, authorities, { origin: 'bench', now: new Date() });
    if (!r.ok) throw new Error(r.problem.message);
  };
  for (let i = 0; i < 50; i++) once();
  const runs = 300;
  const t = performance.now();
  for (let i = 0; i < runs; i++) once();
  return (performance.now() - t) / runs;
}

const key = ecKey('P-256');
const pki = makePki();
const leaf = pki.leaf();
const keyAuthority = authority({ name: 'k', method: 'key', publicKeys: [key.publicPem] });
const certAuthority = authority({ name: 'c', method: 'certificate', roots: [pki.rootPem], identities: ['ci@example.com'] });
const rows: string[] = [];
for (const n of [3, 1000]) {
  const model = makeModel(files(n));
  const keyBundle = signModel(model, { key: key.privatePath, signature: join(model, '..', 'key.sig') });
  const certBundle = signModel(model, { key: leaf.key, cert: leaf.cert, chain: [join(pki.dir, 'int.pem')], signature: join(model, '..', 'cert.sig') });
  rows.push(`| key         | ${String(n).padStart(5)} | ${String(keyBundle.length).padStart(7)} | ${time(keyBundle, [keyAuthority]).toFixed(3)} ms |`);
  rows.push(`| certificate | ${String(n).padStart(5)} | ${String(certBundle.length).padStart(7)} | ${time(certBundle, [certAuthority]).toFixed(3)} ms |`);
}
console.log(`| method      | files | bundle bytes | verify (mean of 300) |\n|---|---|---|---|\n${rows.join('\n')}`);
