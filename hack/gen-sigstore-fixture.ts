/**
 * Writes a private Sigstore instance and one model signed through it, for manual checks and
 * end-to-end tests of the OMS sigstore method (no network):
 *
 *   node hack/gen-sigstore-fixture.ts OUTDIR [IDENTITY] [ISSUER]
 *
 * OUTDIR/trusted_root.json   the instance's trusted root (Fulcio-like CA, Rekor-like log, CT log, TSA)
 * OUTDIR/model/...           two small model files
 * OUTDIR/model.sig           their model_signing-shaped bundle (DSSE, in-toto v1,
 *                            predicateType https://model_signing/signature/v1.0), logged with a
 *                            SET, inclusion proof and checkpoint, plus an RFC 3161 timestamp
 * OUTDIR/authority.json      {name, trustedRoot: "trusted_root.json", identities: [{subject, issuer}]}
 *
 * The keys live only in this process: every run makes a new instance. Erasable TypeScript only,
 * so Node runs it by stripping types.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

type Fixtures = typeof import('../test/fixtures/sigstore.js');

async function main(): Promise<void> {
  const [out, identity = 'ml-release@example.com', issuer = 'https://accounts.example.com'] =
    process.argv.slice(2);
  if (!out) throw new Error('usage: node hack/gen-sigstore-fixture.ts OUTDIR [IDENTITY] [ISSUER]');
  const fx = (await import(new URL('../test/fixtures/sigstore.ts', import.meta.url).href)) as Fixtures;
  const files: Record<string, Buffer> = {
    'config.json': Buffer.from('{"architectures":["Tiny"]}\n'),
    'model.safetensors': Buffer.from('not really weights, but bytes with a digest\n'),
  };
  const inst = fx.makeInstance('modelgate-fixture');
  const at = new Date();
  const signed = fx.signModel(inst, {
    identity,
    issuer,
    at,
    payload: fx.modelStatement('model', files),
    timestamp: { at },
  });
  mkdirSync(join(out, 'model'), { recursive: true });
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(out, 'model', name), bytes);
  writeFileSync(join(out, 'trusted_root.json'), `${JSON.stringify(inst.trustedRoot, null, 2)}\n`);
  writeFileSync(join(out, 'model.sig'), JSON.stringify(signed.bundle));
  const authority = {
    name: 'private-sigstore',
    trustedRoot: 'trusted_root.json',
    identities: [{ subject: identity, issuer }],
  };
  writeFileSync(join(out, 'authority.json'), `${JSON.stringify(authority, null, 2)}\n`);
  console.log(
    `wrote ${out}: trusted_root.json, model/, model.sig (signed by ${identity} via ${issuer}), authority.json`,
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
