/** Who is asking, as the API server's userInfo says. */
export interface Requester {
  username: string;
  groups: string[];
}

const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';

/**
 * A principal is `group:NAME`, `serviceaccount:NS:NAME` (the username
 * system:serviceaccount:NS:NAME; NAME may be `*` for every account of NS), or a plain username.
 */
export function principalMatches(principal: string, user: Requester): boolean {
  if (principal.startsWith('group:')) return user.groups.includes(principal.slice('group:'.length));
  if (principal.startsWith('serviceaccount:')) return serviceAccountMatches(principal, user.username);
  return principal === user.username;
}

function serviceAccountMatches(principal: string, username: string): boolean {
  const [, namespace, name] = principal.split(':');
  if (!username.startsWith(SERVICE_ACCOUNT_PREFIX)) return false;
  const [userNs, userName] = username.slice(SERVICE_ACCOUNT_PREFIX.length).split(':');
  return namespace === userNs && (name === '*' || name === userName);
}

export function anyPrincipalMatches(principals: readonly string[], user: Requester): boolean {
  return principals.some((p) => principalMatches(p, user));
}
