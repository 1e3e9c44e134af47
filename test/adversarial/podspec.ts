/** Shared pieces of the pod-spec attacks (red-team suites): the chart's policy and spec builders. */
import { deployment, type Obj } from '../fixtures/objects.js';
import { vectors } from '../fixtures/vectors.js';
import { decide, policyWith } from './helpers.js';

export const PIN = vectors.sha256;
export const FILE = '/models/fraud-detector.onnx';
export const VERIFY_IMAGE = 'ghcr.io/modelgate/modelgate:0.1.0';
/** The operator's policy as the chart renders it: only the chart's image counts as a verify image. */
export const PINNED = policyWith({ verifyImages: [VERIFY_IMAGE] });

/** The fixture Deployment with its pod spec changed by `change`. */
export function withSpec(change: (spec: Obj) => void, base: Obj = deployment()): Obj {
  change(base.spec.template.spec);
  return base;
}

/** The documented downloader form: a plain init container fills the emptyDir before the step. */
export function emptyDirModel(spec: Obj): void {
  spec.volumes = [{ name: 'models', emptyDir: {} }];
  spec.initContainers.unshift({
    name: 'fetch',
    image: 'registry.example.com/fetch:1',
    volumeMounts: [{ name: 'models', mountPath: '/models' }],
  });
}

export function allowed(d: Obj, policy = PINNED): boolean {
  return decide(d, { policy }).response.allowed;
}
