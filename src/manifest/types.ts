/** Model manifests: the seed's v1 format, modelgate's own v2, and OMS bundles. See docs/manifests.md. */
import type { OmsBundle, OmsFacts } from '../oms/types.js';
import type { SignatureAlgorithm } from '../keys/algorithms.js';

/**
 * A policy or verification failure, as a value, saying where: `path` is the field of the admitted
 * object (`spec.template.spec.initContainers[0].args`, `metadata.annotations[modelgate.dev/manifest]`,
 * `userInfo.username`); `origin`, for a manifest, is where its text came from and the field in it
 * (`annotation modelgate.dev/manifest:files[0].sha256`, `ConfigMap ml/models key a.json`).
 */
export interface Problem {
  code: string;
  path: string;
  origin?: string;
  message: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; problem: Problem };

/** v1, byte-compatible with the seed article's ModelSecurity.sign_model. */
export interface ManifestV1 {
  model_path: string;
  file_hash: string;
  signature: string;
  signed_at: string;
  file_size: number;
}

export interface ModelFile {
  path: string;
  sha256: string;
  size: number;
}

/** Signed facts from the pipeline. Known names are typed; others are kept as they are. */
export interface Claims {
  /** Security scan result, e.g. "passed" / "failed". */
  scan?: string;
  approvers?: string[];
  dataClassification?: string;
  /** Where the explainability report lives (required for customer-facing models by policy). */
  explainabilityReport?: string;
  customerFacing?: boolean;
  /** Who ran the signing pipeline (CI identity). */
  requester?: string;
  [claim: string]: unknown;
}

export interface ManifestV2 {
  apiVersion: 'modelgate.dev/v1';
  kind: 'ModelManifest';
  model: { name: string; version: string; source: string };
  files: ModelFile[];
  claims: Claims;
  signedAt: string;
  expiresAt?: string;
  /** value: lowercase hex for HMAC-SHA256, base64 for the public-key algorithms (src/keys/algorithms.ts). */
  signature: { algorithm: SignatureAlgorithm; keyId: string; value: string };
}

export type Manifest =
  | { format: 'v1'; body: ManifestV1 }
  | { format: 'v2'; body: ManifestV2 }
  /** An OpenSSF Model Signing (model_signing) Sigstore bundle, parsed but not yet verified. */
  | { format: 'oms'; body: OmsBundle };

export type ManifestFormat = Manifest['format'];

/** A file a verified model binds; OMS statements carry no sizes. */
export type VerifiedFile = Omit<ModelFile, 'size'> & { size?: number };

/** What a verified manifest proves: which key matched which bytes, kept apart from policy. */
export interface VerifiedModel {
  format: ManifestFormat;
  /** v1: model_path; v2: model.name@version; oms: the statement's subject name. */
  name: string;
  /** v2: model.version (signed); v1 has none. */
  version?: string;
  /** The key id; for OMS the name of the policy trust authority (omsAuthorities) that verified it. */
  keyId: string;
  /** The signature algorithm that verified (v1: always HMAC-SHA256). */
  algorithm?: SignatureAlgorithm;
  /** sha256 of each file the manifest binds (OMS shards: none, see oms.resources). */
  files: VerifiedFile[];
  source?: string;
  claims: Claims;
  /**
   * When it was signed, as the manifest says. OMS: absent for the key and certificate methods,
   * which sign no time (a certificate's notBefore dates the certificate, not the signature).
   */
  signedAt?: string;
  expiresAt?: string;
  /** OMS only: the signed statement's serialization and the signer's identity, for policy limits. */
  oms?: OmsFacts;
  /** Where the manifest came from (annotation, configmap ns/name/key, volume). */
  origin: string;
  /** The field of the admitted object that references the manifest (set by the decision). */
  path?: string;
  /** Accepted, but worth saying (e.g. v1's signature binds only the hash: code `v1-weak-binding`). */
  warnings?: Problem[];
}
