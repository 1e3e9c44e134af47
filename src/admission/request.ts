import { randomUUID } from 'node:crypto';
import { isObject } from '../json/object.js';
import { TEMPLATE_PATHS } from '../workload/kinds.js';
import type { AdmissionRequest, Operation, UserInfo } from './types.js';

/**
 * The AdmissionRequest the API server sends the webhook for an object someone applies, so that
 * `modelgate review` decides a manifest file exactly as the webhook would decide it in the cluster.
 */

/** Where each pod-creating kind lives in the API: the webhook is registered for these, at v1. */
export const RESOURCES: Readonly<Record<string, { group: string; resource: string }>> = {
  Pod: { group: '', resource: 'pods' },
  ReplicationController: { group: '', resource: 'replicationcontrollers' },
  Deployment: { group: 'apps', resource: 'deployments' },
  ReplicaSet: { group: 'apps', resource: 'replicasets' },
  StatefulSet: { group: 'apps', resource: 'statefulsets' },
  DaemonSet: { group: 'apps', resource: 'daemonsets' },
  Job: { group: 'batch', resource: 'jobs' },
  CronJob: { group: 'batch', resource: 'cronjobs' },
};

/** The registered version; the API server converts other versions of a kind to it before calling. */
const VERSION = 'v1';

export interface RequestOptions {
  userInfo: UserInfo;
  /** From `--namespace`; else the object's own, else "default" (as kubectl does). */
  namespace?: string;
  operation: Extract<Operation, 'CREATE' | 'UPDATE'>;
  /** Required for UPDATE: the object as it is in the cluster. */
  oldObject?: Record<string, unknown>;
  dryRun: boolean;
  uid?: string;
}

/** Thrown when the object is not one the API server would send modelgate; the message says why. */
export class RequestError extends Error {
  override name = 'RequestError';
}

/** The request for `object`, as the API server builds it: namespace filled in, options by operation. */
export function requestFor(object: Record<string, unknown>, opts: RequestOptions): AdmissionRequest {
  const kind = typeof object.kind === 'string' ? object.kind : '';
  const where = Object.hasOwn(RESOURCES, kind) ? RESOURCES[kind] : undefined;
  if (!where || !Object.hasOwn(TEMPLATE_PATHS, kind)) {
    throw new RequestError(
      `kind ${JSON.stringify(object.kind ?? null)} creates no pods; modelgate checks ${Object.keys(RESOURCES).join(', ')}`,
    );
  }
  checkApiVersion(object.apiVersion, where.group, kind);
  const metadata = isObject(object.metadata) ? object.metadata : {};
  const namespace = namespaceFor(metadata, opts.namespace);
  const admitted = { ...object, metadata: { ...metadata, namespace } };
  const request: AdmissionRequest = {
    uid: opts.uid ?? randomUUID(),
    kind: { group: where.group, version: VERSION, kind },
    resource: { group: where.group, version: VERSION, resource: where.resource },
    namespace,
    operation: opts.operation,
    userInfo: opts.userInfo,
    object: admitted,
    oldObject: opts.oldObject
      ? { ...opts.oldObject, metadata: { ...metaOf(opts.oldObject), namespace } }
      : null,
    options: optionsFor(opts),
    dryRun: opts.dryRun,
  };
  if (typeof metadata.name === 'string') request.name = metadata.name;
  return request;
}

function checkApiVersion(apiVersion: unknown, group: string, kind: string): void {
  const want = group ? `${group}/${VERSION}` : VERSION;
  if (apiVersion !== want)
    throw new RequestError(
      `${kind} must have apiVersion "${want}", got ${JSON.stringify(apiVersion ?? null)}`,
    );
}

/** kubectl refuses a `--namespace` that contradicts the object's own; so does review. */
function namespaceFor(metadata: Record<string, unknown>, flag: string | undefined): string {
  const own =
    typeof metadata.namespace === 'string' && metadata.namespace !== '' ? metadata.namespace : undefined;
  if (flag !== undefined && own !== undefined && own !== flag)
    throw new RequestError(`the object's namespace "${own}" does not match --namespace "${flag}"`);
  return own ?? flag ?? 'default';
}

function metaOf(object: Record<string, unknown>): Record<string, unknown> {
  return isObject(object.metadata) ? object.metadata : {};
}

function optionsFor(opts: RequestOptions): Record<string, unknown> {
  const kind = opts.operation === 'CREATE' ? 'CreateOptions' : 'UpdateOptions';
  return { apiVersion: 'meta.k8s.io/v1', kind, ...(opts.dryRun ? { dryRun: ['All'] } : {}) };
}
