const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
const DURATION = /^(?:\d+[smhd])+$/;

/**
 * "720h", "30d", "1h30m", "90s" → seconds; "0" → 0. Go-style units plus `d`, since policies speak
 * in days. Returns undefined for anything else (the loader reports it with its position).
 */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  if (!DURATION.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)([smhd])/g)) {
    total += Number(amount) * (UNIT_SECONDS[unit ?? 's'] ?? 1);
  }
  return total;
}
