/** Where each pod-creating kind keeps its pod template. */

export const ANNOTATION = {
  manifest: 'modelgate.dev/manifest',
  manifestConfigMap: 'modelgate.dev/manifest-configmap',
  manifestVolume: 'modelgate.dev/manifest-volume',
  approvedBy: 'modelgate.dev/approved-by',
} as const;

export const INFERENCE_LABEL = 'modelgate.dev/inference';

/** Field path of the pod template for each kind this webhook checks ("" = the object is the pod). */
export const TEMPLATE_PATHS: Readonly<Record<string, readonly string[]>> = {
  Pod: [],
  Deployment: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

export function isPodCreatingKind(kind: string): boolean {
  return Object.hasOwn(TEMPLATE_PATHS, kind);
}
