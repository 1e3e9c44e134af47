/** What modelgate reads from a workload object, kind-independent. */

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

/** An init container running `modelgate verify`, and the sha256 it pins (from its args). */
export interface VerifyInit {
  container: string;
  image?: string;
  path: string;
  sha256s: string[];
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
  labels: Record<string, string>;
  /** Annotations: each from workload metadata first, else pod template metadata. */
  annotations: Record<string, string>;
  /** Field path of the pod template (e.g. "spec.template", "spec.jobTemplate.spec.template", "" for a Pod). */
  templatePath: string;
  podSpec: Record<string, unknown> | undefined;
  containers: ContainerInfo[];
  refs: ModelRef[];
  verifyInits: VerifyInit[];
  approvers: string[];
}

/** A manifest text fetched for a ref, or why it could not be. */
export type ResolvedManifest =
  | { origin: string; path: string; text: string }
  | { origin: string; path: string; error: { code: string; message: string } };
