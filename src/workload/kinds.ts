/** Where each pod-creating kind keeps its pod template. */

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
