/**
 * `make bench`: hashing (bench/hash.ts) and admission (bench/admission.ts) in one run.
 * Needs the build (dist/). Node runs it by stripping types: `node bench/run.ts`.
 * BENCH_ONLY=hash|admission|sigstore|cel|signatures runs one of them (cel: bench/cel.ts, CEL validations' cost;
 * signatures: bench/signatures.ts, v2 and OMS verification per admission, then admission p50/p99 with a 1,000-file
 * OMS bundle beside a v2 manifest, bench/admission.ts runOmsAdmissionBench); BENCH_SIGSTORE_N sets the sigstore bundle count; BENCH_HASH_MIB sets the hash file size;
 * BENCH_REQUESTS, BENCH_PACED_SECONDS, BENCH_CONCURRENCY, BENCH_WORST_SECONDS shorten the admission run.
 */
type HashBench = typeof import('./hash.js');
type AdmissionBench = typeof import('./admission.js');
type SigstoreBench = typeof import('./oms-sigstore.js');
type CelBench = typeof import('./cel.js');
type SignaturesBench = typeof import('./signatures.js');

// .ts specifiers for Node's type stripping; typed through the .js aliases above for tsc.
const load = async <T>(name: string): Promise<T> =>
  (await import(new URL(`./${name}.ts`, import.meta.url).href)) as T;

async function main(): Promise<void> {
  const only = process.env.BENCH_ONLY;
  await cel(only);
  await signatures(only);
  if (only === undefined || only === 'hash') {
    const { runHashBench } = await load<HashBench>('hash');
    const sizeMiB = Number(process.env.BENCH_HASH_MIB ?? 1024);
    const { lines } = await runHashBench({ sizeBytes: sizeMiB * 1024 * 1024 });
    console.log(lines.join('\n'));
  }
  if (only === undefined || only === 'admission') {
    const { runAdmissionBench } = await load<AdmissionBench>('admission');
    const n = (name: string): number | undefined =>
      process.env[name] ? Number(process.env[name]) : undefined;
    const { lines } = await runAdmissionBench({
      totalRequests: n('BENCH_REQUESTS'),
      pacedSeconds: n('BENCH_PACED_SECONDS'),
      concurrency: n('BENCH_CONCURRENCY'),
      worstSeconds: n('BENCH_WORST_SECONDS'),
    });
    console.log(lines.join('\n'));
  }
  if (only === undefined || only === 'sigstore') {
    const { runSigstoreBench } = await load<SigstoreBench>('oms-sigstore');
    const n = process.env.BENCH_SIGSTORE_N ? Number(process.env.BENCH_SIGSTORE_N) : undefined;
    const { lines } = await runSigstoreBench({ iterations: n });
    console.log(lines.join('\n'));
  }
}

async function cel(only: string | undefined): Promise<void> {
  if (only !== undefined && only !== 'cel') return;
  const { runCelBench } = await load<CelBench>('cel');
  console.log((await runCelBench()).lines.join('\n'));
}

async function signatures(only: string | undefined): Promise<void> {
  if (only !== undefined && only !== 'signatures') return;
  const { runSignaturesBench } = await load<SignaturesBench>('signatures');
  console.log((await runSignaturesBench()).lines.join('\n'));
  const { runOmsAdmissionBench } = await load<AdmissionBench>('admission');
  console.log((await runOmsAdmissionBench()).lines.join('\n'));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
