/**
 * `modelgate sign --print k8s`: what to paste into a workload so the webhook admits it — the
 * manifest annotation and the verify init container in the one exact form the webhook counts
 * (src/workload/verify-step.ts): `verify FILE... --sha256 HEX...`, the model volume read-only.
 */
import { posix } from 'node:path';
import { stringify } from 'yaml';
import { ANNOTATIONS } from '../vocabulary/keys.js';
import { cliVersion } from './version.js';
import { UsageError } from './types.js';

/** Where the verify step (and the serving containers) mount the model volume. */
export const MODEL_MOUNT = '/models';
/** The model volume's name in the printed snippet (`--model-volume` names another). */
export const DEFAULT_MODEL_VOLUME = 'models';
export const VERIFY_IMAGE_REPO = 'ghcr.io/modelgate/modelgate';

export interface SnippetInput {
  /** The manifest as it was written (any layout: signatures do not depend on it). */
  manifestText: string;
  /** Each file's path relative to the model volume, and its sha256, in order. */
  files: ReadonlyArray<{ path: string; sha256: string }>;
  image: string;
  volume: string;
}

/** The official image at this CLI's own version: the verify step runs what signed. */
export async function defaultVerifyImage(): Promise<string> {
  const version = await cliVersion();
  if (version === undefined)
    throw new UsageError('cannot tell this CLI\'s version for the verify image: pass --verify-image');
  return `${VERIFY_IMAGE_REPO}:${version}`;
}

/** The pod template fragment to paste, as YAML. */
export function k8sSnippet(input: SnippetInput): string {
  const inVolume = input.files.map((f) => posix.join(MODEL_MOUNT, f.path));
  const fragment = {
    metadata: {
      // One line of JSON: a YAML single-quoted scalar keeps it byte for byte.
      annotations: { [ANNOTATIONS.manifest]: JSON.stringify(JSON.parse(input.manifestText)) },
    },
    spec: {
      initContainers: [
        {
          name: 'verify-model',
          image: input.image,
          args: ['verify', ...inVolume, ...input.files.flatMap((f) => ['--sha256', f.sha256])],
          volumeMounts: [{ name: input.volume, mountPath: MODEL_MOUNT, readOnly: true }],
        },
      ],
    },
  };
  const head = [
    '# Paste into the pod template (spec.template of a Deployment): the annotation under',
    '# metadata.annotations, the verify step first in spec.initContainers, before any container',
    `# that writes the model. Every container mounting volume "${input.volume}" after the step must`,
    `# mount it readOnly: true; it must be an emptyDir or image volume (see docs/manifests.md).`,
  ];
  return `${head.join('\n')}\n${stringify(fragment, { lineWidth: 0, singleQuote: true })}`;
}
