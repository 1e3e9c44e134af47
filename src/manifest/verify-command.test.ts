import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_VERIFY_ARGS, parseVerifyArgs, VERIFY_ENTRYPOINT, VERIFY_OPTIONS } from './verify-command.js';

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

  it('parses long lists in pieces with exactly the result (or first error) of one parseArgs call', () => {
    // Units that parse, and (sometimes, anywhere) one that does not.
    const unit = fc.constantFrom<string[]>(['/m/a'], ['x', '-'], ['--sha256', 'a'.repeat(64)], ['--sha256=ab'], ['--json'], ['-h'], ['--manifest', '/m/m.json'], ['--key-id', 'k']);
    const bad = fc.constantFrom<string[]>(['--nope'], ['--json=1'], ['-x'], ['--sha256'], ['--sha256', '--json'], ['--'], ['--', '--json']);
    const list = fc
      .tuple(fc.array(unit, { minLength: 2000, maxLength: 6000 }), fc.option(bad, { nil: undefined }), fc.nat())
      .map(([units, err, at]) => {
        if (err !== undefined) units.splice(at % (units.length + 1), 0, err);
        // a list long enough to be cut in pieces (over 4096 tokens)
        return units.flat();
      });
    const once = (args: string[]): unknown => {
      try {
        const { values, positionals } = parseArgs({ args, options: VERIFY_OPTIONS, allowPositionals: true, strict: true });
        return { ok: true, values: { ...values }, positionals };
      } catch (err) {
        return { ok: false, message: (err as Error).message };
      }
    };
    fc.assert(
      fc.property(list, (args) => {
        const got = parseVerifyArgs(args);
        expect(got.ok ? { ...got, values: { ...got.values } } : got).toEqual(once(args));
      }),
      { numRuns: 40 },
    );
  });

  it('a well-formed long list (files, then pins) is parsed in pieces exactly as a whole', () => {
    const files = Array.from({ length: 9000 }, (_, i) => `/models/t${i}.json`);
    const args = [...files, '--json', ...files.flatMap((_, i) => (i % 2 ? ['--sha256', `${i}`] : [`--sha256=${i}`]))];
    const got = parseVerifyArgs(args);
    const whole = parseArgs({ args, options: VERIFY_OPTIONS, allowPositionals: true, strict: true });
    expect(got.ok && got.positionals).toEqual(whole.positionals);
    expect(got.ok && { ...got.values }).toEqual({ ...whole.values });
  });
});
