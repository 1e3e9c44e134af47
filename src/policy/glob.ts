/**
 * Wildcard match as Kubernetes policy engines do it: `*` is any run of characters (including `/`,
 * so `*vllm*` matches `docker.io/vllm/vllm-openai:v0.6`), `?` is one character, the rest literal;
 * the whole value must match, case-sensitively. Path-glob libraries stop `*` at `/`, which is wrong
 * for image references.
 *
 * Linear in the value: the pattern is cut at each `*` into segments; the first is anchored at the
 * start, the last at the end, and each one between is taken at its leftmost place after the one
 * before (leftmost leaves the most room for the rest, so no choice is ever revisited). Work is at
 * most value length × segment length, and segments come from the operator's policy, not from the
 * request. A compiled `^.*a.*b.*$` RegExp instead backtracked quadratically: a 385 KB image string
 * held the event loop for 35 s.
 *
 * No length cap on the value: images are attacker-written, and a cap would make a long image miss
 * a `match.images` selector (a bypass); linearity bounds the work instead, and the body limit
 * (MAX_REVIEW_BYTES) bounds the length.
 *
 * `?` is one UTF-16 code unit, as in the RegExp this replaces: namespaces and image references are
 * ASCII, so code units and code points agree on every valid one.
 */
const QUESTION = '?'.charCodeAt(0);

export function globMatch(pattern: string, value: string): boolean {
  const segments = pattern.split('*');
  const first = segments[0]!;
  if (segments.length === 1) return first.length === value.length && segmentAt(first, value, 0);
  if (!segmentAt(first, value, 0)) return false;
  const last = segments[segments.length - 1]!;
  const lastStart = value.length - last.length;
  let pos = first.length;
  for (const segment of segments.slice(1, -1)) {
    const at = findSegment(segment, value, pos, lastStart);
    if (at < 0) return false;
    pos = at + segment.length;
  }
  return pos <= lastStart && segmentAt(last, value, lastStart);
}

export function anyGlobMatches(patterns: readonly string[], value: string): boolean {
  return patterns.some((p) => globMatch(p, value));
}

/** Whether `segment` (literal characters and `?`) matches `value` at `at`. */
function segmentAt(segment: string, value: string, at: number): boolean {
  if (at < 0 || at + segment.length > value.length) return false;
  for (let i = 0; i < segment.length; i++) {
    const ch = segment.charCodeAt(i);
    if (ch !== QUESTION && ch !== value.charCodeAt(at + i)) return false;
  }
  return true;
}

/** Leftmost start ≥ `from` where `segment` matches and ends by `end`; -1 when none. */
function findSegment(segment: string, value: string, from: number, end: number): number {
  if (!segment.includes('?')) {
    const at = value.indexOf(segment, from);
    return at >= 0 && at + segment.length <= end ? at : -1;
  }
  for (let at = from; at + segment.length <= end; at++) if (segmentAt(segment, value, at)) return at;
  return -1;
}
