import { createHmac } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { MemoryKeyring } from './keyring.js';

const SECRET = 'ci-signing-key-2026';
const ring = new MemoryKeyring([
  ['ci-2026', Buffer.from(SECRET)],
  ['old', Buffer.from('previous-key')],
]);
const HASH = '28945c699d6b4878af1b680be05aaf431e6906bd2d1cd0fcd80c91d527144927';
const VECTOR_SIG = '094814c8f4832a5c1ecbc28c1f393c86c816b3d17617a10b526e74b8b70cbd6d';

describe('MemoryKeyring', () => {
  it('signs like the seed vector (HMAC-SHA256 over the hex hash)', () => {
    expect(ring.sign('ci-2026', HASH)).toBe(VECTOR_SIG);
    expect(ring.sign('ci-2026', HASH)).toBe(createHmac('sha256', SECRET).update(HASH).digest('hex'));
  });

  it.each([
    ['the right key and signature', 'ci-2026', VECTOR_SIG, true],
    ['another loaded key', 'old', VECTOR_SIG, false],
    ['an unknown key id', 'nope', VECTOR_SIG, false],
    ['upper-case hex', 'ci-2026', VECTOR_SIG.toUpperCase(), false],
    ['a short signature', 'ci-2026', VECTOR_SIG.slice(0, 62), false],
    ['a long signature', 'ci-2026', VECTOR_SIG + '00', false],
    ['non-hex characters', 'ci-2026', 'zz' + VECTOR_SIG.slice(2), false],
    ['an empty signature', 'ci-2026', '', false],
    ['one flipped nibble', 'ci-2026', VECTOR_SIG.slice(0, -1) + 'e', false],
  ])('verify with %s → %s', (_n, id, sig, want) => {
    expect(ring.verify(id, HASH, sig)).toBe(want);
  });

  it('lists ids sorted and never shows key bytes', () => {
    expect(ring.ids()).toEqual(['ci-2026', 'old']);
    expect(ring.has('old')).toBe(true);
    const shown = [
      JSON.stringify(ring),
      inspect(ring),
      inspect({ nested: ring }, { depth: 5, showHidden: true }),
      String(ring),
    ];
    for (const s of shown) {
      expect(s).toContain('ci-2026');
      expect(s).not.toContain(SECRET);
      expect(s).not.toContain('previous-key');
      expect(s).not.toContain(Buffer.from(SECRET).toString('hex'));
    }
    expect(Object.keys(ring)).toEqual([]);
  });

  it.each([
    ['an invalid id', [['a/b', Buffer.from('k')]], 'invalid key id "a/b"'],
    ['an empty key', [['empty', Buffer.alloc(0)]], 'key "empty" is empty'],
    [
      'a duplicate id',
      [
        ['a', Buffer.from('k')],
        ['a', Buffer.from('k')],
      ],
      'appears twice',
    ],
  ] as const)('refuses %s', (_n, entries, message) => {
    expect(() => new MemoryKeyring(entries)).toThrow(message);
  });
});
