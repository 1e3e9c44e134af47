/**
 * Differential test of the sigstore method against the reference implementation: the OpenSSF
 * Model Signing tool itself (`python -m model_signing verify sigstore`, model_signing 1.1.1 on
 * sigstore-python), given the private test instance's trusted root as a client trust config.
 * For each case both must agree: accept the same bundles, refuse the same bundles.
 *
 * Needs a Python venv with model_signing: $OMS_VENV, else .tools/oms-venv (hack/oms-venv.sh
 * makes it). Skipped when absent.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSigstoreAuthority, verifySigstoreEnvelope } from '../../src/oms/sigstore.js';
import {
  makeCa,
  makeInstance,
  modelStatement,
  signModel,
  type SigstoreInstance,
  type SignOptions,
} from '../fixtures/sigstore.js';

const VENV = process.env.OMS_VENV ?? new URL('../../.tools/oms-venv', import.meta.url).pathname;
const PYTHON = join(VENV, 'bin', 'python');
const run = promisify(execFile);

const ID = 'ml-release@example.com';
const ISSUER = 'https://accounts.example.com';
const FILES: Record<string, Buffer> = {
  'config.json': Buffer.from('{"architectures":["Tiny"]}\n'),
  'model.safetensors': Buffer.from('weights\n'),
};

let dir: string;
let inst: SigstoreInstance;

/** A ClientTrustConfig (sigstore protobuf-specs) naming the private instance. */
function trustConfig(root: unknown): unknown {
  const svc = (host: string) => [
    {
      url: `https://${host}.modelgate-test.test`,
      majorApiVersion: 1,
      validFor: { start: '2020-01-01T00:00:00Z' },
      operator: 'modelgate-test',
    },
  ];
  return {
    mediaType: 'application/vnd.dev.sigstore.clienttrustconfig.v0.1+json',
    trustedRoot: root,
    signingConfig: {
      mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json',
      caUrls: svc('fulcio'),
      oidcUrls: svc('oauth2'),
      rekorTlogUrls: svc('rekor'),
      tsaUrls: svc('tsa'),
      rekorTlogConfig: { selector: 'ANY' },
      tsaConfig: { selector: 'ANY' },
    },
  };
}

async function modelSigning(bundle: unknown, identity: string, issuer: string): Promise<string> {
  const sig = join(dir, `model-${Math.random().toString(36).slice(2)}.sig`);
  writeFileSync(sig, JSON.stringify(bundle));
  try {
    const args = [
      '-m',
      'model_signing',
      'verify',
      'sigstore',
      '--trust_config',
      join(dir, 'trust_config.json'),
    ];
    args.push('--identity', identity, '--identity_provider', issuer, '--signature', sig, join(dir, 'model'));
    const { stdout, stderr } = await run(PYTHON, args, { timeout: 60_000 });
    return /Verification succeeded/.test(stdout + stderr) ? 'ok' : `unexpected output: ${stdout}${stderr}`;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    const said = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim().split('\n').pop() ?? String(err);
    return `refused: ${said.slice(0, 300)}`;
  } finally {
    rmSync(sig, { force: true });
  }
}

function ours(bundle: unknown, identity: string, issuer: string): string {
  const a = loadSigstoreAuthority({
    name: 'private',
    trustedRoot: inst.trustedRoot,
    identities: [{ subject: identity, issuer }],
  });
  if (!a.ok) throw new Error(a.problem.message);
  const r = verifySigstoreEnvelope(bundle, a.value, { cache: false });
  return r.ok ? 'ok' : r.problem.code;
}

describe.skipIf(!existsSync(PYTHON))(
  'the sigstore method agrees with model_signing (reference implementation)',
  () => {
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'mg-oms-sigstore-'));
      inst = makeInstance('modelgate-test');
      mkdirSync(join(dir, 'model'));
      for (const [name, bytes] of Object.entries(FILES)) writeFileSync(join(dir, 'model', name), bytes);
      writeFileSync(join(dir, 'trust_config.json'), JSON.stringify(trustConfig(inst.trustedRoot)));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    const payload = (): Buffer => modelStatement('model', FILES);
    const at = new Date();
    it.each<[string, () => Partial<SignOptions>, string, string, string]>([
      [
        'a valid bundle (SET, proof, SCT, TSA), exact identity',
        () => ({ timestamp: { at } }),
        ID,
        ISSUER,
        'ok',
      ],
      [
        'a prefix of the identity as policy',
        () => ({}),
        'ml-release@example.co',
        ISSUER,
        'identity-mismatch',
      ],
      ['another issuer', () => ({}), ID, `${ISSUER}.evil.test`, 'issuer-mismatch'],
      [
        'a tlog entry for another envelope',
        () => ({ entryFor: signModel(inst, { identity: ID, issuer: ISSUER }).envelope }),
        ID,
        ISSUER,
        'tlog-entry-mismatch',
      ],
      [
        'a certificate from a CA outside the root',
        () => ({ ca: makeCa('rogue', 'rogue-intermediate', makeCa('rogue', 'rogue-root')) }),
        ID,
        ISSUER,
        'sigstore-untrusted-root',
      ],
      [
        'a certificate expired at the integrated time',
        () => ({
          at,
          leaf: {
            notBefore: new Date(at.getTime() - 20 * 60_000),
            notAfter: new Date(at.getTime() - 10 * 60_000),
          },
        }),
        ID,
        ISSUER,
        'sigstore-cert-expired',
      ],
      ['no tlog entry', () => ({ tlog: false, timestamp: { at } }), ID, ISSUER, 'tlog-missing'],
      [
        "a tlog entry recording another signer's certificate",
        () => ({ entryCert: signModel(inst, { identity: 'mallory@example.com', issuer: ISSUER }).cert }),
        ID,
        ISSUER,
        'tlog-entry-mismatch',
      ],
    ])(
      '%s: model_signing and modelgate agree',
      async (_, options, identity, issuer, code) => {
        const { bundle } = signModel(inst, {
          identity: ID,
          issuer: ISSUER,
          payload: payload(),
          ...options(),
        });
        const theirs = await modelSigning(bundle, identity, issuer);
        expect([
          ours(bundle, identity, issuer),
          code === 'ok' ? theirs : /^refused: Verification failed/.test(theirs),
        ]).toEqual([code, code === 'ok' ? 'ok' : true]);
      },
      90_000,
    );

    it('model_signing also refuses a tampered payload that modelgate names signature-invalid', async () => {
      const { bundle } = signModel(inst, { identity: ID, issuer: ISSUER, payload: payload() });
      const b = structuredClone(bundle) as { dsseEnvelope: { payload: string } };
      b.dsseEnvelope.payload = modelStatement('model', { ...FILES, 'extra.bin': Buffer.from('x') }).toString(
        'base64',
      );
      expect(ours(b, ID, ISSUER)).toBe('signature-invalid');
      expect(await modelSigning(b, ID, ISSUER)).toMatch(/^refused: Verification failed/);
    }, 90_000);
  },
);
