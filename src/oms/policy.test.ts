/** omsAuthorities and a rule's oms limits in a policy file: read, defaulted, refused with line and field. */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../policy/load.js';

const pem = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
const indented = pem.trim().split('\n').map((l) => `        ${l}`).join('\n');
const head = 'apiVersion: modelgate.dev/v1\nkind: Policy\n';

describe('policy omsAuthorities', () => {
  it('loads a key authority and gives rules the default OMS limits', () => {
    const p = parsePolicy(`${head}omsAuthorities:\n  - name: ml-ci\n    method: key\n    publicKeys:\n      - |\n${indented}\n`, 't');
    expect(p.ok).toBe(true);
    if (!p.ok) return;
    expect(p.policy.omsAuthorities).toEqual([expect.objectContaining({ name: 'ml-ci', method: 'key' })]);
    expect(p.policy.rules[0]?.oms).toEqual({
      methods: ['key', 'certificate', 'sigstore'],
      ignorePaths: ['.git', '.github', '.gitattributes', '.gitignore', 'model.sig'],
    });
  });

  it.each([
    ['a key that is not PEM', '  - name: a\n    method: key\n    publicKeys: ["not a key"]\n', 'omsAuthorities[0].publicKeys[0]', 4],
    ['a certificate authority without roots', '  - name: a\n    method: certificate\n    identities: [x]\n', 'omsAuthorities[0].roots', 4],
    ['an unknown method', '  - name: a\n    method: gpg\n', 'omsAuthorities[0].method', 5],
    ['a name that is not a key id', '  - name: "a b"\n    method: key\n', 'omsAuthorities[0].name', 4],
    ['an unknown field', '  - name: a\n    method: key\n    keys: []\n', 'omsAuthorities[0].keys', 6],
  ])('refuses %s, naming the field and line', (_, body, path, line) => {
    const p = parsePolicy(`${head}omsAuthorities:\n${body}`, 't');
    expect(p.ok).toBe(false);
    if (p.ok) return;
    expect(p.errors[0]).toMatchObject({ path, line });
  });

  it('refuses two authorities with one name', () => {
    const one = `  - name: a\n    method: key\n    publicKeys:\n      - |\n${indented}\n`;
    const p = parsePolicy(`${head}omsAuthorities:\n${one}${one}`, 't');
    expect(p.ok).toBe(false);
    if (!p.ok) expect(p.errors[0]?.message).toMatch(/duplicate authority name "a"/);
  });

  it('reads a rule\'s oms limits and refuses an unknown method there', () => {
    const ok = parsePolicy(`${head}rules:\n  - name: r\n    oms: {methods: [certificate], ignorePaths: [.git]}\n`, 't');
    expect(ok.ok && ok.policy.rules[0]?.oms).toEqual({ methods: ['certificate'], ignorePaths: ['.git'] });
    const bad = parsePolicy(`${head}rules:\n  - name: r\n    oms: {methods: [pgp]}\n`, 't');
    expect(bad.ok).toBe(false);
  });
});
