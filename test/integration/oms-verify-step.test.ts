/**
 * The OMS verify step, end to end without a cluster: models signed by model_signing 1.1.1, the
 * webhook's decision requiring `verify MODEL --oms-bundle B --oms-payload-sha256 H` pinned to the
 * payload it verified, and that very command (the CLI, in-process) run against the model as the
 * init container would: exact files, no unsigned extra file, no symlink, signed ignore_paths
 * respected, shards covered exactly.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { admissionRequest, deployment } from '../fixtures/objects.js';
import { runCli } from '../fixtures/cli.js';
import { decideAdmission } from '../../src/decision/decide.js';
import { planAdmission } from '../../src/decision/plan.js';
import { MemoryKeyring } from '../../src/keys/keyring.js';
import { parsePolicy } from '../../src/policy/load.js';
import type { Policy } from '../../src/policy/types.js';
import { ecKey, makeModel, omsToolAvailable, signModel, tempDir, withPayload, type EcKey } from '../harness/oms.js';

const available = omsToolAvailable();
const FILES = { 'weights.bin': Buffer.alloc(2500, 9), 'config.json': '{"layers": 2}\n', 'tok/vocab.txt': 'a\nb\n' };

function payloadSha(bundle: string): string {
  const b = JSON.parse(bundle) as { dsseEnvelope: { payload: string } };
  return createHash('sha256').update(Buffer.from(b.dsseEnvelope.payload, 'base64')).digest('hex');
}

/** A signed model and its bundle written outside the model directory. */
function signed(key: EcKey, files: Record<string, string | Buffer> = FILES, shardSize?: number) {
  const model = makeModel(files);
  const bundlePath = join(tempDir('oms-bundle-'), 'model.sig');
  const bundle = signModel(model, { key: key.privatePath, signature: bundlePath, ...(shardSize ? { shardSize } : {}) });
  return { model, bundlePath, bundle, pin: payloadSha(bundle) };
}

const verifyCli = (model: string, bundle: string, pin: string) =>
  runCli(['verify', model, '--oms-bundle', bundle, '--oms-payload-sha256', pin, '--json']);

describe.skipIf(!available)('the OMS verify step (model_signing 1.1.1 bundles)', () => {
  let key: EcKey;
  beforeAll(() => {
    key = ecKey();
  });

  describe('modelgate verify MODEL --oms-bundle B --oms-payload-sha256 H (what the init container runs)', () => {
    it('passes on the signed directory, every file checked', async () => {
      const s = signed(key);
      const r = await verifyCli(s.model, s.bundlePath, s.pin);
      expect(r.code, r.out).toBe(0);
      expect(JSON.parse(r.out)).toMatchObject({ valid: true, name: 'model', problems: [] });
      expect((JSON.parse(r.out) as { files: unknown[] }).files).toHaveLength(3);
    });

    it('passes on a sharded model and on a single file', async () => {
      const sh = signed(key, FILES, 1000);
      expect((await verifyCli(sh.model, sh.bundlePath, sh.pin)).code).toBe(0);
      const file = join(makeModel({ 'm.onnx': 'onnx' }), 'm.onnx');
      const bundlePath = join(tempDir(), 'model.sig');
      const b = signModel(file, { key: key.privatePath, signature: bundlePath });
      expect((await verifyCli(file, bundlePath, payloadSha(b))).code).toBe(0);
    });

    it('refuses content under a signed ignore path (.git): unsigned bytes a server could load', async () => {
      const s = signed(key);
      mkdirSync(join(s.model, '.git'));
      writeFileSync(join(s.model, '.git', 'HEAD'), 'ref');
      const r = await verifyCli(s.model, s.bundlePath, s.pin);
      expect(r.code).toBe(1);
      expect((JSON.parse(r.out) as { problems: { code: string; path: string }[] }).problems).toEqual([
        expect.objectContaining({ code: 'file-unsigned', path: '.git' }),
      ]);
    });

    it.each<[string, (model: string) => void, string]>([
      ['an unsigned extra file', (m) => writeFileSync(join(m, 'extra.py'), 'import os'), 'file-unsigned'],
      ['an unsigned extra file in a subdirectory', (m) => writeFileSync(join(m, 'tok', 'evil.txt'), 'x'), 'file-unsigned'],
      ['a symlink to a signed file', (m) => symlinkSync(join(m, 'config.json'), join(m, 'alias.json')), 'symlink'],
      ['a signed file replaced by a symlink', (m) => { rmSync(join(m, 'config.json')); symlinkSync('/etc/hostname', join(m, 'config.json')); }, 'symlink'],
      ['a missing signed file', (m) => rmSync(join(m, 'tok', 'vocab.txt')), 'file-missing'],
      ['a changed byte', (m) => writeFileSync(join(m, 'config.json'), '{"layers": 3}\n'), 'sha256-mismatch'],
    ])('refuses %s', async (_, change, code) => {
      const s = signed(key);
      change(s.model);
      const r = await verifyCli(s.model, s.bundlePath, s.pin);
      expect(r.code).toBe(1);
      expect((JSON.parse(r.out) as { problems: { code: string }[] }).problems.map((p) => p.code)).toContain(code);
    });

    it('refuses bytes appended to a sharded file (its shards no longer cover it) and a changed shard', async () => {
      const s = signed(key, FILES, 1000);
      appendFileSync(join(s.model, 'weights.bin'), 'more');
      const r = await verifyCli(s.model, s.bundlePath, s.pin);
      expect((JSON.parse(r.out) as { problems: { code: string }[] }).problems.map((p) => p.code)).toEqual(['size-mismatch']);
      const t = signed(key, FILES, 1000);
      writeFileSync(join(t.model, 'weights.bin'), Buffer.alloc(2500, 8));
      const r2 = await verifyCli(t.model, t.bundlePath, t.pin);
      expect(r2.code).toBe(1);
      expect(r2.out).toMatch(/weights\.bin:0:1000/);
    });

    it('refuses a bundle whose payload is not the pinned one (the ConfigMap edited after admission)', async () => {
      const s = signed(key);
      const other = signed(key, { 'weights.bin': 'other' });
      const r = await verifyCli(s.model, other.bundlePath, s.pin);
      expect(r.code).toBe(1);
      expect((JSON.parse(r.out) as { problems: { code: string }[] }).problems.map((p) => p.code)).toEqual(['pin-mismatch']);
    });

    it('bad usage is exit 2, not a pass', async () => {
      const s = signed(key);
      expect((await runCli(['verify', s.model, '--oms-bundle', s.bundlePath])).code).toBe(2);
      expect((await runCli(['verify', s.model, '--oms-bundle', s.bundlePath, '--oms-payload-sha256', s.pin, '--sha256', s.pin])).code).toBe(2);
      expect((await runCli(['verify', s.model, '--oms-bundle', s.bundlePath, '--oms-payload-sha256', 'ABC'])).code).toBe(2);
    });
  });

  describe('the webhook counts the OMS step only pinned to the payload it verified', () => {
    let policy: Policy;
    beforeAll(() => {
      const pem = key.publicPem.trim().split('\n').map((l) => `        ${l}`).join('\n');
      const p = parsePolicy(`apiVersion: modelgate.dev/v1\nkind: Policy\nomsAuthorities:\n  - name: ml-ci\n    method: key\n    publicKeys:\n      - |\n${pem}\n`, 'test');
      if (!p.ok) throw new Error(JSON.stringify(p.errors));
      policy = p.policy;
    });

    function workload(bundle: string, args: string[], extraVolume = true): Record<string, any> {
      const d = deployment(bundle);
      const spec = d.spec.template.spec;
      spec.initContainers[0].args = args;
      if (extraVolume) {
        spec.initContainers[0].volumeMounts.push({ name: 'bundle', mountPath: '/bundle', readOnly: true });
        spec.volumes.push({ name: 'bundle', configMap: { name: 'fraud-model' } });
      }
      return d;
    }

    const decide = (obj: Record<string, any>) =>
      decideAdmission(planAdmission(admissionRequest(obj), policy), { resolved: [], keyring: new MemoryKeyring([]), now: new Date() });

    it.each([
      ['a directory (files)', undefined],
      ['a sharded model', 1000],
    ])('admits %s with the exact OMS step', (_, shardSize) => {
      const s = signed(key, FILES, shardSize);
      const d = decide(workload(s.bundle, ['verify', '/models', '--oms-bundle', '/bundle/model.sig', '--oms-payload-sha256', s.pin]));
      expect(d.response.allowed, d.response.status?.message).toBe(true);
    });

    it('refuses a step pinned to another payload, and says which pin to use', () => {
      const s = signed(key);
      const d = decide(workload(s.bundle, ['verify', '/models', '--oms-bundle', '/bundle/model.sig', '--oms-payload-sha256', 'a'.repeat(64)]));
      expect(d.response.allowed).toBe(false);
      expect(d.record.reasons.map((r) => r.code)).toContain('verify-init-not-pinned');
      expect(d.response.status?.message).toContain(s.pin);
    });

    it('refuses a tampered bundle even with a step pinned to its (unsigned) payload', () => {
      const s = signed(key);
      const tampered = withPayload(s.bundle, (st) => { st.predicate.resources.pop(); });
      const d = decide(workload(tampered, ['verify', '/models', '--oms-bundle', '/bundle/model.sig', '--oms-payload-sha256', payloadSha(tampered)]));
      expect(d.response.allowed).toBe(false);
      expect(d.record.reasons.map((r) => r.code)).toContain('bad-signature');
    });

    it.each<[string, string[]]>([
      ['a second model path', ['verify', '/models', '/models/x', '--oms-bundle', '/bundle/model.sig', '--oms-payload-sha256', 'a'.repeat(64)]],
      ['--sha256 beside the OMS form', ['verify', '/models', '--oms-bundle', '/bundle/model.sig', '--oms-payload-sha256', 'a'.repeat(64), '--sha256', 'a'.repeat(64)]],
      ['a relative bundle path', ['verify', '/models', '--oms-bundle', 'bundle/model.sig', '--oms-payload-sha256', 'a'.repeat(64)]],
      ['an upper-case pin', ['verify', '/models', '--oms-bundle', '/bundle/model.sig', '--oms-payload-sha256', 'A'.repeat(64)]],
      ['no pin', ['verify', '/models', '--oms-bundle', '/bundle/model.sig']],
      ['a --keys-dir', ['verify', '/models', '--oms-bundle', '/bundle/model.sig', '--oms-payload-sha256', 'a'.repeat(64), '--keys-dir', '/k']],
    ])('a step with %s is not an exact verify step', (_, args) => {
      const s = signed(key);
      const d = decide(workload(s.bundle, args));
      expect(d.response.allowed).toBe(false);
      expect(d.record.reasons.map((r) => r.code)).toContain('verify-step-not-inert');
    });

    it('refuses the OMS step when the model directory is not a read-only, pod-private volume', () => {
      const s = signed(key);
      const obj = workload(s.bundle, ['verify', '/bundle', '--oms-bundle', '/bundle/model.sig', '--oms-payload-sha256', s.pin]);
      const d = decide(obj);
      expect(d.response.allowed).toBe(false);
      expect(d.record.reasons.map((r) => r.code)).toContain('verify-step-not-inert');
    });
  });
});
