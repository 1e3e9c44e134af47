const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400 };

/**
 * The one duration grammar (policy maxAge, `sign --expires-in`, `audit --since`): "0", or one or
 * more AMOUNT+UNIT with units s, m, h, d, w. docs/policy.schema.json carries this same pattern.
 */
export const DURATION_PATTERN = String.raw`^(0|(\d+[smhdw])+)$`;
const DURATION = new RegExp(DURATION_PATTERN);

/**
 * "720h", "30d", "2w", "1h30m", "90s" → seconds; "0" → 0. Go-style units plus `d` and `w`,
 * since policies speak in days. Returns undefined for anything else (callers report it their way).
 */
export function parseDuration(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)([smhdw])/g)) {
    total += Number(amount) * (UNIT_SECONDS[unit ?? 's'] ?? 1);
  }
  return total;
}
