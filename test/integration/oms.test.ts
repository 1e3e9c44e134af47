/**
 * OMS bundles made by the real tool (model_signing 1.1.1, hack/oms-venv.sh), verified by
 * modelgate: key and certificate methods, a directory and a single file, files and shards; every
 * tampering refused. Skips loudly without the venv, except under CI=true (then it fails).
 */
import { X509Certificate, createHash } from 'node:crypto';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { admissionRequest, deployment } from '../fixtures/objects.js';
import { decideAdmission } from '../../src/decision/decide.js';
import { planAdmission } from '../../src/decision/plan.js';
import { MemoryKeyring } from '../../src/keys/keyring.js';
import { parseManifests } from '../../src/manifest/parse.js';
import type { Result, VerifiedModel } from '../../src/manifest/types.js';
import { compileOmsAuthority } from '../../src/oms/authorities.js';
import type { OmsAuthority } from '../../src/oms/types.js';
import { verifyParsedOmsBundle } from '../../src/oms/verify.js';
import { parsePolicy } from '../../src/policy/load.js';
import type { Policy } from '../../src/policy/types.js';
import {
  ecKey,
  makeModel,
  makePki,
  modelSigningVerifies,
  omsToolAvailable,
  signModel,
  statementOf,
  tempDir,
  withPayload,
  type EcKey,
  type Pki,
} from '../harness/oms.js';

const available = omsToolAvailable();
const ORIGIN = 'configmap ml/fraud-model/model.sig';

function authority(spec: { name: string; method: string; publicKeys?: string[]; roots?: string[]; identities?: string[] }): OmsAuthority {
  const c = compileOmsAuthority({ publicKeys: [], roots: [], identities: [], ...spec });
  if (!c.ok) throw new Error(`${c.field}: ${c.message}`);
  return c.value;
}

/** The webhook's path: parse the text as manifests (format detection), then verify. */
function verify(text: string, authorities: OmsAuthority[], now = new Date()): Result<VerifiedModel> {
  const parsed = parseManifests(text, ORIGIN);
  if (!parsed.ok) return parsed;
  const m = parsed.value[0];
  if (m?.format !== 'oms') throw new Error(`detected as ${m?.format}`);
  return verifyParsedOmsBundle(m.body, authorities, { origin: ORIGIN, now });
}

function problemOf(r: Result<VerifiedModel>): { code: string; message: string; path: string } {
  if (r.ok) throw new Error('expected a refusal, got a verified model');
  return r.problem;
}

const sha256 = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');
/** sha256 of a bundle's DSSE payload: what the OMS verify step pins. */
const payloadSha256 = (bundle: string): string =>
  sha256(Buffer.from((JSON.parse(bundle) as { dsseEnvelope: { payload: string } }).dsseEnvelope.payload, 'base64'));
const FILES = { 'weights.bin': Buffer.alloc(2500, 7), 'config.json': '{"layers": 2}\n', 'tok/vocab.txt': 'a\nb\n' };

describe.skipIf(!available)('OMS bundles signed by model_signing 1.1.1', () => {
  let key: EcKey;
  let model: string;
  let keyBundle: string;
  let keyAuthority: OmsAuthority;

  beforeAll(() => {
    key = ecKey('P-256');
    model = makeModel(FILES);
    keyBundle = signModel(model, { key: key.privatePath });
    keyAuthority = authority({ name: 'ml-ci', method: 'key', publicKeys: [key.publicPem] });
  });

  describe('key method', () => {
    it('verifies a directory: every file by name and sha256, keyId = the authority, no signing time', () => {
      const r = verify(keyBundle, [keyAuthority]);
      expect(r.ok, JSON.stringify(r)).toBe(true);
      if (!r.ok) return;
      expect(r.value).toMatchObject({ format: 'oms', name: 'model', keyId: 'ml-ci', origin: ORIGIN, claims: {} });
      expect(r.value.signedAt).toBeUndefined();
      expect([...r.value.files].sort((a, b) => a.path.localeCompare(b.path))).toEqual([
        { path: 'config.json', sha256: sha256(FILES['config.json']) },
        { path: 'tok/vocab.txt', sha256: sha256(FILES['tok/vocab.txt']) },
        { path: 'weights.bin', sha256: sha256(FILES['weights.bin']) },
      ]);
      expect(r.value.oms).toMatchObject({ method: 'key', serialization: 'files', hashType: 'sha256', allowSymlinks: false });
      expect(modelSigningVerifies(model, `${model}.sig`, { publicKey: writeTemp(key.publicPem) })).toBe(true);
    });

    it.each(['P-384', 'P-521'] as const)('verifies a bundle signed with an EC %s key', (curve) => {
      const k = ecKey(curve);
      const m = makeModel({ 'a.bin': 'x' });
      const r = verify(signModel(m, { key: k.privatePath }), [authority({ name: 'k', method: 'key', publicKeys: [k.publicPem] })]);
      expect(r.ok, JSON.stringify(r)).toBe(true);
    });

    it('verifies a single-file model: the one resource is named "." and the model is named after the file', () => {
      const file = join(makeModel({ 'fraud.onnx': 'onnx bytes' }), 'fraud.onnx');
      const r = verify(signModel(file, { key: key.privatePath }), [keyAuthority]);
      expect(r.ok, JSON.stringify(r)).toBe(true);
      if (!r.ok) return;
      expect(r.value.name).toBe('fraud.onnx');
      expect(r.value.files).toEqual([{ path: '.', sha256: sha256('onnx bytes') }]);
    });

    it('verifies a sharded model: shards parsed as name:start:end, no whole-file digests claimed', () => {
      const m = makeModel(FILES);
      const r = verify(signModel(m, { key: key.privatePath, shardSize: 1000 }), [keyAuthority]);
      expect(r.ok, JSON.stringify(r)).toBe(true);
      if (!r.ok) return;
      expect(r.value.files).toEqual([]);
      expect(r.value.oms?.serialization).toBe('shards');
      const weights = r.value.oms?.resources.filter((x) => x.file === 'weights.bin');
      expect(weights?.map((x) => [x.start, x.end])).toEqual([[0, 1000], [1000, 2000], [2000, 2500]]);
      expect(weights?.[2]?.digest).toBe(sha256(FILES['weights.bin'].subarray(2000)));
    });

    it('tries every key: an unsigned hint that names another key changes nothing', () => {
      const other = ecKey();
      const b = JSON.parse(keyBundle);
      b.verificationMaterial.publicKey.hint = 'f'.repeat(64);
      const r = verify(JSON.stringify(b), [authority({ name: 'ml-ci', method: 'key', publicKeys: [other.publicPem, key.publicPem] })]);
      expect(r.ok).toBe(true);
    });
  });

  describe('every tampering is refused', () => {
    it.each([
      ['one byte of the payload', (s: any) => { s.predicate.resources[0].digest = s.predicate.resources[0].digest.replace(/^./, (c: string) => (c === '0' ? '1' : '0')); }],
      ['a renamed resource', (s: any) => { s.predicate.resources[0].name = 'renamed.bin'; }],
      ['a removed ignore path', (s: any) => { s.predicate.serialization.ignore_paths.pop(); }],
      ['an added ignore path', (s: any) => { s.predicate.serialization.ignore_paths.push('weights.bin'); }],
      ['a dropped resource (subject kept)', (s: any) => { s.predicate.resources.pop(); }],
      ['allow_symlinks switched on', (s: any) => { s.predicate.serialization.allow_symlinks = true; }],
    ])('%s: bad-signature', (_, edit) => {
      expect(problemOf(verify(withPayload(keyBundle, edit), [keyAuthority])).code).toBe('bad-signature');
    });

    it('the same statement re-serialized (not the signed bytes): bad-signature', () => {
      expect(problemOf(verify(withPayload(keyBundle, () => {}), [keyAuthority])).code).toBe('bad-signature');
    });

    it('a signature swapped in from another bundle by the same key: bad-signature', () => {
      const other = JSON.parse(signModel(makeModel({ 'other.bin': 'y' }), { key: key.privatePath }));
      const b = JSON.parse(keyBundle);
      b.dsseEnvelope.signatures[0].sig = other.dsseEnvelope.signatures[0].sig;
      expect(problemOf(verify(JSON.stringify(b), [keyAuthority])).code).toBe('bad-signature');
    });

    it('a bundle signed by a key the authority does not hold: bad-signature', () => {
      const stranger = ecKey();
      const r = verify(signModel(makeModel({ 'a.bin': 'x' }), { key: stranger.privatePath }), [keyAuthority]);
      expect(problemOf(r)).toMatchObject({ code: 'bad-signature', path: ORIGIN });
    });

    it('a key-method bundle when policy has only certificate authorities: no-authority', () => {
      const pki = makePki();
      const r = verify(keyBundle, [authority({ name: 'pki', method: 'certificate', roots: [pki.rootPem], identities: ['ci@example.com'] })]);
      expect(problemOf(r).code).toBe('no-authority');
    });
  });

  describe('certificate method', () => {
    let pki: Pki;
    let leaf: ReturnType<Pki['leaf']>;
    let chainFiles: string[];
    let certBundle: string;
    let pkiAuthority: OmsAuthority;
    const signWith = (l: ReturnType<Pki['leaf']>, m = makeModel({ 'a.bin': 'x' })): string =>
      signModel(m, { key: l.key, cert: l.cert, chain: chainFiles });

    beforeAll(() => {
      pki = makePki();
      leaf = pki.leaf();
      chainFiles = [join(pki.dir, 'int.pem'), join(pki.dir, 'root.pem')];
      certBundle = signModel(model, { key: leaf.key, cert: leaf.cert, chain: chainFiles });
      pkiAuthority = authority({ name: 'ml-pki', method: 'certificate', roots: [pki.rootPem], identities: ['https://ci.example.com/pipeline'] });
    });

    it('verifies through the intermediate to the configured root: identity = the exact SAN, no signedAt (the chain is unsigned)', () => {
      const r = verify(certBundle, [pkiAuthority]);
      expect(r.ok, JSON.stringify(r)).toBe(true);
      if (!r.ok) return;
      expect(r.value).toMatchObject({ format: 'oms', name: 'model', keyId: 'ml-pki' });
      expect(r.value.oms?.identity).toBe('https://ci.example.com/pipeline');
      expect(r.value.signedAt).toBeUndefined();
      expect(modelSigningVerifies(model, `${model}.sig`, { rootCert: join(pki.dir, 'root.pem') })).toBe(true);
    });

    it('verifies when the configured anchor is the intermediate', () => {
      const a = authority({ name: 'ml-int', method: 'certificate', roots: [pki.intermediatePem], identities: ['ci@example.com'] });
      expect(verify(certBundle, [a]).ok).toBe(true);
    });

    it('verifies a sharded, single-file model', () => {
      const file = join(makeModel({ 'w.bin': Buffer.alloc(3000, 1) }), 'w.bin');
      const r = verify(signModel(file, { key: leaf.key, cert: leaf.cert, chain: chainFiles, shardSize: 1024 }), [pkiAuthority]);
      expect(r.ok, JSON.stringify(r)).toBe(true);
      if (r.ok) expect(r.value.oms?.resources.map((x) => x.name)).toEqual(['.:0:1024', '.:1024:2048', '.:2048:3000']);
    });

    it.each([
      ['an identity that is a prefix of the SAN', 'https://ci.example.com/pipe'],
      ['an identity the SAN only contains', 'ci.example.com'],
      ['a differently-cased identity', 'CI@example.com'],
      ['a regex-looking identity', '.*'],
    ])('wrong SAN (%s): identity-mismatch', (_, identity) => {
      const a = authority({ name: 'ml-pki', method: 'certificate', roots: [pki.rootPem], identities: [identity] });
      expect(problemOf(verify(certBundle, [a])).code).toBe('identity-mismatch');
    });

    it('a leaf that is a CA: leaf-is-ca', () => {
      const caLeaf = pki.leaf({ ca: true, keyUsage: 'digitalSignature,keyCertSign' });
      expect(problemOf(verify(signWith(caLeaf), [pkiAuthority])).code).toBe('leaf-is-ca');
    });

    it('a leaf for key encipherment only (no digitalSignature, no codeSigning): bad-key-usage', () => {
      const l = pki.leaf({ keyUsage: 'keyEncipherment', extKeyUsage: null });
      expect(problemOf(verify(signWith(l), [pkiAuthority])).code).toBe('bad-key-usage');
    });

    it('a leaf whose extKeyUsage excludes code signing: bad-key-usage', () => {
      const l = pki.leaf({ extKeyUsage: 'serverAuth' });
      expect(problemOf(verify(signWith(l), [pkiAuthority])).code).toBe('bad-key-usage');
    });

    it('an intermediate beyond its parent\'s pathLen (0): untrusted-certificate', () => {
      // sub: a CA issued by the intermediate, whose basicConstraints say pathlen:0 (no CA below it)
      const sub = pki.leaf({ name: 'sub', ca: true, keyUsage: 'keyCertSign', extKeyUsage: null });
      const l = pki.leaf({ issuer: 'sub' });
      const b = signModel(makeModel({ 'a.bin': 'x' }), { key: l.key, cert: l.cert, chain: [sub.cert, ...chainFiles] });
      expect(problemOf(verify(b, [pkiAuthority])).code).toBe('untrusted-certificate');
      // the configured CA's own pathLen binds too
      const anchoredAtInt = authority({ name: 'int', method: 'certificate', roots: [pki.intermediatePem], identities: ['ci@example.com'] });
      expect(problemOf(verify(b, [anchoredAtInt])).code).toBe('untrusted-certificate');
    });

    it('a leaf with a critical extension modelgate does not understand: bad-certificate', () => {
      const l = pki.leaf({ extra: ['1.3.6.1.4.1.99999.1=critical,ASN1:NULL'] });
      expect(problemOf(verify(signWith(l), [pkiAuthority])).code).toBe('bad-certificate');
    });

    it('a chain to another root: untrusted-certificate', () => {
      const other = makePki();
      const a = authority({ name: 'other', method: 'certificate', roots: [other.rootPem], identities: ['ci@example.com'] });
      expect(problemOf(verify(certBundle, [a])).code).toBe('untrusted-certificate');
    });

    it('a swapped leaf certificate (same CA, same SAN, another key): bad-signature', () => {
      const b = JSON.parse(certBundle);
      const der = new X509Certificate(pki.leaf().pem).raw as Buffer;
      b.verificationMaterial.x509CertificateChain.certificates[0].rawBytes = der.toString('base64');
      expect(problemOf(verify(JSON.stringify(b), [pkiAuthority])).code).toBe('bad-signature');
    });

    it('a leaf from a self-made CA presented with the real intermediate: untrusted-certificate', () => {
      const rogue = makePki();
      const b = JSON.parse(signModel(makeModel({ 'a.bin': 'x' }), { key: rogue.leaf().key, cert: join(rogue.dir, 'leaf1.pem'), chain: [join(pki.dir, 'int.pem')] }));
      expect(problemOf(verify(JSON.stringify(b), [pkiAuthority])).code).toBe('untrusted-certificate');
    });

    it('a payload byte changed: bad-signature', () => {
      const r = verify(withPayload(certBundle, (s) => { s.subject[0].name = 'other'; }), [pkiAuthority]);
      expect(problemOf(r).code).toBe('bad-signature');
    });

    it('outside the certificate validity (admission time is the only time the bundle can be checked at): certificate-expired', () => {
      const later = new Date(Date.now() + 60 * 86_400_000);
      expect(problemOf(verify(certBundle, [pkiAuthority], later)).code).toBe('certificate-expired');
    });
  });

  describe('the admission decision', () => {
    function policy(extra = ''): Policy {
      const yaml = `apiVersion: modelgate.dev/v1
kind: Policy
omsAuthorities:
  - name: ml-ci
    method: key
    publicKeys:
      - |
${key.publicPem.trim().split('\n').map((l) => `        ${l}`).join('\n')}
rules:
  - name: default
${extra}`;
      const p = parsePolicy(yaml, 'test');
      if (!p.ok) throw new Error(JSON.stringify(p.errors));
      return p.policy;
    }

    /** The OMS form of the verify step, over the whole model volume, pinned to `pin` (default: the bundle's payload). */
    function workload(bundle: string, pin = payloadSha256(bundle)): Record<string, any> {
      const d = deployment(bundle);
      const spec = d.spec.template.spec;
      spec.initContainers[0].args = ['verify', '/models', '--oms-bundle', '/bundle/model.sig', '--oms-payload-sha256', pin];
      spec.initContainers[0].volumeMounts.push({ name: 'bundle', mountPath: '/bundle', readOnly: true });
      spec.volumes.push({ name: 'bundle', configMap: { name: 'fraud-model' } });
      return d;
    }

    /** The per-file form (`verify FILE... --sha256 HEX...`) with every signed file's digest. */
    function perFile(bundle: string): Record<string, any> {
      const d = deployment(bundle);
      d.spec.template.spec.initContainers[0].args = [
        'verify',
        ...Object.keys(FILES).map((f) => `/models/${f}`),
        ...Object.values(FILES).flatMap((c) => ['--sha256', sha256(c)]),
      ];
      return d;
    }

    function decide(obj: Record<string, any>, p: Policy) {
      return decideAdmission(planAdmission(admissionRequest(obj), p), {
        resolved: [],
        keyring: new MemoryKeyring([]),
        now: new Date(),
      });
    }

    it('admits a Deployment carrying the bundle in its annotation, recording format oms and the authority', () => {
      const d = decide(workload(keyBundle), policy());
      expect(d.response.allowed, d.response.status?.message).toBe(true);
      expect(d.record.models).toEqual([expect.objectContaining({ name: 'model', keyId: 'ml-ci', format: 'oms' })]);
    });

    it('denies a tampered bundle in one line naming the problem', () => {
      const d = decide(workload(withPayload(keyBundle, (s) => { s.predicate.resources[0].name = 'x.bin'; })), policy());
      expect(d.response.allowed).toBe(false);
      expect(d.response.status?.message).toMatch(/^modelgate: .*signature matches none/);
    });

    it('denies a model whose payload the verify init container does not pin', () => {
      const d = decide(workload(keyBundle, '0'.repeat(64)), policy());
      expect(d.record.reasons.map((r) => r.code)).toContain('verify-init-not-pinned');
    });

    it.each([
      ['requireScanPassed', '    requireScanPassed: true'],
      ['allowedSources', '    allowedSources: ["s3://models/"]'],
      ['approvals.min with allowAnnotation: false', '    approvals: {min: 1, allowAnnotation: false}'],
    ])('a rule needing %s denies an OMS model with claim-unavailable, naming the rule', (_, extra) => {
      const d = decide(workload(keyBundle), policy(extra));
      expect(d.response.allowed).toBe(false);
      expect(d.record.reasons).toEqual([expect.objectContaining({ code: 'claim-unavailable', message: expect.stringContaining('rule "default"') })]);
    });

    it('maxAge with a key-method bundle (no signing time): manifest-age-unsigned', () => {
      const d = decide(workload(keyBundle), policy('    maxAge: 30d'));
      expect(d.record.reasons.map((r) => r.code)).toEqual(['manifest-age-unsigned']);
    });

    it('a rule that does not trust the authority: key-not-trusted', () => {
      const d = decide(workload(keyBundle), policy('    keys: {trusted: [other]}'));
      expect(d.record.reasons.map((r) => r.code)).toEqual(['key-not-trusted']);
    });

    it('a rule that does not accept the key method: oms-method-not-allowed', () => {
      const d = decide(workload(keyBundle), policy('    oms: {methods: [certificate]}'));
      expect(d.record.reasons.map((r) => r.code)).toEqual(['oms-method-not-allowed']);
    });

    it('a bundle that leaves a model file unsigned (--ignore-paths) is refused unless the rule allows that path', () => {
      const m = makeModel(FILES);
      const b = signModel(m, { key: key.privatePath, ignorePaths: [join(m, 'tok')] });
      expect(statementOf(b).predicate.serialization.ignore_paths).toContain('tok');
      expect(decide(workload(b), policy()).record.reasons.map((r) => r.code)).toContain('oms-ignore-path-not-allowed');
      const allowed = policy('    oms: {ignorePaths: [".git", ".github", ".gitattributes", ".gitignore", "tok"]}');
      expect(decide(workload(b), allowed).record.reasons.map((r) => r.code)).not.toContain('oms-ignore-path-not-allowed');
    });

    it('a bundle signed with --allow_symlinks: oms-symlinks-allowed', () => {
      const m = makeModel({ 'a.bin': 'x' });
      symlinkSync(join(m, 'a.bin'), join(m, 'link.bin'));
      const b = signModel(m, { key: key.privatePath, allowSymlinks: true });
      const d = decide(workload(b), policy('    requireVerifyInit: false'));
      expect(d.record.reasons.map((r) => r.code)).toEqual(['oms-symlinks-allowed']);
    });

    it.each([
      ['files', undefined],
      ['shards', 1000],
    ])('an OMS model (%s) pinned file by file with --sha256: verify-init-not-pinned (only the OMS form checks the signed list)', (_, shardSize) => {
      const b = signModel(makeModel(FILES), { key: key.privatePath, ...(shardSize ? { shardSize } : {}) });
      const d = decide(perFile(b), policy());
      expect(d.record.reasons.map((r) => r.code)).toEqual(['verify-init-not-pinned']);
      expect(d.response.status?.message).toContain(`--oms-payload-sha256 ${payloadSha256(b)}`);
    });
  });
});

function writeTemp(text: string): string {
  const p = join(tempDir('oms-pub-'), 'pub.pem');
  writeFileSync(p, text);
  return p;
}
