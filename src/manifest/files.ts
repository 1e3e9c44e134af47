/** Where manifests live next to models, as the seed does it. */
import { basename, dirname, join } from 'node:path';

/** Python's Path.with_suffix: replace only the last suffix of the final name (`a.tar.gz` → `a.tar` + suffix). */
export function withSuffix(path: string, suffix: string): string {
  const name = basename(path);
  const dot = name.lastIndexOf('.');
  // Like pathlib: a leading dot is part of the name, and "model." has no suffix.
  const stem = dot > 0 && dot < name.length - 1 ? name.slice(0, dot) : name;
  return join(dirname(path), `${stem}${suffix}`);
}

/** `model.onnx` → `model.manifest.json`, beside the model. */
export function manifestPathFor(modelPath: string): string {
  return withSuffix(modelPath, '.manifest.json');
}
