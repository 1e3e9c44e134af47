/** keygen → sign → verify / review with key pairs, through the CLI as CI and operators run it. */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadKeyDir } from '../keys/load.js';
import type { ManifestV2 } from '../manifest/types.js';
import { runCli } from '../../test/fixtures/cli.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mg-keygen-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const TYPES = [
  ['ec-p256', 'ECDSA-P256-SHA256'],
  ['ec-p384', 'ECDSA-P384-SHA384'],
  ['ec-p521', 'ECDSA-P521-SHA512'],
  ['ed25519', 'Ed25519'],
] as const;

async function model(name = 'model.onnx'): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `weights of ${name}`);
  return path;
}

async function signV2(modelPath: string, keyFile: string, keyId: string): Promise<{ code: number; out: string; err: string }> {
  return runCli(['sign', modelPath, '--format', 'v2', '--key-file', keyFile, '--key-id', keyId, '--version', '1', '--source', 'ci', '--json']);
}

describe('modelgate keygen', () => {
  it.each(TYPES)('--type %s writes a 0600 PKCS#8 private key and a public key named as the key id', async (type, algorithm) => {
    const r = await runCli(['keygen', '--type', type, '--key-id', 'ci-pair', '--out-dir', dir]);
    expect(r.code).toBe(0);
    const priv = await readFile(join(dir, 'ci-pair.private.pem'), 'utf8');
    const pub = await readFile(join(dir, 'ci-pair'), 'utf8');
    expect(priv).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(pub).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect((await stat(join(dir, 'ci-pair.private.pem'))).mode & 0o777).toBe(0o600);
    // The private key is never printed; the hint names the Secret entry and the sign command.
    expect(r.out + r.err).not.toContain(priv.split('\n')[1]);
    expect(r.out).toContain(`--from-file=ci-pair=${join(dir, 'ci-pair')}`);
    expect(r.out).toContain(`--key-file ${join(dir, 'ci-pair.private.pem')} --key-id ci-pair`);
    expect(r.out).toContain(algorithm);
    // What goes in the keys Secret loads as that public key type, verify-only.
    const ring = await loadKeyDir(await onlyPublic(dir, 'ci-pair'));
    expect(ring.keyType('ci-pair')).toBe(type);
    expect(ring.sign('ci-pair', 'x')).toBeUndefined();
  });

  it('--type hmac writes one 0600 secret of 64 hex characters and says it can sign', async () => {
    const r = await runCli(['keygen', '--type', 'hmac', '--key-id', 'ci-hmac', '--out-dir', dir, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ keyId: 'ci-hmac', type: 'hmac', algorithm: 'HMAC-SHA256' });
    expect(await readFile(join(dir, 'ci-hmac'), 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);
    expect((await stat(join(dir, 'ci-hmac'))).mode & 0o777).toBe(0o600);
    const text = await runCli(['keygen', '--type', 'hmac', '--key-id', 'ci-hmac-2', '--out-dir', dir]);
    expect(text.out).toMatch(/can sign/);
  });

  it.each([
    ['an existing public key file', 'ci-pair'],
    ['an existing private key file', 'ci-pair.private.pem'],
  ])('never overwrites %s (and writes nothing)', async (_n, existing) => {
    await writeFile(join(dir, existing), 'keep me');
    const r = await runCli(['keygen', '--type', 'ed25519', '--key-id', 'ci-pair', '--out-dir', dir]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/exists: keygen never overwrites/);
    expect(await readFile(join(dir, existing), 'utf8')).toBe('keep me');
    const other = existing === 'ci-pair' ? 'ci-pair.private.pem' : 'ci-pair';
    await expect(stat(join(dir, other))).rejects.toThrow();
  });

  it.each([
    [['--type', 'rsa', '--key-id', 'k'], /--type rsa: use one of ec-p256, ec-p384, ec-p521, ed25519, hmac/],
    [['--key-id', 'k'], /--type \(missing\)/],
    [['--type', 'ed25519'], /--key-id \(missing\)/],
    [['--type', 'ed25519', '--key-id', '../k'], /--key-id "..\/k"/],
    [['--type', 'ed25519', '--key-id', 'k', 'extra'], /unexpected argument/],
  ])('refuses %j', async (args, message) => {
    const r = await runCli(['keygen', ...args, '--out-dir', dir]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });

  it('creates a missing --out-dir (0700)', async () => {
    const out = join(dir, 'new', 'keys');
    expect((await runCli(['keygen', '--type', 'ed25519', '--key-id', 'k', '--out-dir', out])).code).toBe(0);
    expect((await stat(out)).mode & 0o777).toBe(0o700);
    expect((await stat(join(out, 'k'))).isFile()).toBe(true);
  });

  it('--help documents every type and the files', async () => {
    const r = await runCli(['keygen', '--help']);
    expect(r.code).toBe(0);
    for (const t of ['ec-p256', 'ec-p384', 'ec-p521', 'ed25519', 'hmac', 'ID.private.pem', 'keys Secret']) expect(r.out).toContain(t);
    expect((await runCli(['--help'])).out).toContain('keygen --type');
  });
});

/** A directory holding only the public key file, as the keys Secret would. */
async function onlyPublic(from: string, id: string): Promise<string> {
  const secret = join(from, 'secret');
  await mkdir(secret, { recursive: true });
  await writeFile(join(secret, id), await readFile(join(from, id)));
  return secret;
}

describe('sign → verify with a key pair', () => {
  it.each(TYPES)('%s: signs v2 with the private key; verify accepts it with the public key file or the keys dir', async (type, algorithm) => {
    await runCli(['keygen', '--type', type, '--key-id', 'ci-pair', '--out-dir', dir]);
    const m = await model();
    const signed = await signV2(m, join(dir, 'ci-pair.private.pem'), 'ci-pair');
    expect(signed.code, signed.err).toBe(0);
    expect(JSON.parse(signed.out)).toMatchObject({ format: 'v2', keyId: 'ci-pair', algorithm });
    const manifest = JSON.parse(await readFile(join(dir, 'model.manifest.json'), 'utf8')) as ManifestV2;
    expect(manifest.signature).toMatchObject({ algorithm, keyId: 'ci-pair' });
    const byFile = await runCli(['verify', m, '--key-file', join(dir, 'ci-pair'), '--json']);
    expect(byFile.code, byFile.out + byFile.err).toBe(0);
    expect(JSON.parse(byFile.out)).toMatchObject({ valid: true, keyId: 'ci-pair', algorithm });
    const byDir = await runCli(['verify', m, '--keys-dir', await onlyPublic(dir, 'ci-pair')]);
    expect(byDir.code, byDir.out + byDir.err).toBe(0);
  });

  it('verify refuses a model whose bytes changed after signing with a key pair', async () => {
    await runCli(['keygen', '--type', 'ec-p256', '--key-id', 'ci-pair', '--out-dir', dir]);
    const m = await model();
    await signV2(m, join(dir, 'ci-pair.private.pem'), 'ci-pair');
    await writeFile(m, 'other weights');
    expect((await runCli(['verify', m, '--key-file', join(dir, 'ci-pair')])).code).toBe(1);
  });

  it('verify says algorithm-mismatch when the keys dir holds an HMAC key under the manifest\'s id', async () => {
    await runCli(['keygen', '--type', 'ed25519', '--key-id', 'ci-pair', '--out-dir', dir]);
    const m = await model();
    await signV2(m, join(dir, 'ci-pair.private.pem'), 'ci-pair');
    const keys = join(dir, 'hmac-keys');
    await mkdir(keys);
    await writeFile(join(keys, 'ci-pair'), 'an-hmac-secret');
    const r = await runCli(['verify', m, '--keys-dir', keys, '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({ valid: false, problems: [{ code: 'algorithm-mismatch' }] });
  });

  it.each([
    ['--format v1 with a private key', ['--format', 'v1'], 'ci-pair.private.pem', /--format v1 is the seed's HMAC format; a private key signs --format v2 only/],
    ['the public key as the signing key', ['--format', 'v2', '--key-id', 'ci-pair', '--version', '1', '--source', 'ci'], 'ci-pair', /is a public key, which cannot sign: pass the private key/],
    ['v2 without --key-id from a keygen private key', ['--format', 'v2', '--version', '1', '--source', 'ci'], 'ci-pair.private.pem', /pass --key-id.*--key-id ci-pair /],
  ])('sign refuses %s', async (_n, flags, keyFile, message) => {
    await runCli(['keygen', '--type', 'ec-p256', '--key-id', 'ci-pair', '--out-dir', dir]);
    const r = await runCli(['sign', await model(), '--key-file', join(dir, keyFile), ...flags]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    await expect(stat(join(dir, 'model.manifest.json'))).rejects.toThrow();
  });

  it('verify refuses a private key as --key-file and says to use the public key', async () => {
    await runCli(['keygen', '--type', 'ec-p256', '--key-id', 'ci-pair', '--out-dir', dir]);
    const m = await model();
    await signV2(m, join(dir, 'ci-pair.private.pem'), 'ci-pair');
    const r = await runCli(['verify', m, '--key-file', join(dir, 'ci-pair.private.pem')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/private key .*public key there instead/);
  });

  it('review decides a workload signed with a key pair, with the public key in --keys-dir', async () => {
    await runCli(['keygen', '--type', 'ed25519', '--key-id', 'ci-pair', '--out-dir', dir]);
    const m = await model();
    await signV2(m, join(dir, 'ci-pair.private.pem'), 'ci-pair');
    const text = await readFile(join(dir, 'model.manifest.json'), 'utf8');
    const sha = (JSON.parse(text) as ManifestV2).files[0]!.sha256;
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'm', namespace: 'ml', labels: { 'modelgate.dev/inference': 'true' }, annotations: { 'modelgate.dev/manifest': text } },
      spec: {
        selector: { matchLabels: { app: 'm' } },
        template: {
          metadata: { labels: { app: 'm', 'modelgate.dev/inference': 'true' } },
          spec: {
            initContainers: [{ name: 'verify', image: 'ghcr.io/modelgate/modelgate:0.1.0', args: ['verify', '/models/model.onnx', '--sha256', sha], volumeMounts: [{ name: 'models', mountPath: '/models', readOnly: true }] }],
            containers: [{ name: 'server', image: 'srv:1', volumeMounts: [{ name: 'models', mountPath: '/models', readOnly: true }] }],
            volumes: [{ name: 'models', emptyDir: {} }],
          },
        },
      },
    };
    const file = join(dir, 'deploy.json');
    await writeFile(file, JSON.stringify(deployment));
    const keys = await onlyPublic(dir, 'ci-pair');
    const ok = await runCli(['review', '-f', file, '--keys-dir', keys]);
    expect(ok.code, ok.out + ok.err).toBe(0);
    const tampered = text.replace('"version": "1"', '"version": "2"');
    await writeFile(file, JSON.stringify({ ...deployment, metadata: { ...deployment.metadata, annotations: { 'modelgate.dev/manifest': tampered } } }));
    const bad = await runCli(['review', '-f', file, '--keys-dir', keys]);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('bad-signature');
  });
});
