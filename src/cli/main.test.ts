import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../test/fixtures/cli.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

describe('modelgate at the top level', () => {
  it.each([['--version'], ['version']])('%s prints the package version and exits 0', async (flag) => {
    const r = await runCli([flag]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(`modelgate ${pkg.version}\n`);
  });

  it('--help names --version', async () => {
    expect((await runCli(['--help'])).out).toContain('modelgate --version');
  });
});
