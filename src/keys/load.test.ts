import { mkdtemp, mkdir, rm, symlink, writeFile, rename, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Keyring } from './types.js';
import { KeyLoadError, keyBytesFromFile, keyringFingerprint, loadKeyDir, loadKeyFile, watchKeyDir } from './load.js';
import { MemoryKeyring } from './keyring.js';
import { VECTORS_DIR } from '../../test/fixtures/vectors.js';
import { keyPairs, newKeyPair, refusedPublicPems } from '../../test/fixtures/keypairs.js';

const VECTOR_KEY = `${VECTORS_DIR}signing.key`;
const HASH = '28945c699d6b4878af1b680be05aaf431e6906bd2d1cd0fcd80c91d527144927';
const VECTOR_SIG = '094814c8f4832a5c1ecbc28c1f393c86c816b3d17617a10b526e74b8b70cbd6d';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mg-keys-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Lay out `keys` the way the kubelet mounts a Secret (AtomicWriter), as version `v`. */
async function writeSecret(root: string, keys: Record<string, string>, v: string): Promise<void> {
  const versioned = `..${v}`;
  await mkdir(join(root, versioned));
  for (const [name, content] of Object.entries(keys)) await writeFile(join(root, versioned, name), content);
  await symlink(versioned, join(root, '..data_tmp'));
  await rename(join(root, '..data_tmp'), join(root, '..data'));
  for (const name of Object.keys(keys))
    await symlink(join('..data', name), join(root, name)).catch(() => undefined);
}

describe('keyBytesFromFile', () => {
  it.each([
    ['no newline', 'abc', 'abc'],
    ['one newline', 'abc\n', 'abc'],
    ['two newlines (only one removed)', 'abc\n\n', 'abc\n'],
    ['CRLF (only LF removed)', 'abc\r\n', 'abc\r'],
    ['just a newline', '\n', ''],
  ])('%s', (_n, input, want) => {
    expect(keyBytesFromFile(Buffer.from(input)).toString()).toBe(want);
  });
});

describe('loadKeyFile', () => {
  it('loads the vector key, id = file name by default', async () => {
    const ring = await loadKeyFile(VECTOR_KEY);
    expect(ring.ids()).toEqual(['signing.key']);
    expect(ring.sign('signing.key', HASH)).toBe(VECTOR_SIG);
  });

  it('takes an explicit id and strips one trailing newline', async () => {
    await writeFile(join(dir, 'k'), 'ci-signing-key-2026\n');
    const ring = await loadKeyFile(join(dir, 'k'), 'ci-2026');
    expect(ring.verify('ci-2026', HASH, VECTOR_SIG)).toBe(true);
  });

  it.each([
    ['an empty file', '', 'key "k" is empty'],
    ['a lone newline', '\n', 'key "k" is empty'],
  ])('refuses %s, naming the id', async (_n, content, message) => {
    await writeFile(join(dir, 'k'), content);
    await expect(loadKeyFile(join(dir, 'k'))).rejects.toThrow(message);
  });

  it('refuses a missing file and a bad id without leaking content', async () => {
    await expect(loadKeyFile(join(dir, 'missing'))).rejects.toThrow(/cannot read key "missing".*ENOENT/);
    await writeFile(join(dir, 'k'), 'super-secret');
    const err = await loadKeyFile(join(dir, 'k'), 'bad id').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeyLoadError);
    expect(String(err)).not.toContain('super-secret');
  });
});

describe('loadKeyDir', () => {
  it('reads a projected Secret layout: visible names, skipping ..data and dot entries', async () => {
    await writeSecret(dir, { 'ci-2026': 'ci-signing-key-2026\n', old: 'previous' }, '2026_01');
    await writeFile(join(dir, '.hidden'), 'not a key');
    const ring = await loadKeyDir(dir);
    expect(ring.ids()).toEqual(['ci-2026', 'old']);
    expect(ring.verify('ci-2026', HASH, VECTOR_SIG)).toBe(true);
  });

  it('reads a plain directory and skips sub-directories', async () => {
    await writeFile(join(dir, 'a'), 'key-a');
    await mkdir(join(dir, 'sub'));
    expect((await loadKeyDir(dir)).ids()).toEqual(['a']);
  });

  it.each([
    ['an empty key', { good: 'x', blank: '' }, 'key "blank" is empty'],
    ['no keys at all', {}, 'no keys in'],
  ])('refuses %s', async (_n, keys, message) => {
    for (const [k, v] of Object.entries(keys)) await writeFile(join(dir, k), v);
    const err = await loadKeyDir(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeyLoadError);
    expect(String(err)).toContain(message);
  });

  it('refuses a missing directory and an invalid file name', async () => {
    await expect(loadKeyDir(join(dir, 'nope'))).rejects.toThrow('does not exist');
    await writeFile(join(dir, 'bad name'), 'k');
    await expect(loadKeyDir(dir)).rejects.toThrow('invalid key id "bad name"');
  });
});

describe('watchKeyDir', () => {
  it('picks up a rotated Secret and keeps the last good keyring on a bad update', async () => {
    await writeSecret(dir, { 'ci-2026': 'one' }, 'v1');
    const seen: Keyring[] = [];
    const errors: Error[] = [];
    const w = await watchKeyDir(dir, { settleMs: 20, pollMs: 100 });
    w.onChange((k) => seen.push(k));
    w.onError((e) => errors.push(e));
    try {
      expect(w.current().ids()).toEqual(['ci-2026']);
      // Rotation: add a key the way the kubelet does.
      await writeSecret(dir, { 'ci-2026': 'one', 'ci-2027': 'two' }, 'v2');
      await expect.poll(() => w.current().ids(), { timeout: 3000 }).toEqual(['ci-2026', 'ci-2027']);
      // A broken update: the new key is empty.
      await writeFile(join(dir, 'broken'), '');
      await expect.poll(() => errors.length, { timeout: 3000 }).toBeGreaterThan(0);
      expect(String(errors[0])).toContain('key "broken" is empty');
      expect(w.current().ids()).toEqual(['ci-2026', 'ci-2027']);
      await unlink(join(dir, 'broken'));
      expect(seen.length).toBe(1);
    } finally {
      w.stop();
    }
  });
});

describe('public keys in a keys directory', () => {
  const ec = keyPairs['ec-p256'];
  const ed = keyPairs.ed25519;

  it('loads HMAC secrets and PEM public keys side by side, each as its type', async () => {
    await writeSecret(dir, { 'ci-2026': 'ci-signing-key-2026\n', 'ci-ec': ec.publicPem, 'ci-ed': ed.publicPem }, 'v1');
    const ring = await loadKeyDir(dir);
    expect(ring.ids()).toEqual(['ci-2026', 'ci-ec', 'ci-ed']);
    expect(ring.ids().map((id) => ring.keyType(id))).toEqual(['hmac', 'ec-p256', 'ed25519']);
    expect(ring.verify('ci-2026', HASH, VECTOR_SIG)).toBe(true);
  });

  it('holds no key that can sign when only public keys are loaded', async () => {
    await writeSecret(dir, { 'ci-ec': ec.publicPem, 'ci-ed': ed.publicPem }, 'v1');
    const ring = await loadKeyDir(dir);
    expect(ring.ids().filter((id) => ring.sign(id, 'x') !== undefined)).toEqual([]);
    expect(ring.ids().map((id) => ring.keyType(id))).not.toContain('hmac');
  });

  it.each([
    ['a private key', ec.privatePem, /key "ci-ec" is a private key .*must not be able to sign.*public key there instead/],
    ['an RSA public key', refusedPublicPems()['RSA 2048']!, /key "ci-ec" is an RSA key/],
    ['a secp256k1 public key', refusedPublicPems()['EC secp256k1']!, /key "ci-ec" is an EC key on curve secp256k1/],
  ])('refuses the whole directory for %s, naming the id', async (_n, content, message) => {
    await writeSecret(dir, { 'ci-2026': 'ci-signing-key-2026', 'ci-ec': content }, 'v1');
    const err = await loadKeyDir(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeyLoadError);
    expect(String(err)).toMatch(message);
    expect(String(err)).not.toContain(content.split('\n')[1]);
  });

  it('loadKeyFile takes a public key for a single id', async () => {
    await writeFile(join(dir, 'pub'), ed.publicPem);
    const ring = await loadKeyFile(join(dir, 'pub'), 'ci-ed');
    expect(ring.keyType('ci-ed')).toBe('ed25519');
  });

  it('the reload fingerprint tells public keys apart (a public key cannot sign a fingerprint)', () => {
    const a = new MemoryKeyring([['k', Buffer.from(ec.publicPem)]]);
    const same = new MemoryKeyring([['k', Buffer.from(ec.publicPem.trimEnd().replace(/\n/g, '\r\n'))]]);
    const other = new MemoryKeyring([['k', Buffer.from(newKeyPair('ec-p256').publicPem)]]);
    const hmac = new MemoryKeyring([['k', Buffer.from('secret')]]);
    expect(keyringFingerprint(a)).toBe(keyringFingerprint(same));
    expect(keyringFingerprint(a)).not.toBe(keyringFingerprint(other));
    expect(keyringFingerprint(a)).not.toBe(keyringFingerprint(hmac));
    expect(keyringFingerprint(hmac)).not.toContain('secret');
  });

  it('watchKeyDir reloads when a public key is replaced by another under the same id', async () => {
    await writeSecret(dir, { 'ci-ec': ec.publicPem }, 'v1');
    const w = await watchKeyDir(dir, { settleMs: 20, pollMs: 100 });
    const seen: Keyring[] = [];
    w.onChange((k) => seen.push(k));
    try {
      const before = w.current().publicKeyDigest('ci-ec');
      const next = newKeyPair('ec-p256');
      await writeSecret(dir, { 'ci-ec': next.publicPem }, 'v2');
      await expect.poll(() => w.current().publicKeyDigest('ci-ec'), { timeout: 3000 }).not.toBe(before);
      expect(seen.length).toBe(1);
    } finally {
      w.stop();
    }
  });
});
