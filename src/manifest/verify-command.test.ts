import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseVerifyArgs, VERIFY_ENTRYPOINT } from './verify-command.js';

describe('the verify grammar', () => {
  it("names the image's real entrypoint: the Dockerfile's ENTRYPOINT, exactly", () => {
    const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
    const line = dockerfile.split('\n').find((l) => l.startsWith('ENTRYPOINT '));
    expect(JSON.parse(line!.slice('ENTRYPOINT '.length))).toEqual(VERIFY_ENTRYPOINT);
  });

  it.each([
    ['an unknown flag', ['/m', '--sha256', 'a', '--nope']],
    ['a flag without its value', ['/m', '--sha256']],
  ])('refuses %s with a message, never a throw', (_, args) => {
    const parsed = parseVerifyArgs(args);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.message).not.toBe('');
  });

  it('pairs files and pins in order, as the CLI runs them', () => {
    const parsed = parseVerifyArgs(['/a', '/b', '--sha256', 'x', '--sha256=y']);
    expect(parsed.ok && parsed.positionals).toEqual(['/a', '/b']);
    expect(parsed.ok && parsed.values.sha256).toEqual(['x', 'y']);
  });
});
