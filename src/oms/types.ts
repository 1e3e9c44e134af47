/**
 * OpenSSF Model Signing (OMS, the `model_signing` tool): a Sigstore bundle holding a DSSE
 * envelope whose payload is an in-toto Statement listing every file (or shard) with its digest.
 * See docs/manifests.md "OMS bundles".
 */
import type { CompiledSigstoreAuthority } from './sigstore.js';
import type { KeyObject, X509Certificate } from 'node:crypto';
import type { Obj } from '../json/object.js';
import type { Result } from '../manifest/types.js';

/** How the bundle proves who signed: a bare public key, an X.509 chain, or Sigstore (Fulcio + Rekor). */
export type OmsMethod = 'key' | 'certificate' | 'sigstore';
export const OMS_METHODS: readonly OmsMethod[] = ['key', 'certificate', 'sigstore'];

/** A parsed bundle: every field typed and bounded; nothing in it is trusted yet. */
export interface OmsBundle {
  method: OmsMethod;
  /** key method: sha256 of the signer's SPKI PEM. Unsigned: used only to try the matching key first. */
  publicKeyHint?: string;
  /** DER certificates as the bundle lists them (certificate method: leaf first; sigstore: the one leaf). */
  certificates: Buffer[];
  envelope: DsseEnvelope;
  /** The bundle object as parsed, for the sigstore method's verifier (tlog entries, timestamps). */
  raw: Obj;
}

export interface DsseEnvelope {
  payloadType: string;
  /** The payload bytes exactly as signed (decoded from base64; never re-serialized). */
  payload: Buffer;
  signature: Buffer;
}

export interface OmsResource {
  /** As signed: a file path, "." for a single-file model, or `path:start:end` for a shard. */
  name: string;
  /** The file the resource is (part of): name without the shard range. */
  file: string;
  algorithm: string;
  digest: string;
  /** Shards only: the byte range [start, end). */
  start?: number;
  end?: number;
}

export interface OmsSerialization {
  method: 'files' | 'shards';
  hashType: string;
  shardSize?: number;
  ignorePaths: string[];
  allowSymlinks: boolean;
}

/** The in-toto Statement with the model_signing predicate, after validation. */
export interface OmsStatement {
  /** subject[0].name: the model directory's (or single file's) base name. */
  name: string;
  serialization: OmsSerialization;
  resources: OmsResource[];
}

/** A policy trust authority (policy `omsAuthorities`); its name is the model's keyId. */
export type OmsAuthority = OmsKeyAuthority | OmsCertificateAuthority | OmsSigstoreAuthority;

export interface OmsKeyAuthority {
  name: string;
  method: 'key';
  /** EC P-256/384/521 public keys. */
  publicKeys: KeyObject[];
}

export interface OmsCertificateAuthority {
  name: string;
  method: 'certificate';
  /** Trust anchors: root or intermediate CA certificates a leaf must chain to. */
  roots: X509Certificate[];
  /** Accepted signer identities, compared exactly with the leaf's SAN entries (email, URI, DNS). */
  identities: string[];
}

/** A sigstore authority: a trusted root and exact signers, compiled once at policy load (src/oms/sigstore.ts). */
export interface OmsSigstoreAuthority {
  name: string;
  method: 'sigstore';
  /** The trusted root, compiled, and the signers as {subject, issuer}, each compared exactly. */
  sigstore: CompiledSigstoreAuthority;
}

/** What a signature method proved: the signed payload bytes and who signed them. */
export interface SignerProof {
  payload: Buffer;
  /** The matched identity (certificate/sigstore: the SAN; key: absent). */
  identity?: string;
  issuer?: string;
  /**
   * RFC 3339: when it was signed, only from a signed source (a transparency log or timestamp,
   * the sigstore method). Never a certificate's notBefore: the chain is not signed, and a renewed
   * certificate of the same key would re-date an old signature.
   */
  signedAt?: string;
}

/**
 * The sigstore method, written separately (src/oms/sigstore.ts `verifySigstoreEnvelope`): checks
 * the Fulcio certificate, the Rekor entry and the DSSE signature, and returns the signed payload.
 */
export type SigstoreVerifier = (bundle: OmsBundle, authority: OmsSigstoreAuthority, now: Date) => Result<SignerProof>;

/** Statement facts a rule's `oms` limits look at (kept on the VerifiedModel). */
export interface OmsFacts {
  method: OmsMethod;
  serialization: 'files' | 'shards';
  hashType: string;
  ignorePaths: string[];
  allowSymlinks: boolean;
  identity?: string;
  /** sha256 of the verified DSSE payload: what the OMS verify step pins (--oms-payload-sha256). */
  payloadSha256: string;
  /** The resources as signed (shards included), for the verify step. */
  resources: OmsResource[];
}
