/**
 * The sigstore method wired end to end in the decision: a policy `omsAuthorities` entry with
 * `method: sigstore` (a private instance's trusted_root.json inline, or the shipped public-good
 * root), signers compared exactly, a model_signing-shaped bundle in the workload's annotation.
 */
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { admissionRequest, deployment } from '../fixtures/objects.js';
import { makeInstance, modelStatement, signModel, type SigstoreInstance } from '../fixtures/sigstore.js';
import { decideAdmission } from '../../src/decision/decide.js';
import type { Decision } from '../../src/decision/types.js';
import { planAdmission } from '../../src/decision/plan.js';
import { MemoryKeyring } from '../../src/keys/keyring.js';
import { parsePolicy } from '../../src/policy/load.js';
import type { Policy } from '../../src/policy/types.js';

const SUBJECT = 'ml-release@example.com';
const ISSUER = 'https://accounts.example.com';
const FILES = { 'config.json': Buffer.from('{}'), 'model.safetensors': Buffer.from('weights') };
const HEAD = 'apiVersion: modelgate.dev/v1\nkind: Policy\n';

const indent = (text: string, n: number): string =>
  text.split('\n').map((l) => `${' '.repeat(n)}${l}`).join('\n');

function authorityYaml(inst: SigstoreInstance | 'public-good', signers = [{ subject: SUBJECT, issuer: ISSUER }]): string {
  const root =
    inst === 'public-good'
      ? '    trustedRoot: public-good\n'
      : `    trustedRoot: |\n${indent(JSON.stringify(inst.trustedRoot, null, 2), 6)}\n`;
  const list = signers.map((s) => `      - subject: ${JSON.stringify(s.subject)}\n        issuer: ${JSON.stringify(s.issuer)}`).join('\n');
  return `omsAuthorities:\n  - name: ml-sigstore\n    method: sigstore\n${root}    signers:\n${list}\n`;
}

function policyOf(yaml: string): Policy {
  const p = parsePolicy(yaml, 'test');
  if (!p.ok) throw new Error(JSON.stringify(p.errors));
  return p.policy;
}

/** A Deployment carrying the bundle in its annotation, with the OMS verify step pinned to its payload. */
function workload(bundle: Record<string, unknown>, payload: Buffer): Record<string, any> {
  const d = deployment(JSON.stringify(bundle));
  const spec = d.spec.template.spec;
  const pin = createHash('sha256').update(payload).digest('hex');
  spec.initContainers[0].args = ['verify', '/models', '--oms-bundle', '/bundle/model.sig', '--oms-payload-sha256', pin];
  spec.initContainers[0].volumeMounts.push({ name: 'bundle', mountPath: '/bundle', readOnly: true });
  spec.volumes.push({ name: 'bundle', configMap: { name: 'fraud-model' } });
  return d;
}

function decide(obj: Record<string, any>, policy: Policy, now = new Date()): Decision {
  return decideAdmission(planAdmission(admissionRequest(obj), policy), { resolved: [], keyring: new MemoryKeyring([]), now });
}

describe('OMS sigstore method in the admission decision', () => {
  let inst: SigstoreInstance;
  let signed: ReturnType<typeof signModel>;

  beforeAll(() => {
    inst = makeInstance('modelgate-policy');
    signed = signModel(inst, { identity: SUBJECT, issuer: ISSUER, payload: modelStatement('fraud-model', FILES) });
  });

  it('admits a bundle from the private instance the authority trusts, keyId = the authority, signing time from the log', () => {
    const d = decide(workload(signed.bundle, signed.payload), policyOf(HEAD + authorityYaml(inst)));
    expect(d.response.allowed, d.response.status?.message).toBe(true);
    expect(d.record.models).toEqual([expect.objectContaining({ keyId: 'ml-sigstore', format: 'oms' })]);
  });

  it.each([
    ['a subject that is a prefix', { subject: 'ml-release@example.co', issuer: ISSUER }, 'identity-mismatch'],
    ['a subject as a pattern', { subject: '.*', issuer: ISSUER }, 'identity-mismatch'],
    ['the subject in another case', { subject: SUBJECT.toUpperCase(), issuer: ISSUER }, 'identity-mismatch'],
    ['another issuer', { subject: SUBJECT, issuer: 'https://accounts.example.co' }, 'issuer-mismatch'],
  ])('refuses when the policy names %s', (_, signer, code) => {
    const d = decide(workload(signed.bundle, signed.payload), policyOf(HEAD + authorityYaml(inst, [signer])));
    expect(d.response.allowed).toBe(false);
    expect(d.record.reasons.map((r) => r.code)).toContain(code);
  });

  it('refuses the private instance bundle against the shipped public-good root (untrusted CA)', () => {
    const d = decide(workload(signed.bundle, signed.payload), policyOf(HEAD + authorityYaml('public-good')));
    expect(d.response.allowed).toBe(false);
    expect(d.record.reasons.map((r) => r.code).join(',')).toMatch(/sigstore-untrusted-root|tlog-invalid|sigstore-sct-invalid/);
  });

  it('refuses a bundle from another instance with the same names', () => {
    const other = makeInstance('modelgate-policy');
    const forged = signModel(other, { identity: SUBJECT, issuer: ISSUER, payload: modelStatement('fraud-model', FILES) });
    const d = decide(workload(forged.bundle, forged.payload), policyOf(HEAD + authorityYaml(inst)));
    expect(d.response.allowed).toBe(false);
  });

  it('refuses a tampered payload (the DSSE signature no longer matches)', () => {
    const payload = modelStatement('fraud-model', { ...FILES, 'model.safetensors': Buffer.from('evil') });
    const bundle = structuredClone(signed.bundle) as { dsseEnvelope: { payload: string } };
    bundle.dsseEnvelope.payload = payload.toString('base64');
    const d = decide(workload(bundle, payload), policyOf(HEAD + authorityYaml(inst)));
    expect(d.response.allowed).toBe(false);
  });

  it('lets maxAge judge a sigstore bundle by its verified signing time', () => {
    const old = signModel(inst, {
      identity: SUBJECT,
      issuer: ISSUER,
      at: new Date(Date.now() - 40 * 86_400_000),
      payload: modelStatement('fraud-model', FILES),
    });
    const policy = policyOf(`${HEAD}${authorityYaml(inst)}rules:\n  - name: default\n    maxAge: 30d\n`);
    expect(decide(workload(signed.bundle, signed.payload), policy).response.allowed).toBe(true);
    const d = decide(workload(old.bundle, old.payload), policy);
    expect(d.response.allowed).toBe(false);
    expect(d.record.reasons.map((r) => r.code)).toContain('manifest-too-old');
  });

  it('loads the shipped public-good root when trustedRoot is left out', () => {
    const yaml = `${HEAD}omsAuthorities:\n  - name: gh\n    method: sigstore\n    signers:\n      - {subject: "https://github.com/acme/models/.github/workflows/sign.yml@refs/heads/main", issuer: "https://token.actions.githubusercontent.com"}\n`;
    const p = parsePolicy(yaml, 'test');
    expect(p.ok, p.ok ? '' : JSON.stringify(p.errors)).toBe(true);
  });

  it.each([
    ['no signers', '  - name: s\n    method: sigstore\n', 'omsAuthorities[0].signers'],
    ['a signer without issuer', '  - name: s\n    method: sigstore\n    signers: [{subject: a@b.c}]\n', 'omsAuthorities[0].signers[0].issuer'],
    ['a trusted root that is not JSON', '  - name: s\n    method: sigstore\n    trustedRoot: "{not json"\n    signers: [{subject: a, issuer: b}]\n', 'omsAuthorities[0].trustedRoot'],
    ['a trusted root with no CA', '  - name: s\n    method: sigstore\n    trustedRoot: \'{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1", "tlogs": [], "certificateAuthorities": []}\'\n    signers: [{subject: a, issuer: b}]\n', 'omsAuthorities[0].trustedRoot'],
    ['a key-method field', '  - name: s\n    method: sigstore\n    publicKeys: [x]\n    signers: [{subject: a, issuer: b}]\n', 'omsAuthorities[0].publicKeys'],
    ['signers on a key authority', '  - name: s\n    method: key\n    publicKeys: []\n    signers: [{subject: a, issuer: b}]\n', 'omsAuthorities[0]'],
  ])('refuses a sigstore authority with %s, naming the field', (_, body, path) => {
    const p = parsePolicy(`${HEAD}omsAuthorities:\n${body}`, 'test');
    expect(p.ok).toBe(false);
    if (!p.ok) expect(p.errors[0]?.path).toMatch(new RegExp(`^${path.replace(/[[\].]/g, '\\$&')}`));
  });
});
