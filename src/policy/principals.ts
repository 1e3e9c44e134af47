/**
 * Principals: who a policy names (`controllers`, `allowedRequesters`), compared with who is asking
 * (the request's userInfo). `controllers` skip every check, so a principal must match exactly the
 * identities it names and nothing that merely resembles them.
 *
 * Grammar (docs/policy.md "Principals"):
 *   group:NAME              a member of group NAME (exact; NAME may contain ':')
 *   serviceaccount:NS:NAME  the username system:serviceaccount:NS:NAME, nothing else;
 *                           NS a DNS-1123 label, NAME a DNS-1123 subdomain
 *   serviceaccount:NS:*     any one service account of NS: system:serviceaccount:NS:X where X is
 *                           a valid service account name (non-empty, no ':')
 *   user:NAME               the username NAME (for a username that starts with a reserved prefix)
 *   NAME                    the username NAME (backward compatible plain form)
 * Kubernetes usernames and groups are case-sensitive: every comparison is exact (===), with no
 * trimming, case folding or Unicode normalisation.
 */

/** Who is asking, as the API server's userInfo says. */
export interface Requester {
  username: string;
  groups: string[];
}

export type Principal =
  | { kind: 'user'; name: string }
  | { kind: 'group'; name: string }
  | { kind: 'serviceaccount'; namespace: string; name: string }
  | { kind: 'serviceaccounts-of'; namespace: string };

export type PrincipalParse = { ok: true; principal: Principal } | { ok: false; message: string };

export const SERVICE_ACCOUNT_USER_PREFIX = 'system:serviceaccount:';

/** Kubernetes' IsDNS1123Label: a namespace name. */
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_LABEL_MAX = 63;
/** Kubernetes' IsDNS1123Subdomain: a service account name. */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_SUBDOMAIN_MAX = 253;

/** C0 controls, DEL and C1 controls: never part of a name anyone meant to write. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Prefixes that look like a principal form but are not one (wrong case, plural): as a plain
 * username they would silently match nobody, so they are refused with the form meant.
 */
export const RESERVED_WORDS = ['group', 'serviceaccount', 'user'];

export function isNamespaceName(s: string): boolean {
  return s.length <= DNS1123_LABEL_MAX && DNS1123_LABEL.test(s);
}

export function isServiceAccountName(s: string): boolean {
  return s.length <= DNS1123_SUBDOMAIN_MAX && DNS1123_SUBDOMAIN.test(s);
}

/** A user or group name as written in a policy: non-empty, no surrounding space, no control character. */
/** Why `name` cannot be a group name in a policy (breakGlass.group, classificationAccess), if it cannot. */
export function groupNameProblem(name: string): string | undefined {
  return nameProblem(name, 'a group name');
}

function nameProblem(name: string, what: string): string | undefined {
  if (name === '') return `${what} must not be empty`;
  if (name.trim() !== name) return `${what} must not start or end with white space`;
  if (CONTROL.test(name)) return `${what} must not contain control characters`;
  return undefined;
}

function bad(text: string, message: string): PrincipalParse {
  return { ok: false, message: `principal ${JSON.stringify(text)}: ${message}` };
}

function parseServiceAccount(text: string, rest: string): PrincipalParse {
  const parts = rest.split(':');
  if (parts.length !== 2)
    return bad(text, 'must be serviceaccount:NAMESPACE:NAME (exactly two parts after "serviceaccount:")');
  const [namespace = '', name = ''] = parts;
  if (!isNamespaceName(namespace))
    return bad(text, `namespace "${namespace}" is not a namespace name (lowercase DNS-1123 label)`);
  if (name === '*') return { ok: true, principal: { kind: 'serviceaccounts-of', namespace } };
  if (!isServiceAccountName(name))
    return bad(text, `"${name}" is not a service account name (lowercase DNS-1123 subdomain, or * for any)`);
  return { ok: true, principal: { kind: 'serviceaccount', namespace, name } };
}

function parseUsername(text: string, name: string): PrincipalParse {
  const problem = nameProblem(name, 'the username');
  if (problem) return bad(text, problem);
  if (name.startsWith(SERVICE_ACCOUNT_USER_PREFIX)) {
    // A service account's username: hold it to the same grammar, so "…:kube-system:*" or a
    // trailing ":x" is an error here rather than a username no service account can have.
    const parsed = parseServiceAccount(text, name.slice(SERVICE_ACCOUNT_USER_PREFIX.length));
    if (!parsed.ok) return parsed;
    if (parsed.principal.kind === 'serviceaccounts-of')
      return bad(
        text,
        `a username is exact: for every service account of the namespace write serviceaccount:${parsed.principal.namespace}:*`,
      );
  }
  return { ok: true, principal: { kind: 'user', name } };
}

function looksLikeMistypedForm(text: string): string | undefined {
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  const word = text.slice(0, colon);
  const meant = RESERVED_WORDS.find((w) => word.toLowerCase() === w || word.toLowerCase() === `${w}s`);
  return meant !== undefined && word !== meant ? meant : undefined;
}

/** Reads one principal. Called by the policy loader for every principal, so errors surface there. */
export function parsePrincipal(text: string): PrincipalParse {
  if (text.startsWith('group:')) {
    const name = text.slice('group:'.length);
    const problem = nameProblem(name, 'the group');
    return problem ? bad(text, problem) : { ok: true, principal: { kind: 'group', name } };
  }
  if (text.startsWith('serviceaccount:'))
    return parseServiceAccount(text, text.slice('serviceaccount:'.length));
  if (text.startsWith('user:')) return parseUsername(text, text.slice('user:'.length));
  const meant = looksLikeMistypedForm(text);
  if (meant !== undefined)
    return bad(
      text,
      `did you mean "${meant}:…"? Prefixes are lowercase and singular (write user:${text} for a username that really starts so)`,
    );
  return parseUsername(text, text);
}

/** The exact match: one username, or one group, or one valid account of one namespace. */
export function matchesRequester(principal: Principal, user: Requester): boolean {
  switch (principal.kind) {
    case 'user':
      return user.username === principal.name;
    case 'group':
      return user.groups.includes(principal.name);
    case 'serviceaccount':
      return user.username === `${SERVICE_ACCOUNT_USER_PREFIX}${principal.namespace}:${principal.name}`;
    case 'serviceaccounts-of': {
      const prefix = `${SERVICE_ACCOUNT_USER_PREFIX}${principal.namespace}:`;
      return user.username.startsWith(prefix) && isServiceAccountName(user.username.slice(prefix.length));
    }
  }
}

/**
 * Parses, keyed by principal text. The texts come only from the policy (operator-controlled, a
 * few dozen), never from a request, so the cache stays small; the bound is a backstop across
 * many policy reloads.
 */
const parsed = new Map<string, Principal | null>();
const PARSED_MAX = 4096;

function compiled(text: string): Principal | null {
  let p = parsed.get(text);
  if (p === undefined) {
    const r = parsePrincipal(text);
    p = r.ok ? r.principal : null;
    if (parsed.size >= PARSED_MAX) parsed.clear();
    parsed.set(text, p);
  }
  return p;
}

/**
 * A policy principal against the requester. The loader has refused malformed principals already;
 * one that reaches here anyway (a policy built in code) matches nobody.
 */
export function principalMatches(principal: string, user: Requester): boolean {
  const p = compiled(principal);
  return p !== null && matchesRequester(p, user);
}

export function anyPrincipalMatches(principals: readonly string[], user: Requester): boolean {
  return principals.some((p) => principalMatches(p, user));
}
