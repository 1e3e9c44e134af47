import { describe, expect, it } from 'vitest';
import {
  configMapNames,
  manifestsFromConfigMaps,
  NoClusterError,
  type ConfigMapRead,
} from './manifest-refs.js';
import type { ModelRef } from '../workload/types.js';

const lookupOf =
  (maps: Record<string, Record<string, string>>) =>
  (name: string): ConfigMapRead => ({ cm: Object.hasOwn(maps, name) ? { data: maps[name]! } : undefined });

describe('manifestsFromConfigMaps (the rules the webhook and `modelgate review` share)', () => {
  const volume: ModelRef = {
    source: 'volume',
    path: 'spec.template.spec.volumes[0]',
    volume: 'models',
    configMaps: [{ name: 'a' }, { name: 'b', items: ['x.manifest.json', 'notes.txt'] }],
  };

  it('lists each ConfigMap name once', () => {
    expect(configMapNames([volume, { source: 'configmap', path: 'p', name: 'a' }])).toEqual(['a', 'b']);
  });

  it('a volume takes every *.manifest.json of each ConfigMap, items keep the suffix rule', () => {
    const out = manifestsFromConfigMaps(
      'ml',
      [volume],
      lookupOf({ a: { 'm.manifest.json': 'A', o: 'no' }, b: { 'x.manifest.json': 'X' } }),
    );
    expect(out.map((m) => m.origin)).toEqual([
      'configmap ml/a/m.manifest.json',
      'configmap ml/b/x.manifest.json',
    ]);
  });

  it('a key that only an Object prototype has is a missing key, not a manifest', () => {
    const out = manifestsFromConfigMaps(
      'ml',
      [{ source: 'configmap', path: 'p', name: 'a', key: 'constructor' }],
      lookupOf({ a: {} }),
    );
    expect(out).toEqual([
      {
        origin: 'configmap ml/a/constructor',
        path: 'p',
        error: { code: 'configmap-key-not-found', message: 'ConfigMap "a" has no key "constructor"' },
      },
    ]);
  });

  it('a read that failed says why; no cluster is its own code', () => {
    const ref: ModelRef = { source: 'configmap', path: 'p', name: 'a' };
    expect(manifestsFromConfigMaps('ml', [ref], () => ({ err: new NoClusterError() }))[0]).toMatchObject({
      error: { code: 'cluster-unavailable' },
    });
    expect(manifestsFromConfigMaps('ml', [ref], () => ({ err: new Error('not given') }))[0]).toMatchObject({
      error: { code: 'configmap-unavailable', message: 'cannot read configmap ml/a: not given' },
    });
  });
});
