/**
 * Real OpenSSF Model Signing bundles for tests: models signed by `model_signing` 1.1.1 from the
 * venv hack/oms-venv.sh makes (.tools/oms-venv), with EC keys from node:crypto and a CA chain made
 * with the openssl CLI. Without the venv the OMS suites skip loudly, except under CI=true, where
 * they fail (CI must run them: .ci/run and `make test` create the venv first).
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('../..', import.meta.url).pathname;
export const OMS_PYTHON = process.env.OMS_VENV
  ? join(process.env.OMS_VENV, 'bin', 'python')
  : join(ROOT, '.tools', 'oms-venv', 'bin', 'python');

/** Whether the suites that sign with model_signing run here; logs loudly when they do not. */
export function omsToolAvailable(): boolean {
  if (existsSync(OMS_PYTHON)) return true;
  if (process.env.CI) throw new Error(`CI: ${OMS_PYTHON} is missing: run hack/oms-venv.sh (make test does)`);
  console.warn(
    `\n!!! SKIPPING the OMS (model_signing) tests: ${OMS_PYTHON} is missing. Run: bash hack/oms-venv.sh !!!\n`,
  );
  return false;
}

export function tempDir(prefix = 'oms-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Write files (relative path → content) under a new model directory. */
export function makeModel(files: Record<string, string | Buffer>, dir = join(tempDir(), 'model')): string {
  for (const [rel, content] of Object.entries(files)) {
    const p = join(dir, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, content);
  }
  return dir;
}

export interface EcKey {
  privatePath: string;
  publicPem: string;
}

export function ecKey(curve: 'P-256' | 'P-384' | 'P-521' = 'P-256', dir = tempDir('oms-key-')): EcKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
  const privatePath = join(dir, 'signing-key.pem');
  writeFileSync(privatePath, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  return { privatePath, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

export interface Pki {
  dir: string;
  rootPem: string;
  intermediatePem: string;
  /** Issue a leaf under the intermediate: its key and certificate paths. */
  leaf(opts?: LeafOptions): { key: string; cert: string; pem: string };
}

export interface LeafOptions {
  name?: string;
  /** Extra extension lines for the leaf (openssl x509v3 config syntax). */
  extra?: string[];
  /** Issue it under this CA (name of its .pem/.key in the PKI dir) instead of the intermediate. */
  issuer?: string;
  san?: string;
  ca?: boolean;
  keyUsage?: string;
  extKeyUsage?: string | null;
  days?: number;
}

/** A root CA and an intermediate (openssl), which issue leaves on demand. */
export function makePki(dir = tempDir('oms-pki-')): Pki {
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'root.key'], dir);
  openssl(['req', '-x509', '-new', '-key', 'root.key', '-subj', '/CN=test root', '-days', '30', '-out', 'root.pem',
    '-addext', 'basicConstraints=critical,CA:true', '-addext', 'keyUsage=critical,keyCertSign'], dir);
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'int.key'], dir);
  openssl(['req', '-new', '-key', 'int.key', '-subj', '/CN=test intermediate', '-out', 'int.csr'], dir);
  writeFileSync(join(dir, 'int.ext'), 'basicConstraints=critical,CA:true,pathlen:0\nkeyUsage=critical,keyCertSign\n');
  openssl(['x509', '-req', '-in', 'int.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial',
    '-days', '30', '-out', 'int.pem', '-extfile', 'int.ext'], dir);
  let n = 0;
  return {
    dir,
    rootPem: readFileSync(join(dir, 'root.pem'), 'utf8'),
    intermediatePem: readFileSync(join(dir, 'int.pem'), 'utf8'),
    leaf(opts: LeafOptions = {}) {
      const name = opts.name ?? `leaf${++n}`;
      openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`], dir);
      openssl(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-out', `${name}.csr`], dir);
      const ext = [
        `basicConstraints=critical,CA:${opts.ca ? 'true' : 'false'}`,
        `keyUsage=critical,${opts.keyUsage ?? 'digitalSignature'}`,
        opts.extKeyUsage === null ? '' : `extendedKeyUsage=${opts.extKeyUsage ?? 'codeSigning'}`,
        `subjectAltName=${opts.san ?? 'email:ci@example.com,URI:https://ci.example.com/pipeline'}`,
        ...(opts.extra ?? []),
      ].filter((l) => l !== '');
      const issuer = opts.issuer ?? 'int';
      writeFileSync(join(dir, `${name}.ext`), `${ext.join('\n')}\n`);
      openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`, '-CAcreateserial',
        '-days', String(opts.days ?? 30), '-out', `${name}.pem`, '-extfile', `${name}.ext`], dir);
      const cert = join(dir, `${name}.pem`);
      return { key: join(dir, `${name}.key`), cert, pem: readFileSync(cert, 'utf8') };
    },
  };
}

export interface SignOptions {
  /** key method: the private key; certificate method: with cert and chain. */
  key: string;
  cert?: string;
  chain?: string[];
  shardSize?: number;
  ignorePaths?: string[];
  allowSymlinks?: boolean;
  /** Where the bundle goes; default beside the model. */
  signature?: string;
}

/**
 * Sign with model_signing's CLI (`python -m model_signing sign key|certificate`), or with its
 * Python API for shards (the 1.1.1 CLI has no shard option). Returns the bundle's text.
 */
export function signModel(model: string, opts: SignOptions): string {
  const signature = opts.signature ?? `${model}.sig`;
  if (opts.shardSize !== undefined) return signSharded(model, signature, opts);
  const method = opts.cert === undefined ? 'key' : 'certificate';
  const args = ['-m', 'model_signing', 'sign', method, model, '--private_key', opts.key, '--signature', signature];
  if (opts.cert !== undefined) args.push('--signing_certificate', opts.cert);
  for (const c of opts.chain ?? []) args.push('--certificate_chain', c);
  for (const p of opts.ignorePaths ?? []) args.push('--ignore-paths', p);
  if (opts.allowSymlinks) args.push('--allow_symlinks');
  execFileSync(OMS_PYTHON, args, { stdio: 'pipe' });
  return readFileSync(signature, 'utf8');
}

const SHARD_SCRIPT = `
import json, pathlib, sys
from model_signing import hashing, signing
a = json.loads(sys.argv[1])
hc = hashing.Config().use_shard_serialization(shard_size=a['shardSize'])
s = signing.Config().set_hashing_config(hc)
if a.get('cert'):
    s = s.use_certificate_signer(private_key=a['key'], signing_certificate=a['cert'], certificate_chain=a.get('chain') or [])
else:
    s = s.use_elliptic_key_signer(private_key=a['key'])
s.sign(pathlib.Path(a['model']), pathlib.Path(a['signature']))
`;

function signSharded(model: string, signature: string, opts: SignOptions): string {
  execFileSync(OMS_PYTHON, ['-c', SHARD_SCRIPT, JSON.stringify({ ...opts, model, signature })], { stdio: 'pipe' });
  return readFileSync(signature, 'utf8');
}

/** model_signing's own verdict on a bundle (true: it verifies). */
export function modelSigningVerifies(model: string, signature: string, by: { publicKey?: string; rootCert?: string }): boolean {
  const args = by.publicKey !== undefined
    ? ['-m', 'model_signing', 'verify', 'key', model, '--signature', signature, '--public_key', by.publicKey]
    : ['-m', 'model_signing', 'verify', 'certificate', model, '--signature', signature, '--certificate_chain', by.rootCert ?? ''];
  try {
    execFileSync(OMS_PYTHON, args, { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/** A bundle with its DSSE payload (the statement) rewritten by `edit`; the signature is kept. */
export function withPayload(bundleText: string, edit: (statement: any) => void): string {
  const b = JSON.parse(bundleText);
  const statement = JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString('utf8'));
  edit(statement);
  b.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement), 'utf8').toString('base64');
  return JSON.stringify(b);
}

export function statementOf(bundleText: string): any {
  const b = JSON.parse(bundleText);
  return JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString('utf8'));
}
