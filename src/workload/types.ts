/** What modelgate reads from a workload object, kind-independent. */
import type { VerifyStep } from './verify-step.js';

/** A reference to manifests that may need the cluster to resolve. */
export type ModelRef =
  | { source: 'annotation'; path: string; text: string }
  | { source: 'configmap'; path: string; name: string; key?: string }
  | {
      source: 'volume';
      path: string;
      volume: string;
      /** ConfigMaps the volume projects; `items` restricts which keys are mounted. */
      configMaps: { name: string; items?: string[] }[];
    }
  | { source: 'invalid'; path: string; message: string };

/** A label set on two levels (e.g. the Deployment and its pod template) to different values. */
export interface LabelConflict {
  name: string;
  /** The level nearer the pod (whose value the pods carry). */
  inner: { path: string; value: string };
  outer: { path: string; value: string };
}

export interface ContainerInfo {
  name: string;
  image: string;
  path: string;
}

export interface Workload {
  kind: string;
  namespace: string;
  name: string;
  /** The labels its pods will carry (the template's, plus names only the levels above it set). */
  labels: Record<string, string>;
  /** Where a level above the pod template contradicts it. */
  labelConflicts: LabelConflict[];
  /**
   * A model-reference annotation (manifest, manifest-configmap, manifest-volume, approved-by) set
   * on two metadata levels to different values: the decision reads the outer one, the pods carry
   * the inner one, so one of them would never be verified. The decision refuses each.
   */
  annotationConflicts: LabelConflict[];
  /** Annotations: each from workload metadata first, else pod template metadata. */
  annotations: Record<string, string>;
  /** Field path of the pod template (e.g. "spec.template", "spec.jobTemplate.spec.template", "" for a Pod). */
  templatePath: string;
  podSpec: Record<string, unknown> | undefined;
  containers: ContainerInfo[];
  refs: ModelRef[];
  /** Init containers that look like `modelgate verify` steps, counted or not. */
  verifySteps: VerifyStep[];
  approvers: string[];
}

/** A manifest text fetched for a ref, or why it could not be. */
export type ResolvedManifest =
  | { origin: string; path: string; text: string }
  | { origin: string; path: string; error: { code: string; message: string } };
