/**
 * The key and certificate methods' verdict cache (src/oms/verdicts.ts), through the decision's
 * verifyWorkloadModels: a hit skips parsing and verifying, and never applies to other bytes, a
 * changed authority set, or a `now` at which a certificate is no longer valid.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { makePki, type Pki } from '../../test/harness/oms.js';
import { verifyWorkloadModels } from '../decision/models.js';
import { MemoryKeyring } from '../keys/keyring.js';
import type { Workload } from '../workload/types.js';
import { compileOmsAuthority, type OmsAuthorityDraft } from './authorities.js';
import { dssePae } from './dsse.js';
import type { OmsAuthority } from './types.js';
import { modelWeight, OmsVerdictCache } from './verdicts.js';
import { SIGSTORE_VERIFIER } from './methods.js';
import { defaultSigstoreCache, loadSigstoreAuthority } from './sigstore.js';
import * as fx from '../../test/fixtures/sigstore.js';

const TYPE = 'application/vnd.in-toto+json';
const DAY = 24 * 3600 * 1000;

function statement(files: number, salt = ''): Buffer {
  const resources = Array.from({ length: files }, (_, i) => ({
    name: `shard-${i}.bin`,
    algorithm: 'sha256',
    digest: createHash('sha256').update(`${salt}${i}`).digest('hex'),
  }));
  return Buffer.from(JSON.stringify({
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'model', digest: { sha256: 'a'.repeat(64) } }],
    predicateType: 'https://model_signing/signature/v1.0',
    predicate: { serialization: { method: 'files', hash_type: 'sha256', ignore_paths: [], allow_symlinks: false }, resources },
  }));
}

function bundle(payload: Buffer, key: KeyObject, chain?: string[]): string {
  const sig = sign('sha256', dssePae(TYPE, payload), key);
  const material = chain
    ? { x509CertificateChain: { certificates: chain.map((pem) => ({ rawBytes: new X509Certificate(pem).raw.toString('base64') })) } }
    : { publicKey: { hint: createHash('sha256').update(pem(createPublicKey(key))).digest('hex') }, tlogEntries: [] };
  return JSON.stringify({
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: material,
    dsseEnvelope: { payload: payload.toString('base64'), payloadType: TYPE, signatures: [{ sig: sig.toString('base64'), keyid: '' }] },
  });
}

function authority(d: Partial<OmsAuthorityDraft> & { name: string; method: string }): OmsAuthority {
  const c = compileOmsAuthority({ publicKeys: [], roots: [], identities: [], ...d });
  if (!c.ok) throw new Error(c.message);
  return c.value;
}

const pem = (k: KeyObject): string => k.export({ type: 'spki', format: 'pem' }).toString();
const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const keyAuthority = authority({ name: 'ml-ci', method: 'key', publicKeys: [pem(signer.publicKey)] });

const PATH = 'metadata.annotations[modelgate.dev/manifest]';
const workload = (text: string): Workload =>
  ({ kind: 'Deployment', namespace: 'ml', name: 'm', refs: [{ source: 'annotation', path: PATH, text }] }) as unknown as Workload;

function verify(text: string, authorities: readonly OmsAuthority[], cache: OmsVerdictCache, now = new Date()) {
  return verifyWorkloadModels(workload(text), [], new MemoryKeyring([]), { authorities, now, verdicts: cache, sigstore: SIGSTORE_VERIFIER });
}

describe('OMS verdict cache', () => {
  const text = bundle(statement(1000), signer.privateKey);

  it('a second admission of the same bundle is a hit with the same verified model', () => {
    const cache = new OmsVerdictCache();
    const first = verify(text, [keyAuthority], cache);
    const second = verify(text, [keyAuthority], cache);
    expect(first.problems).toEqual([]);
    expect(second.problems).toEqual([]);
    expect(cache.hits).toBe(1);
    expect(second.models).toEqual(first.models);
    expect(second.models[0]?.files).toHaveLength(1000);
    expect(second.models[0]?.origin).toBe('annotation modelgate.dev/manifest');
  });

  it('hands out frozen models: no admission can change what the next one reads', () => {
    const cache = new OmsVerdictCache();
    const first = verify(text, [keyAuthority], cache).models[0]!;
    expect(() => first.files.pop()).toThrow(TypeError);
    const hit = verify(text, [keyAuthority], cache).models[0]!;
    expect(() => hit.files.pop()).toThrow(TypeError);
    expect(() => hit.oms!.resources.push(hit.oms!.resources[0]!)).toThrow(TypeError);
    expect(() => Object.assign(hit.files[0]!, { sha256: '0'.repeat(64) })).toThrow(TypeError);
    hit.keyId = 'changed'; // the top level is the admission's own copy
    const again = verify(text, [keyAuthority], cache).models[0]!;
    expect(again.files).toHaveLength(1000);
    expect(again.keyId).toBe('ml-ci');
    expect(cache.hits).toBe(2);
  });

  it('misses when one byte changes: a space (still valid) and a flipped signature byte (refused)', () => {
    const cache = new OmsVerdictCache();
    verify(text, [keyAuthority], cache);
    const spaced = verify(`${text} `, [keyAuthority], cache);
    expect(spaced.problems).toEqual([]);
    expect(cache.hits).toBe(0);
    const b = JSON.parse(text) as { dsseEnvelope: { signatures: { sig: string }[] } };
    const sig = Buffer.from(b.dsseEnvelope.signatures[0]!.sig, 'base64');
    sig[sig.length - 1]! ^= 1;
    b.dsseEnvelope.signatures[0]!.sig = sig.toString('base64');
    const tampered = JSON.stringify(b);
    expect(tampered.length).toBe(text.length);
    const refused = verify(tampered, [keyAuthority], cache);
    expect(cache.hits).toBe(0);
    expect(refused.models).toEqual([]);
    expect(refused.problems.map((p) => p.code)).toEqual(['bad-signature']);
  });

  it("misses when the policy's authorities change: another key, a renamed authority, one more authority", () => {
    const cache = new OmsVerdictCache();
    verify(text, [keyAuthority], cache);
    const swapped = verify(text, [authority({ name: 'ml-ci', method: 'key', publicKeys: [pem(other.publicKey)] })], cache);
    expect(swapped.problems.map((p) => p.code)).toEqual(['bad-signature']);
    const renamed = verify(text, [authority({ name: 'ml-ci-2', method: 'key', publicKeys: [pem(signer.publicKey)] })], cache);
    expect(renamed.models[0]?.keyId).toBe('ml-ci-2');
    const more = verify(text, [authority({ name: 'first', method: 'key', publicKeys: [pem(signer.publicKey)] }), keyAuthority], cache);
    expect(more.models[0]?.keyId).toBe('first');
    expect(cache.hits).toBe(0);
    // The same material reloaded (new objects, as after a policy reload) is the same set: a hit.
    verify(text, [authority({ name: 'ml-ci', method: 'key', publicKeys: [pem(signer.publicKey)] })], cache);
    expect(cache.hits).toBe(1);
  });

  it('keeps only successes of a text holding one bundle', () => {
    const cache = new OmsVerdictCache();
    const refused = bundle(statement(3), other.privateKey);
    verify(refused, [keyAuthority], cache);
    const two = verify(`[${text},${bundle(statement(3, 'b'), signer.privateKey)}]`, [keyAuthority], cache);
    expect(two.models).toHaveLength(2);
    expect(cache.size).toBe(0);
  });

  it('is bounded by entries and by bytes, least recently used first', () => {
    const small = Array.from({ length: 3 }, (_, i) => bundle(statement(3, `s${i}`), signer.privateKey));
    const byCount = new OmsVerdictCache(2);
    for (const t of small) verify(t, [keyAuthority], byCount);
    expect(byCount.size).toBe(2);
    verify(small[0]!, [keyAuthority], byCount);
    expect(byCount.hits).toBe(0);
    const byBytes = new OmsVerdictCache(100, modelWeight(text) + 10);
    verify(text, [keyAuthority], byBytes);
    verify(small[1]!, [keyAuthority], byBytes);
    expect(byBytes.size).toBe(1);
    expect(byBytes.heldBytes).toBeLessThanOrEqual(byBytes.maxBytes);
    verify(text, [keyAuthority], byBytes);
    expect(byBytes.hits).toBe(0);
  });

  describe('certificate method', () => {
    let pki: Pki;
    let certText: string;
    let certAuthority: OmsAuthority;
    beforeAll(() => {
      pki = makePki();
      const leaf = pki.leaf({ days: 1 });
      certText = bundle(statement(10), createPrivateKey(readFileSync(leaf.key)), [leaf.pem, pki.intermediatePem]);
      certAuthority = authority({ name: 'ci-ca', method: 'certificate', roots: [pki.rootPem], identities: ['ci@example.com'] });
    });

    it('a hit while every certificate is valid; expiry re-checked on a hit: refused, and the entry dropped', () => {
      const cache = new OmsVerdictCache();
      const now = new Date();
      expect(verify(certText, [certAuthority], cache, now).problems).toEqual([]);
      expect(verify(certText, [certAuthority], cache, new Date(now.getTime() + DAY / 2)).problems).toEqual([]);
      expect(cache.hits).toBe(1);
      const later = verify(certText, [certAuthority], cache, new Date(now.getTime() + 2 * DAY));
      expect(later.models).toEqual([]);
      expect(later.problems.map((p) => p.code)).toEqual(['certificate-expired']);
      expect(cache.hits).toBe(1);
      expect(cache.size).toBe(0);
    });

    it('a verdict from before the leaf was valid is not kept, nor used', () => {
      const cache = new OmsVerdictCache();
      const before = verify(certText, [certAuthority], cache, new Date(Date.now() - 2 * DAY));
      expect(before.problems.map((p) => p.code)).toEqual(['certificate-expired']);
      expect(cache.size).toBe(0);
    });

    it("misses when the authority's identities or roots change", () => {
      const cache = new OmsVerdictCache();
      verify(certText, [certAuthority], cache);
      const wrongId = authority({ name: 'ci-ca', method: 'certificate', roots: [pki.rootPem], identities: ['other@example.com'] });
      expect(verify(certText, [wrongId], cache).problems.map((p) => p.code)).toEqual(['identity-mismatch']);
      const viaInt = authority({ name: 'ci-ca', method: 'certificate', roots: [pki.intermediatePem], identities: ['ci@example.com'] });
      expect(verify(certText, [viaInt], cache).problems).toEqual([]);
      expect(cache.hits).toBe(0);
    });
  });

  describe('sigstore method', () => {
    const inst = fx.makeInstance('verdicts');
    const who = { subject: 'ci@example.com', issuer: 'https://accounts.example.com' };
    const sigstoreAuthority = (subject = who.subject): OmsAuthority => {
      const loaded = loadSigstoreAuthority({ name: 'sig', trustedRoot: inst.trustedRoot, identities: [{ subject, issuer: who.issuer }] });
      if (!loaded.ok) throw new Error(loaded.problem.message);
      return { name: 'sig', method: 'sigstore', sigstore: loaded.value };
    };
    const signedAt = new Date();
    const sigText = JSON.stringify(fx.signModel(inst, { identity: who.subject, issuer: who.issuer, at: signedAt, payload: statement(20) }).bundle);

    it('a hit from the time it was verified on; before it, verified afresh (the signing time is then in the future)', () => {
      const cache = new OmsVerdictCache();
      const authorities = [sigstoreAuthority()];
      expect(verify(sigText, authorities, cache, signedAt).problems).toEqual([]);
      expect(verify(sigText, authorities, cache, new Date(signedAt.getTime() + 30 * DAY)).problems).toEqual([]);
      expect(cache.hits).toBe(1);
      defaultSigstoreCache.clear(); // its own cache keeps successes for any time
      const earlier = verify(sigText, authorities, cache, new Date(signedAt.getTime() - 3600_000));
      expect(earlier.problems.map((p) => p.code)).toEqual(['sigstore-timestamp-future']);
      expect(cache.hits).toBe(1);
    });

    it('a verdict reached with the sigstore verifier never answers a caller without one', () => {
      const cache = new OmsVerdictCache();
      const authorities = [sigstoreAuthority()];
      verify(sigText, authorities, cache, signedAt);
      const without = verifyWorkloadModels(workload(sigText), [], new MemoryKeyring([]), { authorities, now: signedAt, verdicts: cache });
      expect(without.problems.map((p) => p.code)).toEqual(['unsupported-method']);
      expect(cache.hits).toBe(0);
    });

    it("misses when the authority's signers change", () => {
      const cache = new OmsVerdictCache();
      verify(sigText, [sigstoreAuthority()], cache, signedAt);
      const other = verify(sigText, [sigstoreAuthority('someone@example.com')], cache, signedAt);
      expect(other.models).toEqual([]);
      expect(cache.hits).toBe(0);
    });
  });
});
