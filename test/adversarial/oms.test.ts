/**
 * Hostile OMS bundle shapes: every field of the wrong type, oversized lists, deep nesting,
 * garbage certificates, statements that are signed but malicious. Each is refused with a
 * problem naming the field, never a crash, at bounded cost. The bundles here are built with
 * node:crypto (DSSE over the PAE, as model_signing signs) so they run without the venv; the
 * real tool's bundles are in test/integration/oms.test.ts.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseManifests } from '../../src/manifest/parse.js';
import { compileOmsAuthority } from '../../src/oms/authorities.js';
import { parseOmsBundle } from '../../src/oms/bundle.js';
import { certificateExtensions } from '../../src/oms/der.js';
import { dssePae } from '../../src/oms/dsse.js';
import { parseShardName } from '../../src/oms/statement.js';
import type { OmsAuthority } from '../../src/oms/types.js';
import { verifyOmsBundle } from '../../src/oms/verify.js';
import { certFacts, verifyCertificatePath } from '../../src/oms/x509.js';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const compiled = compileOmsAuthority({ name: 'ci', method: 'key', publicKeys: [pem], roots: [], identities: [] });
if (!compiled.ok) throw new Error(compiled.message);
const AUTHORITIES: OmsAuthority[] = [compiled.value];
const TYPE = 'application/vnd.in-toto+json';
const D = 'a'.repeat(64);

function statement(edit: (s: any) => void = () => {}): any {
  const s = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'model', digest: { sha256: D } }],
    predicateType: 'https://model_signing/signature/v1.0',
    predicate: {
      serialization: { method: 'files', hash_type: 'sha256', ignore_paths: ['.git'], allow_symlinks: false },
      resources: [{ name: 'a.bin', algorithm: 'sha256', digest: D }],
    },
  };
  edit(s);
  return s;
}

/** A key-method bundle over exactly these payload bytes, signed properly. */
function bundleOver(payload: Buffer): any {
  const sig = sign('sha256', dssePae(TYPE, payload), privateKey);
  return {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: { publicKey: { hint: 'x' }, tlogEntries: [] },
    dsseEnvelope: { payload: payload.toString('base64'), payloadType: TYPE, signatures: [{ sig: sig.toString('base64'), keyid: '' }] },
  };
}

const signed = (edit?: (s: any) => void): any => bundleOver(Buffer.from(JSON.stringify(statement(edit))));
const now = new Date();
const verify = (b: unknown) => verifyOmsBundle(b, AUTHORITIES, { origin: 'annotation modelgate.dev/manifest', now });
const problem = (b: unknown) => {
  const r = verify(b);
  if (r.ok) throw new Error('accepted');
  return r.problem;
};

describe('a well-formed bundle built here verifies (the baseline every case below varies)', () => {
  it('verifies', () => expect(verify(signed()).ok).toBe(true));
});

describe('hostile bundle shapes are refused with the field path', () => {
  it.each<[string, (b: any) => void, string, RegExp]>([
    ['mediaType v0.2', (b) => (b.mediaType = 'application/vnd.dev.sigstore.bundle+json;version=0.2'), 'unsupported-format', /mediaType$/],
    ['an unknown top-level field', (b) => (b.content = {}), 'unknown-field', /:content$/],
    ['verificationMaterial a string', (b) => (b.verificationMaterial = 'x'), 'wrong-type', /verificationMaterial$/],
    ['both publicKey and a certificate chain', (b) => (b.verificationMaterial.x509CertificateChain = { certificates: [] }), 'bad-value', /verificationMaterial$/],
    ['no verification material', (b) => (b.verificationMaterial = {}), 'bad-value', /verificationMaterial$/],
    ['tlog entries on a key-method bundle', (b) => (b.verificationMaterial.tlogEntries = [{}]), 'unsupported-field', /tlogEntries$/],
    ['hint a number', (b) => (b.verificationMaterial.publicKey.hint = 5), 'wrong-type', /publicKey\.hint$/],
    ['two signatures', (b) => b.dsseEnvelope.signatures.push(b.dsseEnvelope.signatures[0]), 'wrong-type', /signatures$/],
    ['no signature', (b) => (b.dsseEnvelope.signatures = []), 'wrong-type', /signatures$/],
    ['a signature that is a string', (b) => (b.dsseEnvelope.signatures = ['MEU=']), 'wrong-type', /signatures\[0\]$/],
    ['keyid an object', (b) => (b.dsseEnvelope.signatures[0].keyid = {}), 'wrong-type', /keyid$/],
    ['payload not base64', (b) => (b.dsseEnvelope.payload = 'not base64!'), 'bad-base64', /payload$/],
    ['payload base64 without padding', (b) => (b.dsseEnvelope.payload = b.dsseEnvelope.payload.replace(/=+$/, '') + 'A'), 'bad-base64', /payload$/],
    ['payload URL-safe base64 (- and _)', (b) => (b.dsseEnvelope.payload = '-_-_'), 'bad-base64', /payload$/],
    ['payload base64 with a line break', (b) => (b.dsseEnvelope.payload = 'QUJD\nREVG'), 'bad-base64', /payload$/],
    ['payload base64 with padding inside', (b) => (b.dsseEnvelope.payload = 'QQ==QUJD'), 'bad-base64', /payload$/],
    ['payload base64 with non-zero padding bits', (b) => (b.dsseEnvelope.payload = 'QR=='), 'bad-base64', /payload$/],
    ['signature base64 with a space', (b) => (b.dsseEnvelope.signatures[0].sig = `${b.dsseEnvelope.signatures[0].sig.slice(0, 4)} ${b.dsseEnvelope.signatures[0].sig.slice(5)}`), 'bad-base64', /sig$/],
    ['payloadType other', (b) => (b.dsseEnvelope.payloadType = 'text/plain'), 'bad-value', /payloadType$/],
    ['payload null', (b) => (b.dsseEnvelope.payload = null), 'wrong-type', /payload$/],
    ['100,000 signatures', (b) => (b.dsseEnvelope.signatures = Array(100_000).fill(0)), 'wrong-type', /signatures$/],
  ])('%s', (_, edit, code, path) => {
    const b = signed();
    edit(b);
    const p = problem(b);
    expect(p.code).toBe(code);
    expect(p.path).toMatch(path);
  });

  it('a certificate chain of 9 certificates: refused before any is parsed', () => {
    const b = signed();
    b.verificationMaterial = { x509CertificateChain: { certificates: Array(9).fill({ rawBytes: 'AAAA' }) } };
    expect(problem(b)).toMatchObject({ code: 'wrong-type', path: expect.stringMatching(/certificates$/) });
  });

  it('garbage and truncated DER certificates: bad-certificate naming the certificate, no throw', () => {
    const pki = compileOmsAuthority({ name: 'pki', method: 'certificate', roots: [], identities: ['x'], publicKeys: [] });
    expect(pki.ok).toBe(false); // a certificate authority without roots is a policy error
    const authority: OmsAuthority = { name: 'pki', method: 'certificate', roots: [], identities: ['x'] };
    for (const der of [Buffer.from('3082ffff', 'hex'), Buffer.from('30840000000130', 'hex'), Buffer.alloc(4000, 0x30), Buffer.from([0x30])]) {
      expect(certificateExtensions(der)).toBeUndefined();
      expect(typeof certFacts(der)).toBe('string');
      const b = signed();
      b.verificationMaterial = { x509CertificateChain: { certificates: [{ rawBytes: der.toString('base64') }] } };
      const r = verifyOmsBundle(b, [authority], { origin: 'o', now });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.problem).toMatchObject({ code: 'bad-certificate', path: 'o:verificationMaterial.x509CertificateChain.certificates[0]' });
    }
  });

  it('deep nesting anywhere in the text: refused by the strict JSON parser, no stack overflow', () => {
    const deep = `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const r = parseManifests(deep, 'annotation modelgate.dev/manifest');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem.message).toMatch(/nesting deeper/);
  });

  it('a bundle text over 1 MiB: too large, refused before parsing', () => {
    const b = signed();
    b.dsseEnvelope.payload = 'A'.repeat(1024 * 1024 + 4);
    const r = parseManifests(JSON.stringify(b), 'configmap ml/m/model.sig');
    expect(r.ok).toBe(false);
  });

  it('duplicate keys in the bundle JSON: refused (two readers could see two bundles)', () => {
    const text = JSON.stringify(signed()).replace('{"mediaType"', '{"mediaType":"x","mediaType"');
    const r = parseManifests(text, 'a');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem.message).toMatch(/duplicate key/);
  });

  it('parseOmsBundle never throws on any JSON value', () => {
    for (const v of [null, 1, 'x', [], [{}], { mediaType: 1 }, { dsseEnvelope: [] }, { verificationMaterial: { publicKey: [] } }]) {
      expect(() => parseOmsBundle(v)).not.toThrow();
      expect(parseOmsBundle(v).ok).toBe(false);
    }
  });
});

describe('signed but malicious statements are refused (the signature alone is not enough)', () => {
  it.each<[string, (s: any) => void, string, RegExp]>([
    ['a resource named ../../etc/passwd', (s) => (s.predicate.resources[0].name = '../../etc/passwd'), 'bad-path', /resources\[0\]\.name$/],
    ['an absolute resource name', (s) => (s.predicate.resources[0].name = '/etc/passwd'), 'bad-path', /resources\[0\]\.name$/],
    ['a resource name with a backslash', (s) => (s.predicate.resources[0].name = 'a\\b'), 'bad-path', /name$/],
    ['a resource name with an empty segment', (s) => (s.predicate.resources[0].name = 'a//b'), 'bad-path', /name$/],
    ['"." beside other files', (s) => s.predicate.resources.push({ name: '.', algorithm: 'sha256', digest: D }), 'bad-path', /resources\[1\]\.name$/],
    ['a resource listed twice', (s) => s.predicate.resources.push({ ...s.predicate.resources[0] }), 'bad-path', /resources\[1\]\.name$/],
    ['an ignore path escaping the model', (s) => s.predicate.serialization.ignore_paths.push('../x'), 'bad-path', /ignore_paths\[1\]$/],
    ['hash_type md5', (s) => (s.predicate.serialization.hash_type = 'md5'), 'unsupported-hash', /hash_type$/],
    ['a resource algorithm that disagrees with hash_type', (s) => (s.predicate.resources[0].algorithm = 'blake2'), 'bad-value', /algorithm$/],
    ['an upper-case digest', (s) => (s.predicate.resources[0].digest = D.toUpperCase()), 'bad-digest', /digest$/],
    ['another predicate type', (s) => (s.predicateType = 'https://slsa.dev/provenance/v1'), 'unsupported-predicate', /predicateType$/],
    ['two subjects', (s) => s.subject.push(s.subject[0]), 'wrong-type', /subject$/],
    ['an unknown predicate field', (s) => (s.predicate.extra = 1), 'unknown-field', /predicate\.extra$/],
    ['allow_symlinks a string', (s) => (s.predicate.serialization.allow_symlinks = 'false'), 'wrong-type', /allow_symlinks$/],
    ['5,000 resources', (s) => (s.predicate.resources = Array.from({ length: 5000 }, (_, i) => ({ name: `f${i}`, algorithm: 'sha256', digest: D }))), 'wrong-type', /resources$/],
    ['shards without shard_size', (s) => (s.predicate.serialization.method = 'shards'), 'missing-field', /shard_size$/],
    ['a shard not on a shard boundary', (s) => {
      s.predicate.serialization = { ...s.predicate.serialization, method: 'shards', shard_size: 100 };
      s.predicate.resources = [{ name: 'a.bin:50:100', algorithm: 'sha256-sharded-100', digest: D }];
    }, 'bad-value', /name$/],
    ['a shard longer than shard_size', (s) => {
      s.predicate.serialization = { ...s.predicate.serialization, method: 'shards', shard_size: 100 };
      s.predicate.resources = [{ name: 'a.bin:0:101', algorithm: 'sha256-sharded-100', digest: D }];
    }, 'bad-value', /name$/],
    ['a shard name without a range', (s) => {
      s.predicate.serialization = { ...s.predicate.serialization, method: 'shards', shard_size: 100 };
      s.predicate.resources = [{ name: 'a.bin', algorithm: 'sha256-sharded-100', digest: D }];
    }, 'bad-path', /name$/],
  ])('%s', (_, edit, code, path) => {
    const p = problem(signed(edit));
    expect(p.code).toBe(code);
    expect(p.path).toMatch(path);
    expect(p.path.startsWith('annotation modelgate.dev/manifest:payload')).toBe(true);
  });

  it('a payload that is not JSON, or not UTF-8, or has duplicate keys: refused after the signature checks', () => {
    expect(problem(bundleOver(Buffer.from('not json'))).code).toBe('invalid-json');
    expect(problem(bundleOver(Buffer.from([0xff, 0xfe, 0x7b]))).code).toBe('bad-payload');
    const dup = JSON.stringify(statement()).replace('{"_type"', '{"_type":"x","_type"');
    expect(problem(bundleOver(Buffer.from(dup))).message).toMatch(/duplicate key/);
  });

  it('4,096 resources (the limit) verify in bounded time', () => {
    const b = signed((s) => (s.predicate.resources = Array.from({ length: 4096 }, (_, i) => ({ name: `dir/f${i}.bin`, algorithm: 'sha256', digest: D }))));
    const t = performance.now();
    expect(verify(b).ok).toBe(true);
    expect(performance.now() - t).toBeLessThan(500);
  });

  it.each([
    ['a.bin:0:10', { file: 'a.bin', start: 0, end: 10 }],
    ['dir/x:y.bin:1000:2000', { file: 'dir/x:y.bin', start: 1000, end: 2000 }],
    ['a.bin:0', 'must be "path:start:end" for a shard'],
    [':0:10', 'must be "path:start:end" for a shard'],
    ['a.bin:-1:10', 'start and end must be decimal byte offsets'],
    ['a.bin:01:10', 'start and end must be decimal byte offsets'],
    ['a.bin:0:99999999999999999999', 'start and end must be decimal byte offsets'],
  ])('shard name %j', (name, want) => expect(parseShardName(name)).toEqual(want));
});

describe('policy trust authorities refuse what cannot verify OMS signatures', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const ed = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const priv = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  it.each([
    ['an RSA key', { method: 'key', publicKeys: [rsa] }, 'publicKeys[0]'],
    ['an Ed25519 key', { method: 'key', publicKeys: [ed] }, 'publicKeys[0]'],
    ['a private key', { method: 'key', publicKeys: [priv] }, 'publicKeys[0]'],
    ['two keys in one entry', { method: 'key', publicKeys: [pem + pem] }, 'publicKeys[0]'],
    ['no keys', { method: 'key' }, 'publicKeys'],
    ['roots on a key authority', { method: 'key', publicKeys: [pem], roots: [pem] }, 'roots'],
    ['a certificate authority without identities', { method: 'certificate', roots: ['x'] }, 'identities'],
    ['a root that is not a certificate', { method: 'certificate', roots: [pem], identities: ['a'] }, 'roots[0]'],
    ['a sigstore authority without signers', { method: 'sigstore' }, 'signers'],
    ['a sigstore authority with a trusted root that is not JSON', { method: 'sigstore', trustedRoot: '{', signers: [{ subject: 'a', issuer: 'b' }] }, 'trustedRoot'],
    ['an unknown method', { method: 'gpg' }, 'method'],
  ])('%s', (_, spec, field) => {
    const c = compileOmsAuthority({ name: 'a', publicKeys: [], roots: [], identities: [], ...spec });
    expect(c.ok).toBe(false);
    if (!c.ok) expect(c.field).toBe(field);
  });

  it('verifyCertificatePath on an empty chain: a problem, not a throw', () => {
    const r = verifyCertificatePath([], { name: 'x', method: 'certificate', roots: [], identities: [] }, new Date());
    expect(r.ok).toBe(false);
  });
});
