/**
 * Red team of the OMS (model_signing) support, as a namespace user who writes the pod spec, the
 * ConfigMaps of the namespace and the bundle, but holds no key or CA the policy trusts. Each test
 * states what SHOULD happen; the attacks that worked before their fix say so in their name
 * ("was admitted" / "passed"), with the fix's commit in the git log next to them.
 *
 * Bundles are built with node:crypto (DSSE over the PAE, as model_signing signs), certificates with
 * the openssl CLI (test/harness/oms.ts), so everything here runs without the model_signing venv.
 */
import { createHash, createPrivateKey, generateKeyPairSync, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { admissionRequest, deployment, type Obj } from '../fixtures/objects.js';
import { runCli } from '../fixtures/cli.js';
import { vectors } from '../fixtures/vectors.js';
import { v2Manifest } from './helpers.js';
import { signV2, type UnsignedManifestV2 } from '../../src/manifest/v2.js';
import { makeModel, makePki, tempDir, type Pki } from '../harness/oms.js';
import { decideAdmission } from '../../src/decision/decide.js';
import { planAdmission } from '../../src/decision/plan.js';
import { MemoryKeyring } from '../../src/keys/keyring.js';
import { compileOmsAuthority } from '../../src/oms/authorities.js';
import { dssePae } from '../../src/oms/dsse.js';
import type { OmsAuthority } from '../../src/oms/types.js';
import { verifyOmsBundle } from '../../src/oms/verify.js';
import { parsePolicy } from '../../src/policy/load.js';
import type { Policy } from '../../src/policy/types.js';

const TYPE = 'application/vnd.in-toto+json';
const sha256 = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const PUBLIC_PEM = publicKey.export({ type: 'spki', format: 'pem' }).toString();

/** The in-toto statement model_signing writes for these files (files method). */
function statementFor(files: Record<string, string | Buffer>, single = false): Obj {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'model', digest: { sha256: 'a'.repeat(64) } }],
    predicateType: 'https://model_signing/signature/v1.0',
    predicate: {
      serialization: { method: 'files', hash_type: 'sha256', ignore_paths: ['.git'], allow_symlinks: false },
      resources: Object.entries(files).map(([name, content]) => ({
        name: single ? '.' : name,
        algorithm: 'sha256',
        digest: sha256(content),
      })),
    },
  };
}

/** A bundle over `payload`, signed by `key` (key method) or with a certificate chain. */
function bundleOver(payload: Buffer, key: KeyObject = privateKey, chain?: string[]): Obj {
  const sig = sign('sha256', dssePae(TYPE, payload), key);
  const material = chain
    ? { x509CertificateChain: { certificates: chain.map((pem) => ({ rawBytes: new X509Certificate(pem).raw.toString('base64') })) } }
    : { publicKey: { hint: 'x' }, tlogEntries: [] };
  return {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: material,
    dsseEnvelope: { payload: payload.toString('base64'), payloadType: TYPE, signatures: [{ sig: sig.toString('base64'), keyid: '' }] },
  };
}

function signedModel(files: Record<string, string | Buffer>, single = false) {
  const payload = Buffer.from(JSON.stringify(statementFor(files, single)));
  const bundle = JSON.stringify(bundleOver(payload));
  return { payload, bundle, pin: sha256(payload) };
}

const FILES = { 'model.safetensors': Buffer.alloc(3000, 7), 'config.json': '{"layers": 2}\n' };

function policyOf(yaml = '', authority = 'ml-ci'): Policy {
  const pem = PUBLIC_PEM.trim().split('\n').map((l) => `        ${l}`).join('\n');
  const p = parsePolicy(`apiVersion: modelgate.dev/v1\nkind: Policy\n${yaml}omsAuthorities:\n  - name: ${authority}\n    method: key\n    publicKeys:\n      - |\n${pem}\n`, 'redteam');
  if (!p.ok) throw new Error(JSON.stringify(p.errors));
  return p.policy;
}

/** The fixture Deployment carrying `bundle`, its verify step's args replaced, a bundle ConfigMap mounted. */
function workload(bundle: string, args: string[]): Obj {
  const d = deployment(bundle);
  const spec = d.spec.template.spec;
  spec.initContainers[0].args = args;
  spec.initContainers[0].volumeMounts.push({ name: 'bundle', mountPath: '/bundle', readOnly: true });
  spec.volumes.push({ name: 'bundle', configMap: { name: 'fraud-model' } });
  return d;
}

function decide(obj: Obj, policy: Policy, keyring = new MemoryKeyring([])) {
  return decideAdmission(planAdmission(admissionRequest(obj), policy), { resolved: [], keyring, now: new Date() });
}

const codes = (d: ReturnType<typeof decide>): string[] => d.record.reasons.map((r) => r.code);

const verifyCli = (model: string, bundle: string, pin: string) =>
  runCli(['verify', model, '--oms-bundle', bundle, '--oms-payload-sha256', pin, '--json']);

function problemCodes(out: string): string[] {
  return (JSON.parse(out) as { problems: { code: string }[] }).problems.map((p) => p.code);
}

describe('verify step: the pod runs bytes other than the ones the webhook verified', () => {
  const policy = policyOf();

  it('baseline: the exact OMS step over the whole model volume is admitted', () => {
    const s = signedModel(FILES);
    const d = decide(workload(s.bundle, ['verify', '/models', '--oms-bundle', '/bundle/model.sig', '--oms-payload-sha256', s.pin]), policy);
    expect(d.response.allowed, d.response.status?.message).toBe(true);
  });

  it('a files-method OMS model pinned file by file (--sha256) on decoy copies, the served path left unchecked (was admitted)', () => {
    // The volume holds /models/decoy/{a,b} (the signed bytes, which the step checks) and
    // /models/model.safetensors (anything), which the server loads: --sha256 pins bind bytes, not paths,
    // and look for no unsigned file beside them. Only the OMS form checks the signed file list.
    const s = signedModel(FILES);
    const args = ['verify', '/models/decoy/a', '--sha256', sha256(FILES['model.safetensors']), '/models/decoy/b', '--sha256', sha256(FILES['config.json'])];
    const d = decide(workload(s.bundle, args), policy);
    expect(d.response.allowed).toBe(false);
    expect(codes(d)).toContain('verify-init-not-pinned');
    expect(d.response.status?.message).toContain(`--oms-payload-sha256 ${s.pin}`);
  });

  it('the OMS step pointed at a subdirectory of the model volume, a tampered model beside it (was admitted)', () => {
    // verify /models/legit checks only that directory; /models/evil, in the same read-only volume,
    // is what the server's args name. The step must check the whole volume: MODEL is its mountPath.
    const s = signedModel(FILES);
    const d = decide(workload(s.bundle, ['verify', '/models/legit', '--oms-bundle', '/bundle/model.sig', '--oms-payload-sha256', s.pin]), policy);
    expect(d.response.allowed).toBe(false);
    expect(codes(d)).toContain('verify-step-not-inert');
    expect(d.response.status?.message).toMatch(/mountPath/);
  });

  it('the model directory mounted twice, once over a decoy: overlapping mounts are refused', () => {
    const s = signedModel(FILES);
    const d = workload(s.bundle, ['verify', '/models', '--oms-bundle', '/bundle/model.sig', '--oms-payload-sha256', s.pin]);
    const step = d.spec.template.spec.initContainers[0];
    step.volumeMounts.push({ name: 'decoy', mountPath: '/models/sub', readOnly: true });
    d.spec.template.spec.volumes.push({ name: 'decoy', emptyDir: {} });
    const r = decide(d, policy);
    expect(r.response.allowed).toBe(false);
    expect(codes(r)).toContain('verify-step-not-inert');
  });

  it('the bundle file is read from the model volume itself, under a signed ignore path: still pinned to the payload', async () => {
    const s = signedModel(FILES);
    const model = makeModel(FILES);
    mkdirSync(join(model, '.git'));
    const other = signedModel({ ...FILES, 'config.json': 'evil' });
    writeFileSync(join(model, '.git', 'model.sig'), other.bundle);
    const r = await verifyCli(model, join(model, '.git', 'model.sig'), s.pin);
    expect(r.code).toBe(1);
    expect(problemCodes(r.out)).toEqual(['pin-mismatch']);
  });
});

describe('verify step CLI: what it checks must be the path itself', () => {
  let root: string;
  let s: ReturnType<typeof signedModel>;
  let bundlePath: string;
  beforeAll(() => {
    root = tempDir('oms-redteam-');
    s = signedModel(FILES);
    bundlePath = join(root, 'model.sig');
    writeFileSync(bundlePath, s.bundle);
  });

  it('MODEL reached through a symlinked parent directory (passed): the step reads one tree, the server another', async () => {
    // In the step's filesystem /models/link → /decoy (a volume only the step mounts) holds the
    // signed model; the server resolves the same link in its own filesystem to other bytes.
    makeModel(FILES, join(root, 'decoy', 'm'));
    mkdirSync(join(root, 'models'));
    symlinkSync(join(root, 'decoy'), join(root, 'models', 'link'));
    const r = await verifyCli(join(root, 'models', 'link', 'm'), bundlePath, s.pin);
    expect(r.code, r.out).toBe(1);
    expect(problemCodes(r.out)).toEqual(['symlink']);
  });

  it('a second model hidden under a signed ignore path (.git/) of the checked volume (passed)', async () => {
    // model_signing ignores .git by default and the rule allows it; the server's args can name
    // /models/.git/evil/model.safetensors as easily as /models/model.safetensors.
    const model = makeModel({ ...FILES, '.git/evil/model.safetensors': 'tampered weights' });
    const r = await verifyCli(model, bundlePath, s.pin);
    expect(r.code, r.out).toBe(1);
    expect(problemCodes(r.out)).toEqual(['file-unsigned']);
  });

  it('a file whose name is the signed one in another Unicode normalization (NFD for NFC): missing and unsigned', async () => {
    const nfc = 'caf\u00e9.bin';
    const one = signedModel({ [nfc]: 'w' });
    const bundle = join(tempDir(), 'model.sig');
    writeFileSync(bundle, one.bundle);
    const r = await verifyCli(makeModel({ [nfc.normalize('NFD')]: 'w' }), bundle, one.pin);
    expect(r.code).toBe(1);
    expect(problemCodes(r.out).sort()).toEqual(['file-missing', 'file-unsigned']);
  });

  it('a single-file model checked as the whole volume (its mount directory): exactly that one file', async () => {
    const one = signedModel({ 'm.onnx': 'onnx bytes' }, true);
    const dir = makeModel({ 'm.onnx': 'onnx bytes' });
    const bundle = join(tempDir(), 'model.sig');
    writeFileSync(bundle, one.bundle);
    expect((await verifyCli(dir, bundle, one.pin)).code).toBe(0);
    writeFileSync(join(dir, 'evil.onnx'), 'other bytes');
    const r = await verifyCli(dir, bundle, one.pin);
    expect(r.code).toBe(1);
    expect(problemCodes(r.out)).toContain('file-unsigned');
  });
});

describe('the audit record names what was admitted', () => {
  it('an OMS model is recorded by its payload sha256 (the pin), sharded or not: was the first file, or nothing for shards', () => {
    const st = statementFor({});
    st.predicate.serialization = { method: 'shards', hash_type: 'sha256', shard_size: 10, ignore_paths: [], allow_symlinks: false };
    st.predicate.resources = [{ name: 'w:0:10', algorithm: 'sha256-sharded-10', digest: 'c'.repeat(64) }];
    const payload = Buffer.from(JSON.stringify(st));
    const bundle = JSON.stringify(bundleOver(payload));
    const d = decide(workload(bundle, ['verify', '/models', '--oms-bundle', '/bundle/model.sig', '--oms-payload-sha256', sha256(payload)]), policyOf());
    expect(d.response.allowed, d.response.status?.message).toBe(true);
    expect(d.record.models).toEqual([expect.objectContaining({ format: 'oms', keyId: 'ml-ci', sha256: sha256(payload) })]);
  });
});

describe('trust: authorities, key ids and revocation', () => {
  it('an OMS authority named like a revoked key id is revoked too (revocation is by name, never bypassed)', () => {
    const policy = policyOf('revokedKeys:\n  - ml-ci\n');
    const s = signedModel(FILES);
    const d = decide(workload(s.bundle, ['verify', '/models', '--oms-bundle', '/bundle/model.sig', '--oms-payload-sha256', s.pin]), policy);
    expect(d.response.allowed).toBe(false);
    expect(codes(d)).toContain('key-revoked');
  });

  it('a keyring key named like an OMS authority vouches for nothing (was admitted as that authority)', () => {
    // A rule trusting "release" (the OMS authority) also trusted any manifest signed by a loaded
    // HMAC key of that name (say, a key kept during a migration, or a team's own).
    const policy = policyOf('rules:\n  - name: prod\n    keys: {trusted: [release]}\n', 'release');
    const keyring = new MemoryKeyring([['release', Buffer.from(vectors.key)]]);
    const d = decide(deployment(vectors.manifestText), policy, keyring);
    expect(d.response.allowed).toBe(false);
    expect(codes(d)).toContain('ambiguous-key-id');
    const alone = decide(deployment(vectors.manifestText), policyOf('', 'other'), new MemoryKeyring([['release', Buffer.from(vectors.key)]]));
    expect(alone.response.allowed, alone.response.status?.message).toBe(true);
    // The same for a v2 manifest whose signature.keyId is the authority's name.
    const unsigned: UnsignedManifestV2 = { ...v2Manifest() };
    delete (unsigned as Partial<ReturnType<typeof v2Manifest>>).signature;
    const v2 = signV2(unsigned, keyring, 'release');
    expect(v2?.signature.keyId).toBe('release');
    const d2 = decide(deployment(JSON.stringify(v2)), policy, keyring);
    expect(codes(d2)).toContain('ambiguous-key-id');
  });

  it('a bundle signed by a key no authority holds, with the hint of the trusted key: bad-signature', () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const b = bundleOver(Buffer.from(JSON.stringify(statementFor(FILES))), other);
    b.verificationMaterial.publicKey.hint = sha256(PUBLIC_PEM);
    const d = decide(workload(JSON.stringify(b), ['verify', '/models', '--oms-bundle', '/b', '--oms-payload-sha256', 'a'.repeat(64)]), policyOf());
    expect(d.response.allowed).toBe(false);
    expect(codes(d)).toContain('bad-signature');
  });
});

describe('DSSE and statement tricks on a properly signed envelope', () => {
  const authority = compileOmsAuthority({ name: 'ml-ci', method: 'key', publicKeys: [PUBLIC_PEM], roots: [], identities: [] });
  if (!authority.ok) throw new Error(authority.message);
  const verify = (b: unknown) => verifyOmsBundle(b, [authority.value], { origin: 'o', now: new Date() });

  it('payloadType changed after signing (the PAE binds it): bad-signature or refused', () => {
    for (const t of ['application/vnd.in-toto+json ', 'application/vnd.in-toto+JSON', '']) {
      const b = bundleOver(Buffer.from(JSON.stringify(statementFor(FILES))));
      b.dsseEnvelope.payloadType = t;
      expect(verify(b).ok).toBe(false);
    }
  });

  it('a signature over another payloadType (same key, same payload) does not verify as in-toto', () => {
    const payload = Buffer.from(JSON.stringify(statementFor(FILES)));
    const b = bundleOver(payload);
    b.dsseEnvelope.signatures[0].sig = sign('sha256', dssePae('text/plain', payload), privateKey).toString('base64');
    expect(verify(b)).toMatchObject({ ok: false, problem: { code: 'bad-signature' } });
  });

  it.each<[string, string, string]>([
    ['duplicate "resources" keys (a reader taking the first would see none)', '"resources":', '"resources":[],"resources":'],
    ['duplicate "allow_symlinks"', '"allow_symlinks":', '"allow_symlinks":true,"allow_symlinks":'],
  ])('a signed statement with %s is refused, never read two ways', (_, key, dup) => {
    const text = JSON.stringify(statementFor(FILES)).replace(key, dup);
    const r = verify(bundleOver(Buffer.from(text)));
    expect(r).toMatchObject({ ok: false });
  });

  it.each<[string, (s: Obj) => void]>([
    ['"." beside other files', (s) => s.predicate.resources.push({ name: '.', algorithm: 'sha256', digest: 'b'.repeat(64) })],
    ['a path escaping the model', (s) => (s.predicate.resources[0].name = '../etc/passwd')],
    ['an absolute path', (s) => (s.predicate.resources[0].name = '/etc/passwd')],
    ['a "./" prefix aliasing a signed file', (s) => s.predicate.resources.push({ name: './config.json', algorithm: 'sha256', digest: 'b'.repeat(64) })],
    ['a NUL in a name', (s) => (s.predicate.resources[0].name = 'model.safetensors\u0000.txt')],
    ['a doubled slash aliasing a path', (s) => (s.predicate.resources[0].name = 'tok//vocab.txt')],
    ['a trailing slash', (s) => (s.predicate.resources[0].name = 'tok/')],
    ['an ignore path that is the whole model', (s) => (s.predicate.serialization.ignore_paths = ['.'])],
    ['an ignore path escaping the model', (s) => (s.predicate.serialization.ignore_paths = ['..'])],
  ])('a signed statement with %s is refused', (_, edit) => {
    const st = statementFor(FILES);
    edit(st);
    expect(verify(bundleOver(Buffer.from(JSON.stringify(st)))).ok).toBe(false);
  });

  it('shards overlapping, with a gap, or past the file are refused by the step (coverage)', async () => {
    const content = Buffer.alloc(25, 1);
    const dir = makeModel({ w: content });
    const shard = (start: number, end: number) => ({ name: `w:${start}:${end}`, algorithm: 'sha256-sharded-10', digest: sha256(content.subarray(start, end)) });
    for (const shards of [[shard(0, 10), shard(0, 10 - 5)], [shard(0, 10), shard(20, 25)], [shard(0, 10), shard(10, 20)], [shard(0, 10), shard(10, 20), shard(20, 30)]]) {
      const st = statementFor({});
      st.predicate.serialization = { method: 'shards', hash_type: 'sha256', shard_size: 10, ignore_paths: [], allow_symlinks: false };
      st.predicate.resources = shards;
      const payload = Buffer.from(JSON.stringify(st));
      const bundle = join(tempDir(), 'model.sig');
      writeFileSync(bundle, JSON.stringify(bundleOver(payload)));
      const r = await verifyCli(dir, bundle, sha256(payload));
      expect(r.code, JSON.stringify(shards)).toBe(1);
    }
  });
});

describe('certificate chain tricks with a leaf the CA really issued to the attacker', () => {
  let pki: Pki;
  let authority: OmsAuthority;
  beforeAll(() => {
    pki = makePki();
    const a = compileOmsAuthority({ name: 'pki', method: 'certificate', publicKeys: [], roots: [pki.rootPem], identities: ['release@example.com'] });
    if (!a.ok) throw new Error(a.message);
    authority = a.value;
  });

  const keyOf = (path: string): KeyObject => createPrivateKey(readFileSync(path, 'utf8'));

  function certBundle(leaf: { key: string }, chain: string[]): Obj {
    return bundleOver(Buffer.from(JSON.stringify(statementFor(FILES))), keyOf(leaf.key), chain);
  }

  const verifyAt = (b: Obj, now = new Date()) => verifyOmsBundle(b, [authority], { origin: 'o', now });

  it('baseline: a leaf for the accepted identity verifies', () => {
    const leaf = pki.leaf({ san: 'email:release@example.com' });
    expect(verifyAt(certBundle(leaf, [leaf.pem, pki.intermediatePem])).ok).toBe(true);
  });

  it('the attacker\'s own leaf (another identity) refused: identity-mismatch', () => {
    const mine = pki.leaf({ san: 'email:attacker@example.com' });
    expect(verifyAt(certBundle(mine, [mine.pem, pki.intermediatePem]))).toMatchObject({ ok: false, problem: { code: 'identity-mismatch' } });
  });

  it('a leaf signed by the attacker\'s leaf (CA:false), naming the accepted identity: untrusted-certificate', () => {
    pki.leaf({ name: 'mine', san: 'email:attacker@example.com', keyUsage: 'digitalSignature,keyCertSign' });
    const forged = pki.leaf({ name: 'forged', issuer: 'mine', san: 'email:release@example.com' });
    const mine = readFileSync(join(pki.dir, 'mine.pem'), 'utf8');
    expect(verifyAt(certBundle(forged, [forged.pem, mine, pki.intermediatePem]))).toMatchObject({ ok: false, problem: { code: 'untrusted-certificate' } });
  });

  it('SANs that are the accepted identity but for case, or a longer URI beside another entry, are exact or nothing', () => {
    const upper = pki.leaf({ san: 'email:Release@example.com' });
    expect(verifyAt(certBundle(upper, [upper.pem, pki.intermediatePem])).ok).toBe(false);
    const two = pki.leaf({ san: 'email:attacker@example.com,URI:release@example.com.evil' });
    expect(verifyAt(certBundle(two, [two.pem, pki.intermediatePem])).ok).toBe(false);
  });

  it('rawBytes = the release signer\'s public certificate (DER) + the attacker\'s own leaf (PEM) (was accepted as release@)', () => {
    // der.ts read the extensions (SAN release@) from the DER at the start; node's X509Certificate
    // found the PEM further on and took key, issuer and signature from the attacker's leaf.
    const release = pki.leaf({ san: 'email:release@example.com' }); // public: in every bundle it signs
    const mine = pki.leaf({ san: 'email:attacker@example.com' }); // the attacker's own, key held
    const mixed = Buffer.concat([new X509Certificate(release.pem).raw, Buffer.from('\n'), Buffer.from(mine.pem)]);
    const b = certBundle(mine, [mine.pem, pki.intermediatePem]);
    b.verificationMaterial.x509CertificateChain.certificates[0].rawBytes = mixed.toString('base64');
    expect(verifyAt(b)).toMatchObject({ ok: false, problem: { code: 'bad-certificate' } });
    const trailing = Buffer.concat([new X509Certificate(release.pem).raw, Buffer.from([0])]);
    b.verificationMaterial.x509CertificateChain.certificates[0].rawBytes = trailing.toString('base64');
    expect(verifyAt(b)).toMatchObject({ ok: false, problem: { code: 'bad-certificate' } });
  });

  it('the chain given root first, leaf last (order tricks): the first certificate is the signer', () => {
    const leaf = pki.leaf({ san: 'email:release@example.com' });
    const r = verifyAt(certBundle(leaf, [pki.intermediatePem, leaf.pem]));
    expect(r.ok).toBe(false);
  });

  it('an old bundle given a renewed certificate of the same key passes maxAge (was admitted): the chain is unsigned', () => {
    // The signer's CI key K was certified in 2025 (cert A) and signed model M then; its renewal
    // (cert B, same key, notBefore now) is public in every newer bundle. Swapping B into M's old
    // bundle keeps the signature valid and made M look signed today.
    const dir = pki.dir;
    writeFileSync(join(dir, 'ca.cnf'), '[ca]\ndefault_ca=d\n[d]\ndir=.\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n');
    writeFileSync(join(dir, 'index.txt'), '');
    writeFileSync(join(dir, 'serial'), '1000\n');
    const renewed = pki.leaf({ name: 'ci', san: 'email:release@example.com' });
    const ext = join(dir, 'ci.ext');
    execFileSync('openssl', ['ca', '-batch', '-config', 'ca.cnf', '-cert', 'int.pem', '-keyfile', 'int.key', '-in', 'ci.csr',
      '-out', 'ci-2025.pem', '-startdate', '20250101000000Z', '-enddate', `${new Date().getUTCFullYear() + 1}0101000000Z`, '-extfile', ext, '-notext'], { cwd: dir, stdio: 'pipe' });
    const old = readFileSync(join(dir, 'ci-2025.pem'), 'utf8');
    const policy = parsePolicy(`apiVersion: modelgate.dev/v1\nkind: Policy\nrules:\n  - name: default\n    maxAge: 30d\n    requireVerifyInit: false\nomsAuthorities:\n  - name: pki\n    method: certificate\n    roots:\n      - |\n${pki.rootPem.trim().split('\n').map((l) => `        ${l}`).join('\n')}\n    identities: [release@example.com]\n`, 't');
    if (!policy.ok) throw new Error(JSON.stringify(policy.errors));
    const asSigned = certBundle(renewed, [old, pki.intermediatePem]);
    expect(codes(decide(deployment(JSON.stringify(asSigned)), policy.policy))).toContain('manifest-age-unsigned');
    const swapped = certBundle(renewed, [renewed.pem, pki.intermediatePem]);
    const d = decide(deployment(JSON.stringify(swapped)), policy.policy);
    expect(d.response.allowed).toBe(false);
    expect(codes(d)).toContain('manifest-age-unsigned');
  });

  it('valid now, expired later: a bundle is not admitted once its leaf has expired', () => {
    const leaf = pki.leaf({ san: 'email:release@example.com', days: 1 });
    const later = new Date(Date.now() + 2 * 86_400_000);
    expect(verifyAt(certBundle(leaf, [leaf.pem, pki.intermediatePem]), later)).toMatchObject({ ok: false, problem: { code: 'certificate-expired' } });
  });
});

describe('hostile file names on the volume: a clean refusal, never a crash or a pass', () => {
  it.each<[string, (model: string) => void]>([
    ['a directory whose name is not UTF-8', (m) => { mkdirSync(Buffer.concat([Buffer.from(`${m}/`), Buffer.from([0xff])])); writeFileSync(Buffer.concat([Buffer.from(`${m}/`), Buffer.from([0xff, 0x2f, 0x61])]), 'x'); }],
    ['a file whose name is not UTF-8', (m) => writeFileSync(Buffer.concat([Buffer.from(`${m}/`), Buffer.from([0xfe])]), 'x')],
    ['a FIFO', (m) => execFileSync('mkfifo', [join(m, 'pipe')])],
  ])('%s', async (_, add) => {
    const s = signedModel(FILES);
    const bundle = join(tempDir(), 'model.sig');
    writeFileSync(bundle, s.bundle);
    const model = makeModel(FILES);
    add(model);
    const r = await verifyCli(model, bundle, s.pin);
    expect(r.code, r.out + r.err).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({ valid: false });
  });
});
