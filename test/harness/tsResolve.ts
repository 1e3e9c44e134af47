/**
 * `node --import ./test/harness/tsResolve.ts script.ts`: lets Node's built-in type stripping run
 * the harness directly (the demo) by resolving the `./x.js` specifiers TypeScript wants to the
 * `./x.ts` files that exist, without a compile step.
 */
import { registerHooks } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.startsWith('file:')) {
      const ts = new URL(specifier.replace(/\.js$/, '.ts'), context.parentURL);
      if (
        existsSync(fileURLToPath(ts)) &&
        !existsSync(fileURLToPath(new URL(specifier, context.parentURL)))
      ) {
        return nextResolve(ts.href, context);
      }
    }
    return nextResolve(specifier, context);
  },
});
