import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MAX_VERIFY_ARGS, parseVerifyArgs, VERIFY_ENTRYPOINT } from './verify-command.js';

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

  it('refuses more than MAX_VERIFY_ARGS arguments at once (node parseArgs is quadratic beyond ~16k)', () => {
    // ~240k strings is what a pod spec can carry under decode's bounds: 4 s+ inside parseArgs.
    const hostile = ['/m', ...Array.from({ length: 240_000 }, () => 'x')];
    const t0 = performance.now();
    const parsed = parseVerifyArgs(hostile);
    expect(performance.now() - t0).toBeLessThan(50);
    expect(parsed.ok ? '' : parsed.message).toBe(`240001 arguments, more than ${MAX_VERIFY_ARGS}`);
  });

  it('still takes a 10,000-file model, one --sha256 per file (30,000 arguments)', () => {
    const files = Array.from({ length: 10_000 }, (_, i) => `/models/t${i}.json`);
    const args = [...files, ...files.flatMap(() => ['--sha256', 'a'.repeat(64)])];
    const parsed = parseVerifyArgs(args);
    expect(parsed.ok && parsed.positionals.length).toBe(10_000);
  });
});
