import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONTROLLERS } from './defaults.js';
import { parsePrincipal, principalMatches, type Requester } from './principals.js';

const user = (username: string, groups: string[] = []): Requester => ({ username, groups });

// ---- generators for what Kubernetes accepts

const alnum = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789');
const inner = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-');
/** A DNS-1123 label (namespace name), up to 20 characters. */
const label = fc
  .tuple(alnum, fc.array(inner, { maxLength: 18 }), alnum)
  .map(([a, mid, z]) => a + mid.join('') + z)
  .filter((s) => !s.endsWith('-'));
const shortLabel = fc.oneof(alnum, label);
/** A DNS-1123 subdomain (service account name). */
const subdomain = fc.array(shortLabel, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('.'));

/** One change to a username that an attacker might hope still matches. */
const mutation = fc.oneof(
  fc.constant((u: string) => `${u}:evil`),
  fc.constant((u: string) => `${u}:`),
  fc.constant((u: string) => `${u}::`),
  fc.constant((u: string) => `${u}:a:b`),
  fc.constant((u: string) => ` ${u}`),
  fc.constant((u: string) => `${u} `),
  fc.constant((u: string) => `${u}\u0000`),
  fc.constant((u: string) => `\u0000${u}`),
  fc.constant((u: string) => `${u}\n`),
  fc.constant((u: string) => u.toUpperCase()),
  fc.constant((u: string) => u.replace('system:', 'System:')),
  fc.constant((u: string) => u.replace('system:serviceaccount:', 'system:serviceaccounts:')),
  fc.constant((u: string) => u.replace('system:serviceaccount:', '')),
  fc.constant((u: string) => u.replace(/:([^:]*)$/, '::$1')),
  fc.constant((u: string) => u.slice(0, -1)),
  fc.constant((u: string) => `${u}x`),
  fc.constant((u: string) => u.replace('-', '\u2010')),
);

/** Inserts `c` somewhere in `s`. */
const insertAt = (s: string, i: number, c: string): string =>
  s.slice(0, i % (s.length + 1)) + c + s.slice(i % (s.length + 1));

describe('serviceaccount:NS:NAME matches exactly one username', () => {
  it('the username system:serviceaccount:NS:NAME, for every valid NS and NAME', () => {
    fc.assert(
      fc.property(label, subdomain, (ns, name) => {
        expect(
          principalMatches(`serviceaccount:${ns}:${name}`, user(`system:serviceaccount:${ns}:${name}`)),
        ).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('no other username: any string that is not that exact username does not match', () => {
    fc.assert(
      fc.property(label, subdomain, fc.string({ maxLength: 60 }), (ns, name, other) => {
        const exact = `system:serviceaccount:${ns}:${name}`;
        fc.pre(other !== exact);
        expect(principalMatches(`serviceaccount:${ns}:${name}`, user(other))).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('no mutation of it: extra ":" segments, empty parts, case, surrounding space, NUL, lookalikes', () => {
    fc.assert(
      fc.property(label, subdomain, mutation, (ns, name, mutate) => {
        const exact = `system:serviceaccount:${ns}:${name}`;
        const changed = mutate(exact);
        fc.pre(changed !== exact);
        expect(principalMatches(`serviceaccount:${ns}:${name}`, user(changed))).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('no username with a NUL, a control character or a space inserted anywhere', () => {
    fc.assert(
      fc.property(
        label,
        subdomain,
        fc.nat(),
        fc.constantFrom('\u0000', '\t', ' ', '\u007f', ':'),
        (ns, name, i, c) => {
          const changed = insertAt(`system:serviceaccount:${ns}:${name}`, i, c);
          expect(principalMatches(`serviceaccount:${ns}:${name}`, user(changed))).toBe(false);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('the account name in groups (not the username) does not match', () => {
    fc.assert(
      fc.property(label, subdomain, (ns, name) => {
        const exact = `system:serviceaccount:${ns}:${name}`;
        expect(principalMatches(`serviceaccount:${ns}:${name}`, user('mallory', [exact]))).toBe(false);
      }),
    );
  });
});

describe('serviceaccount:NS:* matches exactly one valid account name of NS', () => {
  it('every valid account name of NS', () => {
    fc.assert(
      fc.property(label, subdomain, (ns, name) => {
        expect(principalMatches(`serviceaccount:${ns}:*`, user(`system:serviceaccount:${ns}:${name}`))).toBe(
          true,
        );
      }),
      { numRuns: 500 },
    );
  });

  it('never an empty name, nor a name holding ":", whatever else it holds', () => {
    fc.assert(
      fc.property(label, fc.string({ maxLength: 30 }), fc.string({ maxLength: 30 }), (ns, before, after) => {
        expect(principalMatches(`serviceaccount:${ns}:*`, user(`system:serviceaccount:${ns}:`))).toBe(false);
        expect(
          principalMatches(`serviceaccount:${ns}:*`, user(`system:serviceaccount:${ns}:${before}:${after}`)),
        ).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('never a name Kubernetes would refuse (upper case, space, NUL, leading dot or dash)', () => {
    fc.assert(
      fc.property(
        label,
        subdomain,
        fc.constantFrom(
          (s: string) => s.toUpperCase(),
          (s: string) => ` ${s}`,
          (s: string) => `${s}\u0000`,
          (s: string) => `.${s}`,
          (s: string) => `-${s}`,
          (s: string) => `${s}-`,
        ),
        (ns, name, bend) => {
          const bent = bend(name);
          fc.pre(bent !== name);
          expect(
            principalMatches(`serviceaccount:${ns}:*`, user(`system:serviceaccount:${ns}:${bent}`)),
          ).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never an account of another namespace, even one whose name starts the same', () => {
    fc.assert(
      fc.property(label, label, subdomain, (ns, other, name) => {
        fc.pre(ns !== other);
        expect(
          principalMatches(`serviceaccount:${ns}:*`, user(`system:serviceaccount:${other}:${name}`)),
        ).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});

describe('group:NAME and plain usernames are exact', () => {
  it('group:NAME matches a member of exactly NAME (case, space, NUL, prefix and suffix all differ)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 30 }), fc.string({ maxLength: 30 }), (name, other) => {
        fc.pre(parsePrincipal(`group:${name}`).ok);
        expect(principalMatches(`group:${name}`, user('u', [name]))).toBe(true);
        fc.pre(other !== name);
        expect(principalMatches(`group:${name}`, user('u', [other]))).toBe(false);
        expect(principalMatches(`group:${name}`, user(name))).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('a plain username matches that username only, never a member of a group of that name', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 30 }), fc.string({ maxLength: 30 }), (name, other) => {
        fc.pre(parsePrincipal(name).ok && !name.includes(':'));
        expect(principalMatches(name, user(name))).toBe(true);
        expect(principalMatches(name, user('', [name]))).toBe(false);
        fc.pre(other !== name);
        expect(principalMatches(name, user(other))).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it.each([
    ['system:kube-controller-manager', 'System:kube-controller-manager'],
    ['system:kube-controller-manager', 'system:kube-controller-manager '],
    ['system:kube-controller-manager', 'system:kube-controller-manager\u0000'],
    ['system:kube-controller-manager', 'system:kube-controller-manager:x'],
    ['group:ci', 'CI'],
    ['group:ci', 'ci '],
    ['user:group:ci', 'ci'],
  ])('%j does not match %j', (principal, name) => {
    expect(principalMatches(principal, user(name, [name]))).toBe(false);
  });

  it('user:NAME names a username that starts with a reserved prefix', () => {
    expect(principalMatches('user:group:ci', user('group:ci'))).toBe(true);
    expect(principalMatches('user:group:ci', user('x', ['ci']))).toBe(false);
  });
});

describe('parsePrincipal refuses what would be read loosely', () => {
  it.each([
    ['serviceaccount:ci', 'exactly two parts'],
    ['serviceaccount:ci:deployer:x', 'exactly two parts'],
    ['serviceaccount::deployer', 'not a namespace name'],
    ['serviceaccount:ci:', 'not a service account name'],
    ['serviceaccount:CI:deployer', 'not a namespace name'],
    ['serviceaccount:ci:Deployer', 'not a service account name'],
    ['serviceaccount:ci: deployer', 'not a service account name'],
    ['serviceaccount:*:deployer', 'not a namespace name'],
    ['serviceaccount:ci:dep*', 'not a service account name'],
    ['serviceaccount:ci:deployer\u0000', 'not a service account name'],
    ['group:', 'must not be empty'],
    ['group: ci', 'white space'],
    ['group:ci\u0000', 'control characters'],
    ['user:', 'must not be empty'],
    [' alice', 'white space'],
    ['alice\n', 'white space'],
    ['ali\u0000ce', 'control characters'],
    ['Group:ci', 'did you mean "group:'],
    ['groups:ci', 'did you mean "group:'],
    ['ServiceAccount:ci:deployer', 'did you mean "serviceaccount:'],
    ['serviceaccounts:ci:deployer', 'did you mean "serviceaccount:'],
    ['User:alice', 'did you mean "user:'],
    ['system:serviceaccount:kube-system:*', 'write serviceaccount:kube-system:*'],
    ['system:serviceaccount:kube-system:replicaset-controller:x', 'exactly two parts'],
    ['system:serviceaccount:kube-system:', 'not a service account name'],
  ])('%j (%s)', (text, message) => {
    const parsed = parsePrincipal(text);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.message).toContain(message);
    // and a principal the loader would refuse matches nobody if it reaches the matcher anyway
    expect(principalMatches(text, user(text, [text.slice(text.indexOf(':') + 1)]))).toBe(false);
  });

  it.each([
    ['alice', { kind: 'user', name: 'alice' }],
    ['system:kube-controller-manager', { kind: 'user', name: 'system:kube-controller-manager' }],
    ['oidc:alice@example.com', { kind: 'user', name: 'oidc:alice@example.com' }],
    ['user:serviceaccount:x', { kind: 'user', name: 'serviceaccount:x' }],
    ['group:system:serviceaccounts:ci', { kind: 'group', name: 'system:serviceaccounts:ci' }],
    ['serviceaccount:ci:deployer', { kind: 'serviceaccount', namespace: 'ci', name: 'deployer' }],
    ['serviceaccount:ci:deployer.v2', { kind: 'serviceaccount', namespace: 'ci', name: 'deployer.v2' }],
    ['serviceaccount:kube-system:*', { kind: 'serviceaccounts-of', namespace: 'kube-system' }],
  ])('%j is %j', (text, principal) => {
    expect(parsePrincipal(text)).toEqual({ ok: true, principal });
  });

  it('the default controllers all parse', () => {
    for (const c of DEFAULT_CONTROLLERS) expect(parsePrincipal(c).ok, c).toBe(true);
  });
});
