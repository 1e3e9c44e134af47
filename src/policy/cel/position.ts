/**
 * Where a position inside a CEL expression lies in the policy file, so `modelgate policy check`
 * points at the character (file:line:column), not only at the start of the expression.
 */

/** The YAML scalar styles (the `yaml` package's Scalar.type). */
export type ScalarStyle =
  'PLAIN' | 'QUOTE_SINGLE' | 'QUOTE_DOUBLE' | 'BLOCK_LITERAL' | 'BLOCK_FOLDED' | undefined;

/**
 * The offset in `source` of line `line`, column `column` (1-based) of the expression held by the
 * scalar starting at `start`. Exact for block literals (`|`, the style for multi-line expressions)
 * and for one-line plain or quoted scalars without escapes before the column; otherwise the start
 * of the scalar, which is never wrong about which expression it is.
 */
export function expressionOffset(
  source: string,
  node: { start: number; end: number; style: ScalarStyle },
  line: number,
  column: number,
): number {
  const { start, end, style } = node;
  if (style === 'BLOCK_LITERAL') return blockOffset(source, node, line, column);
  const raw = source.slice(start, end);
  if (line !== 1 || raw.includes('\n')) return start;
  if (style === 'PLAIN') return start + column - 1;
  const before = raw.slice(1, column);
  const escaped = style === 'QUOTE_DOUBLE' ? before.includes('\\') : before.includes("''");
  return escaped ? start : start + column;
}

/** In a block literal the expression's lines are the file's, after the indicator line, indented. */
function blockOffset(
  source: string,
  { start, end }: { start: number; end: number },
  line: number,
  column: number,
): number {
  const firstLine = source.indexOf('\n', start) + 1;
  if (firstLine === 0) return start;
  const indent = /^ */.exec(source.slice(firstLine))?.[0].length ?? 0;
  let at = firstLine;
  for (let i = 1; i < line; i++) {
    const next = source.indexOf('\n', at);
    if (next === -1 || next >= end) return start;
    at = next + 1;
  }
  return at + indent + column - 1;
}
