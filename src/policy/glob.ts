/**
 * Wildcard match as Kubernetes policy engines do it: `*` is any run of characters (including `/`,
 * so `*vllm*` matches `docker.io/vllm/vllm-openai:v0.6`), `?` is one character, the rest literal.
 * Path-glob libraries stop `*` at `/`, which is wrong for image references.
 */
export function globMatch(pattern: string, value: string): boolean {
  const source = pattern
    .split('')
    .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 's').test(value);
}

export function anyGlobMatches(patterns: readonly string[], value: string): boolean {
  return patterns.some((p) => globMatch(p, value));
}
