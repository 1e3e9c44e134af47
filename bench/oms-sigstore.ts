/**
 * Sigstore-method verification cost: compiling an authority's trusted root (once per policy
 * load), a cold verification (a bundle never seen: JSON parse, chain, SCT, SET, inclusion proof,
 * checkpoint, DSSE signature, exact identity), and a cache hit (sha256 of the bytes + LRU lookup).
 * Bundles come from the private Sigstore instance of test/fixtures/sigstore.ts (no network).
 *
 * bench/run.ts calls runSigstoreBench() and prints `lines` (BENCH_ONLY=sigstore). It needs the
 * build (dist/) unless a module is passed. Only erasable TypeScript, so Node can strip the types.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

type SigstoreModule = Pick<
  typeof import('../src/oms/sigstore.js'),
  | 'loadSigstoreAuthority'
  | 'verifySigstoreBundleBytes'
  | 'verifySigstoreEnvelope'
  | 'SigstoreVerdictCache'
  | 'publicGoodTrustedRoot'
>;
type Fixtures = typeof import('../test/fixtures/sigstore.js');

export interface SigstoreBenchOptions {
  /** Distinct bundles verified cold, and cache hits timed (default 200). */
  iterations?: number;
  /** The module under test (default dist/oms/sigstore.js). Tests pass the source module. */
  sigstoreModule?: SigstoreModule;
}

export interface SigstoreBenchResults {
  iterations: number;
  loadAuthorityMs: number;
  firstVerifyMs: number;
  coldMedianMs: number;
  coldP95Ms: number;
  parsedMedianMs: number;
  hitMedianMs: number;
  hitP95Ms: number;
  /** A cache hit on an already parsed bundle (JSON serialisation + sha256 + lookup). */
  parsedHitMedianMs: number;
  /** A real public-good bundle (model_signing 1.1.0: P-384 chain, SCT, SET, proof, TSA), uncached. */
  realMedianMs: number;
  /** The same, CPU milliseconds per verification (user + system). */
  realCpuMs: number;
}

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};

function timed(fn: () => boolean): number {
  const t0 = performance.now();
  const ok = fn();
  const ms = performance.now() - t0;
  if (!ok) throw new Error('sigstore bench: a bundle did not verify');
  return ms;
}

export async function runSigstoreBench(
  opts: SigstoreBenchOptions = {},
): Promise<{ results: SigstoreBenchResults; lines: string[] }> {
  const n = opts.iterations ?? 200;
  const mod =
    opts.sigstoreModule ??
    ((await import(new URL('../dist/oms/sigstore.js', import.meta.url).href)) as SigstoreModule);
  const fx = (await import(new URL('../test/fixtures/sigstore.ts', import.meta.url).href)) as Fixtures;
  const inst = fx.makeInstance('bench');
  const identity = { subject: 'ci@example.com', issuer: 'https://accounts.example.com' };
  const bundles = Array.from({ length: n }, () =>
    JSON.stringify(fx.signModel(inst, { identity: identity.subject, issuer: identity.issuer }).bundle),
  );

  const t0 = performance.now();
  const loaded = mod.loadSigstoreAuthority({
    name: 'bench',
    trustedRoot: inst.trustedRoot,
    identities: [identity],
  });
  const loadAuthorityMs = performance.now() - t0;
  if (!loaded.ok) throw new Error(loaded.problem.message);
  const authority = loaded.value;
  const cache = new mod.SigstoreVerdictCache(n + 1);

  const verify = (bytes: string): boolean => mod.verifySigstoreBundleBytes(bytes, authority, { cache }).ok;
  const firstVerifyMs = timed(() => verify(bundles[0]!));
  const cold = bundles.slice(1).map((b) => timed(() => verify(b)));
  const hits = bundles.map((b) => timed(() => verify(b)));
  const parsed = bundles.slice(0, Math.min(n, 50)).map((b) => JSON.parse(b) as unknown);
  const parsedCache = new mod.SigstoreVerdictCache(parsed.length + 1);
  const parsedTimes = parsed.map((b) =>
    timed(() => mod.verifySigstoreEnvelope(b, authority, { cache: false }).ok),
  );
  parsed.forEach((b) => mod.verifySigstoreEnvelope(b, authority, { cache: parsedCache }));
  const parsedHits = parsed.map((b) =>
    timed(() => mod.verifySigstoreEnvelope(b, authority, { cache: parsedCache }).ok),
  );

  const real = readFileSync(
    new URL('../test/fixtures/oms-sigstore/model_signing-v1.1.0.sig.json', import.meta.url),
  );
  const pgRoot = mod.publicGoodTrustedRoot();
  const pg = mod.loadSigstoreAuthority({
    name: 'public-good',
    trustedRoot: pgRoot.ok ? pgRoot.value : {},
    identities: [{ subject: 'stefanb@us.ibm.com', issuer: 'https://sigstore.verify.ibm.com/oauth2' }],
  });
  if (!pg.ok) throw new Error(pg.problem.message);
  const cpu0 = process.cpuUsage();
  const realTimes = Array.from({ length: Math.min(n, 50) }, () =>
    timed(() => mod.verifySigstoreBundleBytes(real, pg.value, { cache: false }).ok),
  );
  const cpu = process.cpuUsage(cpu0);
  // CPU time is steadier than wall time on a shared machine.
  const realCpuMs = (cpu.user + cpu.system) / 1000 / realTimes.length;

  const results: SigstoreBenchResults = {
    iterations: n,
    loadAuthorityMs,
    firstVerifyMs,
    coldMedianMs: quantile(cold, 0.5),
    coldP95Ms: quantile(cold, 0.95),
    parsedMedianMs: quantile(parsedTimes, 0.5),
    hitMedianMs: quantile(hits, 0.5),
    hitP95Ms: quantile(hits, 0.95),
    parsedHitMedianMs: quantile(parsedHits, 0.5),
    realMedianMs: quantile(realTimes, 0.5),
    realCpuMs,
  };
  const f = (ms: number): string => (ms < 0.1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(2)} ms`);
  const lines = [
    `sigstore method (private instance, ${n} distinct bundles, ~${bundles[0]!.length} bytes each):`,
    `  load authority (trusted root → verifier, once per policy load): ${f(results.loadAuthorityMs)}`,
    `  first verify in the process (JIT cold):                        ${f(results.firstVerifyMs)}`,
    `  cold verify from bytes   median ${f(results.coldMedianMs)}  p95 ${f(results.coldP95Ms)}`,
    `  cold verify, parsed JSON median ${f(results.parsedMedianMs)}`,
    `  cache hit (bytes)        median ${f(results.hitMedianMs)}  p95 ${f(results.hitP95Ms)}`,
    `  cache hit (parsed JSON)  median ${f(results.parsedHitMedianMs)}`,
    `  real public-good bundle (model_signing 1.1.0, with TSA), uncached: median ${f(results.realMedianMs)}, CPU ${f(results.realCpuMs)}`,
  ];
  return { results, lines };
}
