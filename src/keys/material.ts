/**
 * What a key file holds: an HMAC shared secret or a PEM public key (verification only). A private
 * key is refused wherever keys are loaded for verifying (the webhook, `verify`, `review`): the
 * webhook must not be able to sign. Only `modelgate sign` reads private keys (src/keys/signer.ts).
 *
 * Anything that looks like a key in some public format (any PEM block, a DER key, an OpenSSH or
 * JWK public key) is never taken as HMAC bytes: an HMAC secret that is public text would let
 * anyone who can read the public key forge signatures.
 */
import { createHash, createPrivateKey, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import type { PublicKeyType } from './algorithms.js';

/** A key could not be loaded. The message names the key id or file, never its content. */
export class KeyLoadError extends Error {
  override name = 'KeyLoadError';
}

export type ParsedKey =
  | { type: 'hmac'; key: KeyObject }
  | { type: PublicKeyType; key: KeyObject; /** sha256 of the SPKI DER, hex: public, names the key. */ digest: string };

const PEM_MARK = '-----BEGIN ';
const PEM_LABEL_RE = /-----BEGIN ([A-Z0-9 ]{1,40})-----/g;
/** One block, nothing around it but trailing whitespace; lines of 1-80 base64 characters. */
const PEM_BLOCK_RE = /^-----BEGIN ([A-Z0-9 ]{1,40})-----\r?\n((?:[A-Za-z0-9+/=]{1,80}\r?\n)+)-----END \1-----\s*$/;
const OPENSSH_PUBLIC_RE = /^(?:ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-nistp\d{3}|sk-[a-z0-9@.-]+) [A-Za-z0-9+/]/;
const JWK_RE = /^\s*\{[\s\S]*"kty"\s*:/;

const CURVES: Readonly<Record<string, PublicKeyType>> = { prime256v1: 'ec-p256', secp384r1: 'ec-p384', secp521r1: 'ec-p521' };
const SUPPORTED = 'EC P-256, P-384, P-521 or Ed25519 (modelgate keygen --type ec-p256)';

function refuse(id: string, why: string): never {
  throw new KeyLoadError(`key "${id}" ${why}`);
}

/** The key type of an EC key on a supported curve (P-256/384/521), else undefined. */
export function ecKeyType(key: KeyObject): PublicKeyType | undefined {
  if (key.asymmetricKeyType !== 'ec') return undefined;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return curve !== undefined && Object.hasOwn(CURVES, curve) ? CURVES[curve] : undefined;
}

/** The public key type of an asymmetric KeyObject (public or private), or a refusal naming the id. */
export function publicKeyTypeOf(id: string, key: KeyObject): PublicKeyType {
  const kind = key.asymmetricKeyType ?? 'unknown';
  if (kind === 'ed25519') return 'ed25519';
  if (kind === 'rsa' || kind === 'rsa-pss') refuse(id, `is an RSA key: RSA is not supported, use ${SUPPORTED}`);
  if (kind !== 'ec') refuse(id, `is a ${kind} key: not supported, use ${SUPPORTED}`);
  const curve = key.asymmetricKeyDetails?.namedCurve ?? 'explicit parameters';
  const type = Object.hasOwn(CURVES, curve) ? CURVES[curve] : undefined;
  if (type === undefined) refuse(id, `is an EC key on curve ${curve}: not supported, use ${SUPPORTED}`);
  return type;
}

function privateKeyRefusal(id: string, label: string): never {
  refuse(
    id,
    `is a private key (PEM "${label}"): keys loaded for verifying must not be able to sign. ` +
      'Put the public key there instead (the .pub half: the file `modelgate keygen` named after the key id, or `openssl pkey -in KEY -pubout`)',
  );
}

/** The DER inside a file that is exactly one PEM block labelled `label`, or a refusal. */
export function pemBody(id: string, text: string, label: string): Buffer {
  const labels = [...text.matchAll(PEM_LABEL_RE)].map((m) => m[1] as string);
  if (labels.length !== 1) refuse(id, `holds ${labels.length} PEM blocks: one key per file`);
  const m = PEM_BLOCK_RE.exec(text);
  if (m === null || m[1] !== label) refuse(id, `is not a well-formed PEM "${label}" block (one block, nothing before it)`);
  return Buffer.from((m[2] as string).replace(/\r?\n/g, ''), 'base64');
}

function parsePublicPem(id: string, text: string): ParsedKey {
  const der = pemBody(id, text, 'PUBLIC KEY');
  let key: KeyObject;
  try {
    key = createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch {
    refuse(id, 'is a PEM "PUBLIC KEY" block whose content is not a valid SubjectPublicKeyInfo');
  }
  const type = publicKeyTypeOf(id, key);
  return { type, key, digest: createHash('sha256').update(der).digest('hex') };
}

function parsePem(id: string, text: string): ParsedKey {
  const label = [...text.matchAll(PEM_LABEL_RE)].at(0)?.[1] ?? 'unknown';
  if (label.includes('PRIVATE KEY')) privateKeyRefusal(id, label);
  if (label === 'PUBLIC KEY') return parsePublicPem(id, text);
  if (label === 'RSA PUBLIC KEY') refuse(id, `is an RSA public key: RSA is not supported, use ${SUPPORTED}`);
  if (label === 'CERTIFICATE') refuse(id, 'is a certificate: put its public key there (openssl x509 -in CERT -pubkey -noout)');
  return refuse(id, `is a PEM "${label}" block: a key file is an HMAC secret or a PEM "PUBLIC KEY" (${SUPPORTED})`);
}

/** DER keys are binary and start with a SEQUENCE; random HMAC bytes essentially never parse as one. */
function derKeyKind(bytes: Buffer): 'public' | 'private' | undefined {
  if (bytes[0] !== 0x30) return undefined;
  const parses = (f: () => unknown): boolean => {
    try {
      f();
      return true;
    } catch {
      return false;
    }
  };
  if (parses(() => createPublicKey({ key: bytes, format: 'der', type: 'spki' }))) return 'public';
  if (parses(() => createPrivateKey({ key: bytes, format: 'der', type: 'pkcs8' }))) return 'private';
  return undefined;
}

/**
 * Parse one key file's content (already minus one trailing newline) for verifying. Throws
 * KeyLoadError naming the id (never the content) for a refused or malformed key.
 */
export function parseVerificationKey(id: string, bytes: Uint8Array): ParsedKey {
  const buf = Buffer.from(bytes);
  if (buf.length === 0) refuse(id, 'is empty');
  const text = buf.toString('latin1');
  if (text.includes(PEM_MARK)) return parsePem(id, text);
  if (OPENSSH_PUBLIC_RE.test(text)) refuse(id, 'is an OpenSSH public key: convert it to PEM (ssh-keygen -e -m PKCS8 -f KEY.pub)');
  if (JWK_RE.test(text)) refuse(id, 'looks like a JWK: put the public key there as PEM "PUBLIC KEY"');
  const der = derKeyKind(buf);
  if (der === 'private') privateKeyRefusal(id, 'DER PKCS#8');
  if (der === 'public') refuse(id, 'is a DER-encoded public key: put it there as PEM (openssl pkey -pubin -inform DER -in KEY)');
  return { type: 'hmac', key: createSecretKey(buf) };
}
