/**
 * `make bench`: every section below in one run, or one of them with BENCH_ONLY=<name>.
 * Needs the build (dist/). Node runs it by stripping types: `node bench/run.ts`.
 *   cel       CEL validations' cost per decision (bench/cel.ts)
 *   signatures v2 (HMAC, ECDSA, Ed25519) and OMS (key, certificate, sigstore; 3 and 1,000 files; cold
 *             and cached) verification per admission (bench/signatures.ts), then admission p50/p99
 *             with a 1,000-file OMS bundle beside a v2 manifest (bench/admission.ts runOmsAdmissionBench)
 *   hash      hashing vs openssl (bench/hash.ts; BENCH_HASH_MIB sets the file size)
 *   admission HTTPS admission latency/throughput, memory (bench/admission.ts; BENCH_REQUESTS,
 *             BENCH_PACED_SECONDS, BENCH_CONCURRENCY, BENCH_WORST_SECONDS shorten it)
 *   sigstore  OMS sigstore-method verification, cold and cached (bench/oms-sigstore.ts; BENCH_SIGSTORE_N)
 *   files     verify vs sha256sum two at a time, sharded and 10,000 small files (bench/hash-files.ts)
 *   peers     side by side on a local control plane: no webhook, VAP, no-op Go webhook, modelgate
 *             (bench/peers.ts; BENCH_ROUNDS, BENCH_PER_CELL; BENCH_PEERS=1 adds Kyverno)
 *   soak      the 10-minute Events soak, only with BENCH_SOAK=1 or BENCH_ONLY=soak (bench/soak.ts)
 *   scan      the background scanner over 5,000 workloads: bench/scan.ts, run by the Makefile
 */
type HashBench = typeof import('./hash.js');
type AdmissionBench = typeof import('./admission.js');
type SigstoreBench = typeof import('./oms-sigstore.js');
type CelBench = typeof import('./cel.js');
type FilesBench = typeof import('./hash-files.js');
type PeersBench = typeof import('./peers.js');
type SoakBench = typeof import('./soak.js');
type SignaturesBench = typeof import('./signatures.js');

// .ts specifiers for Node's type stripping; typed through the .js aliases above for tsc.
const load = async <T>(name: string): Promise<T> =>
  (await import(new URL(`./${name}.ts`, import.meta.url).href)) as T;

const num = (name: string): number | undefined => (process.env[name] ? Number(process.env[name]) : undefined);

interface Section {
  name: string;
  /** Run when BENCH_ONLY is unset (default true). */
  always?: () => boolean;
  run: () => Promise<{ lines: string[] }>;
}

const SECTIONS: Section[] = [
  { name: 'cel', run: async () => (await load<CelBench>('cel')).runCelBench() },
  {
    name: 'signatures',
    run: async () => {
      const table = await (await load<SignaturesBench>('signatures')).runSignaturesBench();
      const admission = await (await load<AdmissionBench>('admission')).runOmsAdmissionBench();
      return { lines: [...table.lines, ...admission.lines] };
    },
  },
  {
    name: 'hash',
    run: async () =>
      (await load<HashBench>('hash')).runHashBench({ sizeBytes: Number(process.env.BENCH_HASH_MIB ?? 1024) * 1024 * 1024 }),
  },
  {
    name: 'admission',
    run: async () =>
      (await load<AdmissionBench>('admission')).runAdmissionBench({
        totalRequests: num('BENCH_REQUESTS'),
        pacedSeconds: num('BENCH_PACED_SECONDS'),
        concurrency: num('BENCH_CONCURRENCY'),
        worstSeconds: num('BENCH_WORST_SECONDS'),
      }),
  },
  {
    name: 'sigstore',
    run: async () => (await load<SigstoreBench>('oms-sigstore')).runSigstoreBench({ iterations: num('BENCH_SIGSTORE_N') }),
  },
  { name: 'files', run: async () => (await load<FilesBench>('hash-files')).runFilesBench() },
  { name: 'peers', run: async () => (await load<PeersBench>('peers')).runPeersBench() },
  { name: 'soak', always: () => process.env.BENCH_SOAK === '1', run: async () => (await load<SoakBench>('soak')).runSoak() },
];

async function main(): Promise<void> {
  const only = process.env.BENCH_ONLY;
  for (const section of SECTIONS) {
    const wanted = only === undefined ? (section.always?.() ?? true) : only === section.name;
    if (wanted) console.log((await section.run()).lines.join('\n'));
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
