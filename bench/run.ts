/**
 * `make bench`: hashing (bench/hash.ts) and admission (bench/admission.ts) in one run.
 * Needs the build (dist/). Node runs it by stripping types: `node bench/run.ts`.
 * BENCH_ONLY=hash|admission runs one of them; BENCH_HASH_MIB sets the hash file size;
 * BENCH_REQUESTS, BENCH_PACED_SECONDS, BENCH_CONCURRENCY, BENCH_WORST_SECONDS shorten the admission run.
 * BENCH_ONLY=files: verify vs sha256sum two at a time (bench/hash-files.ts); BENCH_ONLY=peers: the
 * side-by-side on a local control plane (bench/peers.ts; BENCH_ROUNDS, BENCH_PER_CELL, BENCH_PEERS=1
 * adds Kyverno); BENCH_SOAK=1 adds the 10-minute Events soak (bench/soak.ts; BENCH_SOAK_SECONDS).
 */
type HashBench = typeof import('./hash.js');
type AdmissionBench = typeof import('./admission.js');
type FilesBench = typeof import('./hash-files.js');
type PeersBench = typeof import('./peers.js');
type SoakBench = typeof import('./soak.js');

// .ts specifiers for Node's type stripping; typed through the .js aliases above for tsc.
const load = async <T>(name: string): Promise<T> =>
  (await import(new URL(`./${name}.ts`, import.meta.url).href)) as T;

async function main(): Promise<void> {
  const only = process.env.BENCH_ONLY;
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
  if (only === undefined || only === 'files') {
    const { runFilesBench } = await load<FilesBench>('hash-files');
    console.log((await runFilesBench()).lines.join('\n'));
  }
  if (only === undefined || only === 'peers') {
    const { runPeersBench } = await load<PeersBench>('peers');
    console.log((await runPeersBench()).lines.join('\n'));
  }
  if (process.env.BENCH_SOAK === '1' || only === 'soak') {
    const { runSoak } = await load<SoakBench>('soak');
    console.log((await runSoak()).lines.join('\n'));
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
