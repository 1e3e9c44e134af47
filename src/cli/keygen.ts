/**
 * `modelgate keygen`: a key pair for public-key signing (or a fresh HMAC secret). The private key
 * stays with CI (mode 0600, never printed); the public key, in a file named exactly as the key id,
 * is what goes into the cluster's keys Secret.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { lstat, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ALGORITHM_OF, type KeyType } from '../keys/algorithms.js';
import { isValidKeyId } from '../keys/keyring.js';
import { parseFlags } from './args.js';
import type { CliIO, Command } from './types.js';
import { UsageError } from './types.js';

const HELP = `usage: modelgate keygen --type ec-p256|ec-p384|ec-p521|ed25519|hmac --key-id ID [--out-dir D] [--json]

Writes a new signing key. Exit 0 ok, 2 bad input. Never overwrites a file.
  --type T      ec-p256 (ECDSA-P256-SHA256), ec-p384 (ECDSA-P384-SHA384),
                ec-p521 (ECDSA-P521-SHA512), ed25519 (Ed25519): a key pair; or
                hmac: a 32-byte shared secret (HMAC-SHA256; it can sign: prefer a key pair)
  --key-id ID   the key's id: its file name in the cluster's keys Secret ([A-Za-z0-9._-])
  --out-dir D   where to write (default: the current directory; created, mode 0700)
  --json        print the written paths as JSON

Key pair: D/ID.private.pem  the private key (PEM PKCS#8, mode 0600): keep it in CI's secret
                            store; it is never printed and never goes into the cluster
          D/ID              the public key (PEM "PUBLIC KEY"): put it in the keys Secret
HMAC:     D/ID              the secret (64 hex characters, mode 0600): in the keys Secret AND in CI
Then: modelgate sign MODEL --format v2 --key-file D/ID.private.pem --key-id ID ...
`;

const OPTIONS = {
  type: { type: 'string' },
  'key-id': { type: 'string' },
  'out-dir': { type: 'string', default: '.' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

const KEY_TYPES: readonly KeyType[] = ['ec-p256', 'ec-p384', 'ec-p521', 'ed25519', 'hmac'];
const CURVES = { 'ec-p256': 'P-256', 'ec-p384': 'P-384', 'ec-p521': 'P-521' } as const;

function keyPair(type: Exclude<KeyType, 'hmac'>): { privateKey: KeyObject; publicKey: KeyObject } {
  return type === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: CURVES[type] });
}

async function mustNotExist(path: string): Promise<void> {
  const there = await lstat(path).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw new UsageError(`cannot check ${path}: ${err.code ?? 'error'}`);
    },
  );
  if (there) throw new UsageError(`${path} exists: keygen never overwrites a key (choose another --key-id or --out-dir)`);
}

/** Exclusive create ('wx'): a file that appeared since the check is not overwritten either. */
async function writeNew(path: string, text: string, mode: number): Promise<void> {
  await writeFile(path, text, { mode, flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot write ${path}: ${err.code ?? err.message}`);
  });
}

interface Written {
  keyId: string;
  type: KeyType;
  algorithm: string;
  /** The file that goes in the keys Secret under the key id. */
  secretFile: string;
  /** The file CI signs with (the same file for HMAC). */
  signingKeyFile: string;
}

async function writeKeys(type: KeyType, keyId: string, dir: string): Promise<Written> {
  const publicFile = join(dir, keyId);
  const algorithm = ALGORITHM_OF[type];
  if (type === 'hmac') {
    await mustNotExist(publicFile);
    await writeNew(publicFile, `${randomBytes(32).toString('hex')}\n`, 0o600);
    return { keyId, type, algorithm, secretFile: publicFile, signingKeyFile: publicFile };
  }
  const privateFile = join(dir, `${keyId}.private.pem`);
  await mustNotExist(privateFile);
  await mustNotExist(publicFile);
  const { privateKey, publicKey } = keyPair(type);
  await writeNew(privateFile, privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, 0o600);
  try {
    await writeNew(publicFile, publicKey.export({ format: 'pem', type: 'spki' }) as string, 0o644);
  } catch (err) {
    await rm(privateFile, { force: true }); // no private key without its public half
    throw err;
  }
  return { keyId, type, algorithm, secretFile: publicFile, signingKeyFile: privateFile };
}

function report(w: Written): string {
  const secretLine = `kubectl -n modelgate create secret generic modelgate-keys --from-file=${w.keyId}=${w.secretFile}`;
  const sign = `modelgate sign MODEL --format v2 --key-file ${w.signingKeyFile} --key-id ${w.keyId} --version V --source S`;
  const head =
    w.type === 'hmac'
      ? [
          `wrote ${w.secretFile} (HMAC-SHA256 shared secret, mode 0600): it goes in the keys Secret AND in CI;`,
          '  whoever can read the keys Secret can sign with it. Prefer --type ec-p256 or ed25519.',
        ]
      : [
          `wrote ${w.signingKeyFile} (private key, ${w.algorithm}, PEM PKCS#8, mode 0600): keep it in CI's secret store, never in the cluster`,
          `wrote ${w.secretFile} (public key): put it in the webhook's keys Secret as "${w.keyId}" (verify-only: it cannot sign)`,
        ];
  return [
    ...head,
    'keys Secret (or add the entry to your existing one, e.g. with --dry-run=client -o yaml | kubectl apply -f -):',
    `  ${secretLine}`,
    'sign:',
    `  ${sign}`,
    '',
  ].join('\n');
}

export const keygen: Command = async (args: string[], io: CliIO) => {
  const values = parseFlags(args, OPTIONS);
  if (values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  const type = values.type;
  if (type === undefined || !(KEY_TYPES as readonly string[]).includes(type))
    throw new UsageError(`--type ${type ?? '(missing)'}: use one of ${KEY_TYPES.join(', ')}`);
  const keyId = values['key-id'];
  if (keyId === undefined || !isValidKeyId(keyId))
    throw new UsageError(`--key-id ${keyId === undefined ? '(missing)' : JSON.stringify(keyId)}: the key's id, [A-Za-z0-9._-], 1-253 characters`);
  const outDir = values['out-dir'];
  await mkdir(outDir, { recursive: true, mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot create --out-dir ${outDir}: ${err.code ?? err.message}`);
  });
  const written = await writeKeys(type as KeyType, keyId, outDir);
  io.stdout.write(values.json ? `${JSON.stringify(written)}\n` : report(written));
  return 0;
};
