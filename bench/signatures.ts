/**
 * Signature verification per admission, every kind side by side (`make bench`, BENCH_ONLY=signatures):
 * v2 manifests per algorithm (HMAC-SHA256, ECDSA P-256/384/521, Ed25519) and OMS bundles per method
 * (key, certificate, sigstore) for 3 and 1,000 files, cold and on a cache hit.
 *
 * What is timed is the decision's own step, verifyWorkloadModels on a workload whose annotation
 * holds the manifest text: strict JSON parse and format detection, the signature (and chain, SCT,
 * Rekor entry for sigstore), the signed statement. "cold" verifies afresh every time (the OMS
 * verdict cache off, the sigstore cache cleared); "cache hit" is the same text again under the
 * same authorities (src/oms/verdicts.ts for key and certificate, src/oms/sigstore.ts for sigstore).
 *
 * Key and certificate bundles are made by the real model_signing 1.1.1 when its venv exists
 * (bash hack/oms-venv.sh), else with node:crypto in the same format (DSSE over the in-toto
 * statement); sigstore bundles by the private Sigstore instance of test/fixtures/sigstore.ts.
 * Needs the build (dist/) unless modules are passed. Only erasable TypeScript, so Node strips the
 * types: node --experimental-strip-types --no-warnings bench/signatures.ts
 * BENCH_ROUNDS (default 5) rounds of BENCH_MS (default 300) ms per row; the median round.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import type { Workload } from '../src/workload/types.js';

export interface SignatureModules {
  models: Pick<typeof import('../src/decision/models.js'), 'verifyWorkloadModels'>;
  keyring: Pick<typeof import('../src/keys/keyring.js'), 'MemoryKeyring'>;
  signer: Pick<typeof import('../src/keys/signer.js'), 'privateKeySigner'>;
  v2: Pick<typeof import('../src/manifest/v2.js'), 'signV2' | 'signV2With'>;
  authorities: Pick<typeof import('../src/oms/authorities.js'), 'compileOmsAuthority'>;
  verdicts: Pick<typeof import('../src/oms/verdicts.js'), 'OmsVerdictCache'>;
  methods: Pick<typeof import('../src/oms/methods.js'), 'SIGSTORE_VERIFIER'>;
  sigstore: Pick<typeof import('../src/oms/sigstore.js'), 'loadSigstoreAuthority' | 'defaultSigstoreCache'>;
}
type Fixtures = typeof import('../test/fixtures/sigstore.js');
type Harness = typeof import('../test/harness/oms.js');
type OmsAuthority = import('../src/oms/types.js').OmsAuthority;

export interface SignaturesBenchOptions {
  /** OMS bundle sizes in files (default 3 and 1,000). */
  files?: number[];
  rounds?: number;
  /** Milliseconds per round. */
  ms?: number;
  /** Who makes the key and certificate bundles (default model_signing when its venv exists). */
  omsSigner?: 'model_signing' | 'node';
  /** The modules under test (default dist/). Tests pass the sources (loadSignatureModules('src')). */
  modules?: SignatureModules;
}

export interface SignatureRow {
  kind: string;
  files: number;
  bytes: number;
  coldUs: number;
  /** Absent where there is no cache (v2 manifests: verifying is the cheap part). */
  hitUs?: number;
}

const ROOT = new URL('..', import.meta.url);

/** The modules from dist/ (what ships) or src/ (tests). */
export async function loadSignatureModules(from: 'dist' | 'src'): Promise<SignatureModules> {
  const ext = from === 'dist' ? 'js' : 'ts';
  const m = async <T>(path: string): Promise<T> => (await import(new URL(`${from}/${path}.${ext}`, ROOT).href)) as T;
  return {
    models: await m('decision/models'),
    keyring: await m('keys/keyring'),
    signer: await m('keys/signer'),
    v2: await m('manifest/v2'),
    authorities: await m('oms/authorities'),
    verdicts: await m('oms/verdicts'),
    methods: await m('oms/methods'),
    sigstore: await m('oms/sigstore'),
  };
}

/** Mean microseconds per call over rounds of `ms` milliseconds each; the median round. */
export function perCall(fn: () => void, rounds: number, ms: number): number {
  const round = (): number => {
    let n = 0;
    const start = process.hrtime.bigint();
    const end = start + BigInt(Math.round(ms * 1e6));
    let now = start;
    while (now < end) {
      fn();
      n++;
      now = process.hrtime.bigint();
    }
    return Number(now - start) / 1000 / n;
  };
  round(); // warm-up
  const times = Array.from({ length: rounds }, round).sort((a, b) => a - b);
  return times[Math.floor(rounds / 2)]!;
}

const PATH = 'metadata.annotations[modelgate.dev/manifest]';
const workloadOf = (text: string): Workload =>
  ({ kind: 'Deployment', namespace: 'ml', name: 'bench', refs: [{ source: 'annotation', path: PATH, text }] }) as unknown as Workload;

function modelFiles(n: number): Record<string, Buffer> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`shard-${String(i).padStart(5, '0')}.bin`, Buffer.from(`bytes ${i}\n`)]));
}

const pem = (k: KeyObject): string => k.export({ type: 'spki', format: 'pem' }).toString();

/** A key or certificate bundle in model_signing's format, signed with node:crypto. */
function nodeBundle(fx: Fixtures, files: number, key: KeyObject, material: Record<string, unknown>): string {
  // Indented as model_signing writes it (its 1,000-file bundle is ~225 KB, not ~166).
  const payload = Buffer.from(JSON.stringify(JSON.parse(fx.modelStatement('model', modelFiles(files)).toString()), null, 2));
  const sig = sign('sha256', fx.pae(fx.IN_TOTO, payload), key);
  return JSON.stringify({
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: material,
    dsseEnvelope: { payload: payload.toString('base64'), payloadType: fx.IN_TOTO, signatures: [{ sig: sig.toString('base64'), keyid: '' }] },
  });
}

/**
 * A key-method bundle over an n-file statement, signed with node:crypto as model_signing signs
 * (bench/admission.ts's OMS admission uses it): the text, the payload's sha256 (the verify step's pin).
 */
export async function keyMethodBundle(files: number, key: KeyObject): Promise<{ text: string; payloadSha256: string }> {
  const fx = (await import(new URL('test/fixtures/sigstore.ts', ROOT).href)) as Fixtures;
  const hint = createHash('sha256').update(pem(createPublicKey(key))).digest('hex');
  const text = nodeBundle(fx, files, key, { publicKey: { hint }, tlogEntries: [] });
  const payload = Buffer.from((JSON.parse(text) as { dsseEnvelope: { payload: string } }).dsseEnvelope.payload, 'base64');
  return { text, payloadSha256: createHash('sha256').update(payload).digest('hex') };
}

interface Signers {
  key(files: number): string;
  certificate(files: number): string;
  keyPem: string;
  rootPem: string;
  cleanup(): void;
}

async function omsSigners(fx: Fixtures, who: 'model_signing' | 'node'): Promise<Signers> {
  const h = (await import(new URL('test/harness/oms.ts', ROOT).href)) as Harness;
  const pki = h.makePki();
  const leaf = pki.leaf();
  const dirs = [pki.dir];
  if (who === 'model_signing') {
    const key = h.ecKey('P-256');
    dirs.push(dirname(key.privatePath));
    const model = (n: number): string => {
      const dir = h.makeModel(Object.fromEntries(Object.entries(modelFiles(n))));
      dirs.push(dirname(dir));
      return dir;
    };
    return {
      key: (n) => { const m = model(n); return h.signModel(m, { key: key.privatePath, signature: join(m, '..', 'key.sig') }); },
      certificate: (n) => { const m = model(n); return h.signModel(m, { key: leaf.key, cert: leaf.cert, chain: [join(pki.dir, 'int.pem')], signature: join(m, '..', 'cert.sig') }); },
      keyPem: key.publicPem,
      rootPem: pki.rootPem,
      cleanup: () => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })),
    };
  }
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const leafKey = createPrivateKey(readFileSync(leaf.key));
  const chain = [leaf.pem, pki.intermediatePem].map((p) => ({ rawBytes: new X509Certificate(p).raw.toString('base64') }));
  const hint = createHash('sha256').update(pem(pair.publicKey)).digest('hex');
  return {
    key: (n) => nodeBundle(fx, n, pair.privateKey, { publicKey: { hint }, tlogEntries: [] }),
    certificate: (n) => nodeBundle(fx, n, leafKey, { x509CertificateChain: { certificates: chain } }),
    keyPem: pem(pair.publicKey),
    rootPem: pki.rootPem,
    cleanup: () => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })),
  };
}

function authority(mod: SignatureModules, d: Record<string, unknown> & { name: string; method: string }): OmsAuthority {
  const c = mod.authorities.compileOmsAuthority({ publicKeys: [], roots: [], identities: [], ...d });
  if (!c.ok) throw new Error(`bench authority ${d.name}: ${c.field} ${c.message}`);
  return c.value;
}

type Keyring = InstanceType<SignatureModules['keyring']['MemoryKeyring']>;

function v2Manifests(mod: SignatureModules): { keyring: Keyring; manifests: { kind: string; text: string }[] } {
  const types = { 'ec-p256': 'P-256', 'ec-p384': 'P-384', 'ec-p521': 'P-521' } as const;
  const hmac = Buffer.from('ci-signing-key-2026-0123456789abcdef');
  const pairs = [
    ...Object.entries(types).map(([t, curve]) => ({ t: t as keyof typeof types, pair: generateKeyPairSync('ec', { namedCurve: curve }) })),
    { t: 'ed25519' as const, pair: generateKeyPairSync('ed25519') },
  ];
  const keyring = new mod.keyring.MemoryKeyring([['hmac', hmac], ...pairs.map(({ t, pair }) => [t, Buffer.from(pem(pair.publicKey))] as const)]);
  const unsigned = {
    apiVersion: 'modelgate.dev/v1' as const,
    kind: 'ModelManifest' as const,
    model: { name: 'fraud-detector', version: '3.1.0', source: 's3://models-prod/fraud-detector/3.1.0' },
    files: [{ path: 'model.onnx', sha256: '28945c699d6b4878af1b680be05aaf431e6906bd2d1cd0fcd80c91d527144927', size: 1048583 }],
    claims: { scan: 'passed', approvers: ['alice', 'bob'], dataClassification: 'internal', requester: 'ci' },
    signedAt: '2026-04-26T03:15:42Z',
  };
  const bodies = [
    mod.v2.signV2(unsigned, keyring, 'hmac')!,
    ...pairs.map(({ t, pair }) => mod.v2.signV2With(unsigned, mod.signer.privateKeySigner(t, pair.privateKey, t))),
  ];
  return { keyring, manifests: bodies.map((b) => ({ kind: `v2 ${b.signature.algorithm}`, text: JSON.stringify(b) })) };
}

export async function runSignaturesBench(
  opts: SignaturesBenchOptions = {},
): Promise<{ rows: SignatureRow[]; lines: string[] }> {
  const mod = opts.modules ?? (await loadSignatureModules('dist'));
  const rounds = opts.rounds ?? Number(process.env.BENCH_ROUNDS ?? 5);
  const ms = opts.ms ?? Number(process.env.BENCH_MS ?? 300);
  const sizes = opts.files ?? [3, 1000];
  const fx = (await import(new URL('test/fixtures/sigstore.ts', ROOT).href)) as Fixtures;
  const h = (await import(new URL('test/harness/oms.ts', ROOT).href)) as Harness;
  const who = opts.omsSigner ?? (h.omsToolAvailable() ? 'model_signing' : 'node');
  const signers = await omsSigners(fx, who);
  const inst = fx.makeInstance('bench');
  const identity = { subject: 'ci@example.com', issuer: 'https://accounts.example.com' };
  const sigstore = mod.sigstore.loadSigstoreAuthority({ name: 'sigstore-ci', trustedRoot: inst.trustedRoot, identities: [identity] });
  if (!sigstore.ok) throw new Error(sigstore.problem.message);
  const authorities: OmsAuthority[] = [
    authority(mod, { name: 'oms-key', method: 'key', publicKeys: [signers.keyPem] }),
    authority(mod, { name: 'oms-ca', method: 'certificate', roots: [signers.rootPem], identities: ['ci@example.com'] }),
    { name: 'sigstore-ci', method: 'sigstore', sigstore: sigstore.value },
  ];
  const { keyring, manifests: v2 } = v2Manifests(mod);
  const rows: SignatureRow[] = [];
  try {
    const verify = (text: string, verdicts: InstanceType<SignatureModules['verdicts']['OmsVerdictCache']> | false): void => {
      const f = mod.models.verifyWorkloadModels(workloadOf(text), [], keyring, {
        authorities,
        now: new Date(),
        sigstore: mod.methods.SIGSTORE_VERIFIER,
        verdicts,
      });
      if (f.problems.length > 0 || f.models.length !== 1) throw new Error(`bench: did not verify: ${JSON.stringify(f.problems[0])}`);
    };
    for (const { kind, text } of v2) rows.push({ kind, files: 1, bytes: Buffer.byteLength(text), coldUs: perCall(() => verify(text, false), rounds, ms) });
    for (const n of sizes) {
      for (const [kind, text] of [['OMS key', signers.key(n)], ['OMS certificate', signers.certificate(n)]] as const) {
        const cache = new mod.verdicts.OmsVerdictCache();
        verify(text, cache);
        rows.push({
          kind,
          files: n,
          bytes: Buffer.byteLength(text),
          coldUs: perCall(() => verify(text, false), rounds, ms),
          hitUs: perCall(() => verify(text, cache), rounds, ms),
        });
      }
      const payload = fx.modelStatement('model', modelFiles(n));
      const text = JSON.stringify(fx.signModel(inst, { identity: identity.subject, issuer: identity.issuer, payload }).bundle);
      const cold = (): void => {
        mod.sigstore.defaultSigstoreCache.clear();
        verify(text, false);
      };
      const coldUs = perCall(cold, rounds, ms);
      // The verdict cache by text, as for the other methods; the sigstore module's own cache (by the
      // bundle's JSON, under the parsing) is the one bench/oms-sigstore.ts times.
      const cache = new mod.verdicts.OmsVerdictCache();
      verify(text, cache);
      rows.push({ kind: 'OMS sigstore', files: n, bytes: Buffer.byteLength(text), coldUs, hitUs: perCall(() => verify(text, cache), rounds, ms) });
    }
  } finally {
    signers.cleanup();
  }
  return { rows, lines: formatSignatures(rows, { rounds, ms, who }) };
}

const fmt = (us: number): string => (us < 1000 ? `${us.toFixed(1)} µs` : `${(us / 1000).toFixed(2)} ms`);

export function formatSignatures(rows: SignatureRow[], run: { rounds: number; ms: number; who: string }): string[] {
  const hmac = rows.find((r) => r.kind === 'v2 HMAC-SHA256')?.coldUs ?? NaN;
  return [
    `signatures: verification per admission (verifyWorkloadModels: annotation text → verified model), median of ${run.rounds} × ${run.ms} ms, node ${process.version}, ${availableParallelism()} cores, load average ${loadavg()[0]?.toFixed(1)}; OMS key/certificate bundles by ${run.who}`,
    '| signature | files | manifest bytes | cold | cache hit | cold ÷ HMAC |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.kind} | ${r.files} | ${r.bytes} | ${fmt(r.coldUs)} | ${r.hitUs === undefined ? '—' : fmt(r.hitUs)} | ${(r.coldUs / hmac).toFixed(1)}× |`),
  ];
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  runSignaturesBench().then(
    ({ lines }) => console.log(lines.join('\n')),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
