import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  dsseEntryBody,
  ecKey,
  logEntry,
  makeCa,
  makeInstance,
  makeLog,
  makeTsa,
  modelStatement,
  signModel,
  type SigstoreInstance,
  type SignOptions,
} from '../../test/fixtures/sigstore.js';
import {
  SigstoreVerdictCache,
  loadSigstoreAuthority,
  publicGoodTrustedRoot,
  readTrustedRootFile,
  verifySigstoreBundleBytes,
  verifySigstoreEnvelope,
  type CompiledSigstoreAuthority,
  type SigstoreAuthority,
} from './sigstore.js';

const ALICE = 'alice@example.com';
const GOOGLE = 'https://accounts.example.com';
const WORKFLOW = 'https://github.com/acme/models/.github/workflows/sign.yml@refs/heads/main';
const ACTIONS = 'https://token.actions.githubusercontent.com';

let inst: SigstoreInstance;
let authority: CompiledSigstoreAuthority;

function authorityFor(
  identities: { subject: string; issuer: string }[],
  name = 'test',
): CompiledSigstoreAuthority {
  const a = loadSigstoreAuthority({ name, trustedRoot: inst.trustedRoot, identities });
  if (!a.ok) throw new Error(a.problem.message);
  return a.value;
}

const sign = (o: Partial<SignOptions> = {}) => signModel(inst, { identity: ALICE, issuer: GOOGLE, ...o });
const codeOf = (bundle: unknown, auth: SigstoreAuthority = authority, now?: Date) => {
  const r = verifySigstoreEnvelope(bundle, auth, { cache: false, ...(now ? { now } : {}) });
  return r.ok ? 'ok' : r.problem.code;
};
const clone = <T>(v: T): T => structuredClone(v);

beforeAll(() => {
  inst = makeInstance();
  authority = authorityFor([
    { subject: ALICE, issuer: GOOGLE },
    { subject: WORKFLOW, issuer: ACTIONS },
  ]);
});

describe('a bundle made like model_signing makes it, by a trusted private instance', () => {
  it('is accepted with the exact identity, issuer, payload and the log-verified signing time', () => {
    const at = new Date('2026-11-30T12:00:00Z');
    const s = sign({ at });
    const r = verifySigstoreEnvelope(s.bundle, authority);
    expect(r).toEqual({
      ok: true,
      value: {
        payload: s.payload,
        payloadType: 'application/vnd.in-toto+json',
        identity: ALICE,
        issuer: GOOGLE,
        signedAt: at,
      },
    });
    const statement = JSON.parse(r.ok ? r.value.payload.toString('utf8') : '{}');
    expect(statement.predicateType).toBe('https://model_signing/signature/v1.0');
  });

  it('accepts a URI identity (a CI workflow) with its issuer', () => {
    const r = verifySigstoreEnvelope(
      signModel(inst, { identity: WORKFLOW, issuer: ACTIONS, leaf: { uri: true } }).bundle,
      authority,
    );
    expect(r.ok && r.value.identity).toBe(WORKFLOW);
  });

  it('accepts the bundle from its bytes through the cache', () => {
    const r = verifySigstoreBundleBytes(JSON.stringify(sign().bundle), authority, {
      cache: new SigstoreVerdictCache(),
    });
    expect(r.ok && r.value.identity).toBe(ALICE);
  });
});

describe('the identity is compared exactly, never as a pattern', () => {
  it('@sigstore/verify alone would accept a prefix policy (the trap this module avoids)', () => {
    const s = sign();
    const verifier = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(inst.trustedRoot)));
    const entity = toSignedEntity(bundleFromJSON(s.bundle));
    expect(() => verifier.verify(entity, { subjectAlternativeName: 'alice@example.co' })).not.toThrow();
    expect(() => verifier.verify(entity, { subjectAlternativeName: 'alice.example.com' })).not.toThrow();
  });

  it.each([
    ['a prefix of the certificate identity', 'alice@example.co', ALICE],
    ['a superstring certificate identity', ALICE, 'alice@example.com.evil.test'],
    ['a longer local part', ALICE, 'malice@example.com'],
    ['"." as a regex metacharacter', 'alice@example.com', 'alice@exampleXcom'],
    ['a regex wildcard policy', '.*', ALICE],
    ['an anchored regex policy', `^${ALICE}$`, ALICE],
    ['a different case', 'Alice@example.com', ALICE],
  ])('refuses %s (policy %s, certificate %s)', (_, policy, certIdentity) => {
    const auth = authorityFor([{ subject: policy, issuer: GOOGLE }]);
    expect(codeOf(sign({ identity: certIdentity }).bundle, auth)).toBe('identity-mismatch');
  });

  it("accepts exactly when the policy subject and issuer equal the certificate's (property)", () => {
    const part = fc.stringMatching(/^[a-zA-Z0-9.+_*?()[\]^$|-]{1,12}$/);
    const variant = (s: string) =>
      fc.constantFrom(
        s,
        s.slice(0, -1),
        `${s}x`,
        `x${s}`,
        s.toUpperCase(),
        s.replace(/\./g, 'X'),
        `^${s}$`,
        s.replace(/[.*+?^$()[\]|]/g, '\\$&'),
      );
    const pair = fc
      .tuple(part, part)
      .map(([l, d]) => `${l}@${d}.test`)
      .chain((id) => fc.tuple(fc.constant(id), variant(id)));
    fc.assert(
      fc.property(pair, fc.boolean(), ([certId, policyId], sameIssuer) => {
        const auth = authorityFor([{ subject: policyId, issuer: sameIssuer ? GOOGLE : `${GOOGLE}x` }]);
        const code = codeOf(sign({ identity: certId }).bundle, auth);
        const expected = policyId !== certId ? 'identity-mismatch' : sameIssuer ? 'ok' : 'issuer-mismatch';
        expect(code).toBe(expected);
      }),
      { numRuns: 60 },
    );
  });

  it('refuses a SAN with a high-bit byte that the library decodes as the trusted identity', () => {
    const s = signModel(inst, { identity: 'alice@example.c\u00efm', issuer: GOOGLE });
    // The leaf's SAN bytes are UTF-8 "c\xc3\xafm"; Node's 'ascii' decoder clears the high bits.
    const signer = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(inst.trustedRoot))).verify(
      toSignedEntity(bundleFromJSON(s.bundle)),
    );
    expect(signer.identity?.subjectAlternativeName).not.toBe('alice@example.c\u00efm');
    expect(codeOf(s.bundle)).toBe('identity-mismatch');
  });

  it('refuses a certificate naming two identities', () => {
    expect(codeOf(sign({ leaf: { extraSans: ['mallory@example.com'] } }).bundle)).toBe('identity-mismatch');
  });
});

describe('the issuer is compared exactly', () => {
  it.each([
    ['a superstring issuer', `${GOOGLE}.evil.test`],
    ['a prefix issuer', 'https://accounts.example.co'],
    ['a trailing slash', `${GOOGLE}/`],
    ['the issuer of another trusted identity', ACTIONS],
  ])('refuses %s', (_, issuer) => {
    expect(codeOf(sign({ issuer }).bundle)).toBe('issuer-mismatch');
  });

  it('refuses a certificate whose v1 and v2 issuer extensions disagree', () => {
    expect(codeOf(sign({ leaf: { issuerV1: 'https://evil.test' } }).bundle)).toBe('issuer-mismatch');
  });

  it('accepts a certificate with only the v2 issuer extension', () => {
    expect(codeOf(sign({ leaf: { issuerV1: null } }).bundle)).toBe('ok');
  });
});

describe('tampering and untrusted material are refused, each with its code', () => {
  it('a tampered payload: signature-invalid', () => {
    const b = clone(sign().bundle) as any;
    const other = modelStatement('sample_model', { 'model.safetensors': Buffer.from('evil weights') });
    b.dsseEnvelope.payload = other.toString('base64');
    expect(codeOf(b)).toBe('signature-invalid');
  });

  it('a tampered signature: signature-invalid', () => {
    const b = clone(sign().bundle) as any;
    const sig = Buffer.from(b.dsseEnvelope.signatures[0].sig, 'base64');
    sig[sig.length - 1]! ^= 0x01;
    b.dsseEnvelope.signatures[0].sig = sig.toString('base64');
    expect(codeOf(b)).toBe('signature-invalid');
  });

  it('a tlog entry for another artifact: tlog-entry-mismatch', () => {
    const other = sign({ payload: modelStatement('other', { a: Buffer.from('a') }) });
    expect(codeOf(sign({ entryFor: other.envelope }).bundle)).toBe('tlog-entry-mismatch');
  });

  it("a tlog entry with this signature and payload but another signer's certificate: tlog-entry-mismatch", () => {
    const other = sign({ identity: 'mallory@example.com' });
    const r = verifySigstoreEnvelope(sign({ entryCert: other.cert }).bundle, authority);
    expect(r.ok ? 'ok' : [r.problem.code, r.problem.path]).toEqual([
      'tlog-entry-mismatch',
      'verificationMaterial.tlogEntries[0].canonicalizedBody',
    ]);
  });

  it('a Rekor v1 shard entry (global logIndex, shard index in the proof) is accepted', () => {
    expect(codeOf(sign({ entry: { globalIndex: 123_456_789 } }).bundle)).toBe('ok');
  });

  it('a certificate from a CA outside the trusted root: sigstore-untrusted-root', () => {
    const rogueRoot = makeCa('rogue', 'rogue-root');
    expect(codeOf(sign({ ca: makeCa('rogue', 'rogue-intermediate', rogueRoot) }).bundle)).toBe(
      'sigstore-untrusted-root',
    );
  });

  it('a certificate from a rogue CA named exactly like the trusted one, after trusted verifications: sigstore-untrusted-root', () => {
    expect(codeOf(sign().bundle)).toBe('ok'); // the trusted chain's checks are memoised by now
    const rogueRoot = makeCa('modelgate-test', 'modelgate-test-root');
    const rogue = makeCa('modelgate-test', 'modelgate-test-intermediate', rogueRoot);
    expect(rogue.name.equals(inst.intermediate.name)).toBe(true);
    expect(codeOf(sign({ ca: rogue }).bundle)).toBe('sigstore-untrusted-root');
    expect(codeOf(sign().bundle)).toBe('ok');
  });

  it('a certificate that had expired at the integrated time: sigstore-cert-expired', () => {
    const at = new Date('2026-11-30T12:00:00Z');
    const leaf = {
      notBefore: new Date(at.getTime() - 11 * 60_000),
      notAfter: new Date(at.getTime() - 60_000),
    };
    expect(codeOf(sign({ at, leaf }).bundle)).toBe('sigstore-cert-expired');
  });

  it('no tlog entry: tlog-missing', () => {
    expect(codeOf(sign({ tlog: false }).bundle)).toBe('tlog-missing');
  });

  it('a forged signed entry timestamp: tlog-invalid', () => {
    const b = clone(sign().bundle) as any;
    b.verificationMaterial.tlogEntries[0].inclusionPromise.signedEntryTimestamp = Buffer.from(
      ecKey().spki,
    ).toString('base64');
    expect(codeOf(b)).toBe('tlog-invalid');
  });

  it('an inclusion proof that does not reach the checkpoint root: tlog-invalid', () => {
    const b = clone(sign().bundle) as any;
    const hashes: string[] = b.verificationMaterial.tlogEntries[0].inclusionProof.hashes;
    hashes[0] = Buffer.alloc(32, 7).toString('base64');
    expect(codeOf(b)).toBe('tlog-invalid');
  });

  it("an inclusion proof whose treeSize or rootHash is not its checkpoint's: tlog-invalid", () => {
    const b = clone(sign().bundle) as any;
    b.verificationMaterial.tlogEntries[0].inclusionProof.treeSize = '8';
    expect(codeOf(b)).toBe('tlog-invalid');
    const c = clone(sign().bundle) as any;
    c.verificationMaterial.tlogEntries[0].inclusionProof.rootHash = Buffer.alloc(32).toString('base64');
    expect(codeOf(c)).toBe('tlog-invalid');
  });

  it('an entry signed by a log the root does not trust: tlog-invalid', () => {
    const s = sign();
    const rogue = makeLog(new URL((inst.trustedRoot as any).tlogs[0].baseUrl).host);
    const b = clone(s.bundle) as any;
    b.verificationMaterial.tlogEntries[0] = logEntry(rogue, dsseEntryBody(s.envelope, s.cert), {
      integratedTime: new Date(),
    });
    expect(codeOf(b)).toBe('tlog-invalid');
  });

  it('an entry with an inclusion proof but no signed entry timestamp and no TSA: sigstore-timestamp-invalid', () => {
    expect(codeOf(sign({ entry: { withPromise: false } }).bundle)).toBe('sigstore-timestamp-invalid');
  });

  it('a certificate without an SCT from a trusted CT log: sigstore-sct-invalid', () => {
    expect(codeOf(sign({ leaf: { ct: undefined } }).bundle)).toBe('sigstore-sct-invalid');
    expect(codeOf(sign({ leaf: { ct: makeLog('ctfe.rogue.test') } }).bundle)).toBe('sigstore-sct-invalid');
  });

  it('a certificate not for code signing: sigstore-cert-invalid', () => {
    expect(codeOf(sign({ leaf: { codeSigning: false } }).bundle)).toBe('sigstore-cert-invalid');
  });

  it('a signing time in the future of `now`: sigstore-timestamp-future', () => {
    const at = new Date('2026-11-30T12:00:00Z');
    expect(codeOf(sign({ at }).bundle, authority, new Date(at.getTime() - 3600_000))).toBe(
      'sigstore-timestamp-future',
    );
  });
});

describe("RFC 3161 timestamps from the trusted root's TSA", () => {
  const at = new Date('2026-11-30T12:00:00Z');

  it('a TSA timestamp gives the signing time when the tlog entry has only an inclusion proof', () => {
    const s = sign({ at, entry: { withPromise: false }, timestamp: { at: new Date(at.getTime() + 2000) } });
    const r = verifySigstoreEnvelope(s.bundle, authority);
    expect(r.ok && r.value.signedAt.toISOString()).toBe('2026-11-30T12:00:02.000Z');
  });

  it('with both, the earliest verified time is the signing time', () => {
    const s = sign({ at, timestamp: { at: new Date(at.getTime() - 3000) } });
    const r = verifySigstoreEnvelope(s.bundle, authority);
    expect(r.ok && r.value.signedAt.toISOString()).toBe('2026-11-30T11:59:57.000Z');
  });

  it('a timestamp over another signature: sigstore-timestamp-invalid', () => {
    expect(codeOf(sign({ at, timestamp: { at, over: Buffer.from('another signature') } }).bundle)).toBe(
      'sigstore-timestamp-invalid',
    );
  });

  it('a timestamp from a TSA outside the trusted root: sigstore-timestamp-invalid', () => {
    expect(codeOf(sign({ at, timestamp: { at, tsa: makeTsa('rogue') } }).bundle)).toBe(
      'sigstore-timestamp-invalid',
    );
  });

  it('a certificate valid at the integrated time but expired at the TSA time: sigstore-cert-expired', () => {
    const s = sign({ at, timestamp: { at: new Date(at.getTime() + 3600_000) } });
    expect(codeOf(s.bundle, authority, new Date(at.getTime() + 7200_000))).toBe('sigstore-cert-expired');
  });
});

describe('the bundle shape is checked before any cryptography', () => {
  const base = () => clone(sign().bundle) as any;
  it.each([
    ['not an object', () => [1], 'bundle-invalid', ''],
    [
      'another media type',
      () => ({ ...base(), mediaType: 'application/vnd.dev.sigstore.bundle.v0.2+json' }),
      'bundle-media-type',
      'mediaType',
    ],
    [
      'a message signature',
      () => {
        const b = base();
        delete b.dsseEnvelope;
        b.messageSignature = { messageDigest: { algorithm: 'SHA2_256', digest: 'AA==' }, signature: 'AA==' };
        return b;
      },
      'sigstore-not-dsse',
      'dsseEnvelope',
    ],
    [
      'a public-key bundle (the key method)',
      () => {
        const b = base();
        b.verificationMaterial = { publicKey: { hint: 'k' }, tlogEntries: [] };
        return b;
      },
      'sigstore-not-certificate',
      'verificationMaterial.certificate',
    ],
    [
      'a DSSE envelope and a message signature',
      () => ({
        ...base(),
        messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: 'AA==' }, signature: 'AA==' },
      }),
      'sigstore-not-dsse',
      'dsseEnvelope',
    ],
    [
      'a certificate and a public key',
      () => {
        const b = base();
        b.verificationMaterial.publicKey = { hint: 'k' };
        return b;
      },
      'bundle-invalid',
      'verificationMaterial',
    ],
    [
      'too many tlog entries',
      () => {
        const b = base();
        b.verificationMaterial.tlogEntries = Array(5).fill(b.verificationMaterial.tlogEntries[0]);
        return b;
      },
      'bundle-invalid',
      'verificationMaterial.tlogEntries',
    ],
    [
      'an inclusion proof with 65 hashes',
      () => {
        const b = base();
        b.verificationMaterial.tlogEntries[0].inclusionProof.hashes = Array(65).fill('AA==');
        return b;
      },
      'tlog-invalid',
      'verificationMaterial.tlogEntries[0].inclusionProof.hashes',
    ],
    [
      'a tlog entry without an inclusion proof (v0.3 requires one)',
      () => {
        const b = base();
        delete b.verificationMaterial.tlogEntries[0].inclusionProof;
        return b;
      },
      'bundle-invalid',
      'verificationMaterial.tlogEntries[0].inclusionProof',
    ],
    [
      'a certificate that is not DER',
      () => {
        const b = base();
        b.verificationMaterial.certificate.rawBytes = Buffer.from('not a certificate').toString('base64');
        return b;
      },
      'sigstore-cert-invalid',
      'verificationMaterial.certificate.rawBytes',
    ],
  ])('%s', (_, make, code, path) => {
    const r = verifySigstoreEnvelope(make(), authority);
    expect(r.ok ? 'ok' : [r.problem.code, r.problem.path]).toEqual([code, path]);
  });

  it('keeps bundle text from library errors to one bounded line', () => {
    const b = clone(sign().bundle) as any;
    b.verificationMaterial.tlogEntries[0].kindVersion.kind = `dsse\n${'x'.repeat(100_000)}`;
    const r = verifySigstoreEnvelope(b, authority, { cache: false });
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect([r.problem.message.length < 600, /[\n\r]/.test(r.problem.message)]).toEqual([true, false]);
  });

  it('never throws and never accepts on arbitrary mutations of a valid bundle', () => {
    const valid = sign().bundle;
    const leafPaths: string[][] = [];
    const walk = (v: unknown, p: string[]): void => {
      if (v && typeof v === 'object') for (const [k, c] of Object.entries(v)) walk(c, [...p, k]);
      else leafPaths.push(p);
    };
    walk(valid, []);
    fc.assert(
      fc.property(fc.constantFrom(...leafPaths), fc.anything(), (path, value) => {
        const b = clone(valid) as any;
        let cur = b;
        for (const k of path.slice(0, -1)) cur = cur[k];
        const last = path[path.length - 1]!;
        if (JSON.stringify(cur[last]) === JSON.stringify(value)) return;
        cur[last] = value;
        // Only fields outside the signed/verified material may change without a refusal, on the
        // raw value and on its JSON (what the cached path verifies).
        for (const cache of [false, new SigstoreVerdictCache(1)] as const) {
          const r = verifySigstoreEnvelope(b, authority, { cache });
          if (r.ok) expect(['keyid']).toContain(last);
          else expect(r.problem.message.length).toBeLessThan(1000);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('loadSigstoreAuthority validates once', () => {
  it.each([
    [
      'an empty name',
      () => ({ name: '', trustedRoot: inst.trustedRoot, identities: [{ subject: ALICE, issuer: GOOGLE }] }),
      'name',
    ],
    ['no identities', () => ({ name: 'a', trustedRoot: inst.trustedRoot, identities: [] }), 'identities'],
    [
      'an identity with a newline',
      () => ({
        name: 'a',
        trustedRoot: inst.trustedRoot,
        identities: [{ subject: `${ALICE}\n`, issuer: GOOGLE }],
      }),
      'identities[0].subject',
    ],
    [
      'a non-ASCII subject (a SAN never is)',
      () => ({
        name: 'a',
        trustedRoot: inst.trustedRoot,
        identities: [{ subject: 'alice@exämple.com', issuer: GOOGLE }],
      }),
      'identities[0].subject',
    ],
    [
      'a root with another media type',
      () => ({
        name: 'a',
        trustedRoot: { ...inst.trustedRoot, mediaType: 'x' },
        identities: [{ subject: ALICE, issuer: GOOGLE }],
      }),
      'trustedRoot.mediaType',
    ],
    [
      'a root without CAs',
      () => ({
        name: 'a',
        trustedRoot: { ...inst.trustedRoot, certificateAuthorities: [] },
        identities: [{ subject: ALICE, issuer: GOOGLE }],
      }),
      'trustedRoot',
    ],
    [
      'a root with a broken CA certificate',
      () => ({
        name: 'a',
        trustedRoot: {
          ...inst.trustedRoot,
          certificateAuthorities: [{ certChain: { certificates: [{ rawBytes: 'AAAA' }] } }],
        },
        identities: [{ subject: ALICE, issuer: GOOGLE }],
      }),
      'trustedRoot',
    ],
  ])('refuses %s', (_, spec, field) => {
    const r = loadSigstoreAuthority(spec(), 'sigstoreAuthorities[0]');
    expect(r.ok ? 'ok' : r.problem.path).toBe(`sigstoreAuthorities[0].${field}`);
  });

  it('a plain (not loaded) authority is compiled on first use and verifies the same', () => {
    const plain: SigstoreAuthority = {
      name: 'plain',
      trustedRoot: inst.trustedRoot,
      identities: [{ subject: ALICE, issuer: GOOGLE }],
    };
    expect(codeOf(sign().bundle, plain)).toBe('ok');
    expect(codeOf(sign().bundle, { ...plain, trustedRoot: {} })).toBe('sigstore-trusted-root-invalid');
  });
});

describe('the verdict cache', () => {
  it('hits on the same bytes and authority, hands out a private payload copy', () => {
    const cache = new SigstoreVerdictCache(4);
    const bytes = JSON.stringify(sign().bundle);
    const first = verifySigstoreBundleBytes(bytes, authority, { cache });
    if (first.ok) first.value.payload.fill(0);
    const second = verifySigstoreBundleBytes(bytes, authority, { cache });
    expect([cache.misses, cache.hits]).toEqual([1, 1]);
    expect(second.ok && JSON.parse(second.value.payload.toString()).predicateType).toBe(
      'https://model_signing/signature/v1.0',
    );
  });

  it('never reuses a verdict for an authority of the same name with other identities', () => {
    const cache = new SigstoreVerdictCache(4);
    const bytes = JSON.stringify(sign().bundle);
    expect(
      verifySigstoreBundleBytes(bytes, authorityFor([{ subject: ALICE, issuer: GOOGLE }], 'same'), { cache })
        .ok,
    ).toBe(true);
    const narrowed = verifySigstoreBundleBytes(
      bytes,
      authorityFor([{ subject: 'bob@example.com', issuer: GOOGLE }], 'same'),
      { cache },
    );
    expect(narrowed.ok ? 'ok' : narrowed.problem.code).toBe('identity-mismatch');
  });

  it('evicts the least recently used entry beyond its capacity', () => {
    const cache = new SigstoreVerdictCache(2);
    const [a, b, c] = [sign(), sign(), sign()].map((s) => JSON.stringify(s.bundle));
    for (const bytes of [a, b, a, c]) verifySigstoreBundleBytes(bytes!, authority, { cache });
    expect(cache.size).toBe(2);
    verifySigstoreBundleBytes(a!, authority, { cache }); // a was used after b: still cached
    verifySigstoreBundleBytes(b!, authority, { cache }); // b was evicted
    expect([cache.hits, cache.misses]).toEqual([2, 4]);
  });

  it('caches the parsed path by its JSON: a hit for an equal value, a miss for a changed one', () => {
    const cache = new SigstoreVerdictCache(4);
    const b = sign().bundle;
    expect(verifySigstoreEnvelope(b, authority, { cache }).ok).toBe(true);
    expect(verifySigstoreEnvelope(clone(b), authority, { cache }).ok).toBe(true);
    expect([cache.misses, cache.hits]).toEqual([1, 1]);
    const changed = clone(b) as any;
    changed.dsseEnvelope.payload = modelStatement('other', { a: Buffer.from('a') }).toString('base64');
    const r = verifySigstoreEnvelope(changed, authority, { cache });
    expect([r.ok ? 'ok' : r.problem.code, cache.misses]).toEqual(['signature-invalid', 2]);
  });

  it('verifies what the cache key names: a value that serialises like another gets its own verdict', () => {
    const cache = new SigstoreVerdictCache(4);
    const b = clone(sign().bundle) as any;
    b.dsseEnvelope.signatures[0].keyid = null;
    const withNaN = clone(b);
    withNaN.dsseEnvelope.signatures[0].keyid = NaN; // JSON.stringify writes null for both
    expect(codeOf(withNaN)).toBe(codeOf(b));
    const first = verifySigstoreEnvelope(b, authority, { cache });
    const second = verifySigstoreEnvelope(withNaN, authority, { cache });
    expect([first.ok, second.ok, cache.hits]).toEqual([first.ok, first.ok, 1]);
  });

  it('evicts by bytes too: payloads held never exceed maxBytes', () => {
    const bundles = [sign(), sign(), sign()];
    const one = bundles[0]!.payload.length + 256;
    const cache = new SigstoreVerdictCache(100, 2 * one + 10);
    for (const s of bundles) verifySigstoreBundleBytes(JSON.stringify(s.bundle), authority, { cache });
    expect([cache.size, cache.heldBytes <= 2 * one + 10]).toEqual([2, true]);
    const tiny = new SigstoreVerdictCache(100, 10);
    verifySigstoreBundleBytes(JSON.stringify(bundles[0]!.bundle), authority, { cache: tiny });
    expect([tiny.size, tiny.heldBytes]).toEqual([0, 0]);
  });

  it('refuses duplicate keys and oversized bundles before hashing into the cache', () => {
    const text = JSON.stringify(sign().bundle).replace('{', '{"mediaType":"x",');
    const r = verifySigstoreBundleBytes(text, authority, { cache: false });
    expect(r.ok ? 'ok' : r.problem.code).toBe('invalid-json');
    const big = verifySigstoreBundleBytes(Buffer.alloc(1024 * 1024 + 1, 0x20), authority, { cache: false });
    expect(big.ok ? 'ok' : big.problem.code).toBe('too-large');
  });

  it('does not cache a refusal that only the clock decides', () => {
    const cache = new SigstoreVerdictCache(4);
    const at = new Date('2026-11-30T12:00:00Z');
    const bytes = JSON.stringify(sign({ at }).bundle);
    const early = verifySigstoreBundleBytes(bytes, authority, {
      cache,
      now: new Date(at.getTime() - 3600_000),
    });
    expect(early.ok ? 'ok' : early.problem.code).toBe('sigstore-timestamp-future');
    expect(verifySigstoreBundleBytes(bytes, authority, { cache, now: at }).ok).toBe(true);
  });
});

describe('real model_signing bundles from the public-good instance (test/fixtures/oms-sigstore)', () => {
  const IBM = { subject: 'stefanb@us.ibm.com', issuer: 'https://sigstore.verify.ibm.com/oauth2' };
  const vector = (v: string) =>
    readFileSync(new URL(`../../test/fixtures/oms-sigstore/model_signing-${v}.sig.json`, import.meta.url));
  const publicGood = (identities: { subject: string; issuer: string }[]) => {
    const root = publicGoodTrustedRoot();
    const a = loadSigstoreAuthority({
      name: 'public-good',
      trustedRoot: root.ok ? root.value : {},
      identities,
    });
    if (!a.ok) throw new Error(a.problem.message);
    return a.value;
  };

  it.each([
    ['v1.0.1', '2025-10-07T15:33:48.000Z'],
    ['v1.1.0', '2025-10-10T02:12:20.000Z'],
  ])('%s verifies offline with the exact identity and issuer, signed at %s', (v, at) => {
    const r = verifySigstoreBundleBytes(vector(v), publicGood([IBM]), { cache: false });
    if (!r.ok) throw new Error(`${r.problem.code}: ${r.problem.message}`);
    expect([r.value.identity, r.value.issuer, r.value.signedAt.toISOString()]).toEqual([
      IBM.subject,
      IBM.issuer,
      at,
    ]);
    expect(JSON.parse(r.value.payload.toString('utf8')).predicateType).toBe(
      'https://model_signing/signature/v1.0',
    );
  });

  it.each([
    ['a prefix identity', { ...IBM, subject: 'stefanb@us.ibm.co' }, 'identity-mismatch'],
    ['a regex identity', { ...IBM, subject: 'stefanb@us.ibm.com.*' }, 'identity-mismatch'],
    ['a prefix issuer', { ...IBM, issuer: 'https://sigstore.verify.ibm.com/oauth' }, 'issuer-mismatch'],
  ])('is refused for %s', (_, identity, code) => {
    const r = verifySigstoreBundleBytes(vector('v1.1.0'), publicGood([identity]), { cache: false });
    expect(r.ok ? 'ok' : r.problem.code).toBe(code);
  });

  it.each([
    ['v1.0.1', 'sigstore-untrusted-root'],
    ['v1.1.0', 'sigstore-timestamp-invalid'], // its RFC 3161 timestamp is from the public-good TSA
  ])('%s is refused by the private test instance (another trusted root): %s', (v, code) => {
    const r = verifySigstoreBundleBytes(vector(v), authorityFor([IBM]), { cache: false });
    expect(r.ok ? 'ok' : r.problem.code).toBe(code);
  });
});

describe("an operator's trusted_root.json file", () => {
  it('is read strictly and verifies like the parsed root', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mg-sigstore-'));
    try {
      const file = join(dir, 'trusted_root.json');
      writeFileSync(file, JSON.stringify(inst.trustedRoot, null, 2));
      const root = readTrustedRootFile(file);
      const a = loadSigstoreAuthority({
        name: 'file',
        trustedRoot: root.ok ? root.value : {},
        identities: [{ subject: ALICE, issuer: GOOGLE }],
      });
      expect(a.ok && codeOf(sign().bundle, a.value)).toBe('ok');
      writeFileSync(file, '{"mediaType":"a","mediaType":"b"}');
      const dup = readTrustedRootFile(file);
      expect(dup.ok ? 'ok' : dup.problem.code).toBe('invalid-json');
      const missing = readTrustedRootFile(join(dir, 'nope.json'));
      expect(missing.ok ? 'ok' : missing.problem.code).toBe('sigstore-trusted-root-invalid');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the public-good trusted root shipped with @sigstore/tuf', () => {
  it('loads offline and holds Fulcio CAs, Rekor keys and CT logs', () => {
    const root = publicGoodTrustedRoot();
    if (!root.ok) throw new Error(root.problem.message);
    const json = root.value as any;
    expect(json.mediaType).toMatch(/^application\/vnd\.dev\.sigstore\.trustedroot\+json/);
    expect(json.certificateAuthorities.map((c: any) => c.uri)).toContain('https://fulcio.sigstore.dev');
    expect(json.tlogs.map((t: any) => t.baseUrl)).toContain('https://rekor.sigstore.dev');
    const loaded = loadSigstoreAuthority({
      name: 'public-good',
      trustedRoot: json,
      identities: [{ subject: ALICE, issuer: GOOGLE }],
    });
    expect(
      loaded.ok && [
        loaded.value.certificateAuthorities >= 1,
        loaded.value.tlogs >= 1,
        loaded.value.ctlogs >= 1,
      ],
    ).toEqual([true, true, true]);
  });

  it('does not trust the private instance', () => {
    const root = publicGoodTrustedRoot();
    const auth = loadSigstoreAuthority({
      name: 'pg',
      trustedRoot: root.ok ? root.value : {},
      identities: [{ subject: ALICE, issuer: GOOGLE }],
    });
    expect(auth.ok && codeOf(sign().bundle, auth.value)).toBe('sigstore-untrusted-root');
  });
});
