const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400 };
const DURATION = /^(?:\d+[smhdw])+$/;

/**
 * "720h", "30d", "2w", "1h30m", "90s" → seconds; "0" → 0. Go-style units plus `d` and `w`
 * (as `modelgate sign --expires-in`), since policies speak in days. Returns undefined for anything else (the loader reports it with its position).
 */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  if (!DURATION.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)([smhdw])/g)) {
    total += Number(amount) * (UNIT_SECONDS[unit ?? 's'] ?? 1);
  }
  return total;
}
