import type { AdmissionResponse } from '../admission/types.js';
import type { Keyring } from '../keys/types.js';
import type { ManifestFormat } from '../manifest/types.js';
import type { Mode } from '../policy/types.js';
import type { ANNOTATIONS } from '../vocabulary/keys.js';
import type { ResolvedManifest } from '../workload/types.js';

export type DecisionOutcome = 'allow' | 'deny' | 'warn' | 'audit';

export interface Reason {
  code: string;
  message: string;
  /** The field of the admitted object it is about (absent for a skip). */
  path?: string;
  /** Where the manifest it is about came from, and the field in it. */
  origin?: string;
}

export interface ModelSummary {
  /** As verified: v1 model_path, v2 name@version, oms the statement's subject name. */
  name: string;
  /** v2 only (signed); v1 manifests have no version. */
  version?: string;
  keyId: string;
  /** The signature algorithm that verified (HMAC-SHA256, ECDSA-P256-SHA256, ..., Ed25519). */
  algorithm?: string;
  format: ManifestFormat;
  /**
   * v1, v2: of the first file the manifest binds. OMS: of the signed DSSE payload, what the verify
   * step pins and what names the whole signed file list (a sharded model binds no whole file).
   */
  sha256: string;
  /** The manifest's signed claims.approvers, when it has them. */
  approvers?: string[];
}

/** Who approved the models: signed claims when every model has them, else the unsigned annotation. */
export interface Approvers {
  names: string[];
  from: 'claims.approvers' | typeof ANNOTATIONS.approvedBy;
}

/** One line of the audit log (the server adds time, level, msg, durationMs). */
export interface AuditRecord {
  uid: string;
  kind: string;
  namespace: string;
  name: string;
  operation: string;
  user: string;
  groups: string[];
  dryRun: boolean;
  decision: DecisionOutcome;
  mode: Mode | 'none';
  rule?: string;
  reasons: Reason[];
  models: ModelSummary[];
  approvers?: Approvers;
  breakGlass?: { user: string; reason: string };
}

export type EventReason = 'ModelRejected' | 'ModelWarning' | 'ModelVerified';

/** The Event the shell should emit (asynchronously, never on dry-run). */
export interface EventIntent {
  reason: EventReason;
  type: 'Normal' | 'Warning';
  note: string;
  /** The object the Event is about; for a denied CREATE this object never came to exist. */
  regarding: { apiVersion: string; kind: string; namespace: string; name: string; uid?: string };
  action: string;
  /**
   * Put on the Event's metadata so `modelgate audit` can filter Events like log lines:
   * the names in EVENT_ANNOTATIONS (vocabulary/keys.ts), written by decision/summary.ts.
   */
  annotations?: Record<string, string>;
}

export interface Decision {
  response: AdmissionResponse;
  record: AuditRecord;
  event?: EventIntent;
  /** When the clock alone can next change this decision (a manifest's expiry or max age). */
  validUntil?: Date;
}

/** What phase two needs besides the plan: the cluster's answers, the keys and the clock. */
export interface DecisionFacts {
  /** Manifests fetched for the plan's refs (annotations need no fetch). */
  resolved: ResolvedManifest[];
  keyring: Keyring;
  now: Date;
}
