import { describe, expect, it } from 'vitest';
import type { KubeApi, ConfigMapData } from './client.js';
import { KubeError } from './client.js';
import { ConfigMapResolver } from './configmaps.js';

const manifest = '{"model_path":"m.onnx"}';

function fakeApi(
  configMaps: Record<string, Record<string, string>>,
  opts: { delayMs?: number; fail?: Error; hang?: boolean } = {},
) {
  const calls: string[] = [];
  const api: Pick<KubeApi, 'readConfigMap'> = {
    readConfigMap: (namespace, name, signal) => {
      calls.push(`${namespace}/${name}`);
      if (opts.hang) {
        return new Promise<ConfigMapData | undefined>((_resolve, reject) => {
          signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
        });
      }
      return new Promise((resolve, reject) => {
        setTimeout(() => {
          if (opts.fail) reject(opts.fail);
          else {
            const data = configMaps[`${namespace}/${name}`];
            resolve(data ? { data } : undefined);
          }
        }, opts.delayMs ?? 0);
      });
    },
  };
  return { api: api as KubeApi, calls };
}

const never = new AbortController().signal;

describe('ConfigMapResolver', () => {
  it('reads name/key from the request namespace', async () => {
    const { api, calls } = fakeApi({ 'ml/models': { 'a.manifest.json': manifest, other: 'x' } });
    const r = new ConfigMapResolver({ api });
    const out = await r.resolve(
      'ml',
      [{ source: 'configmap', path: 'metadata.annotations', name: 'models', key: 'other' }],
      never,
    );
    expect(out).toEqual([{ origin: 'configmap ml/models/other', path: 'metadata.annotations', text: 'x' }]);
    expect(calls).toEqual(['ml/models']);
  });

  it('a ConfigMap without key yields every *.manifest.json entry, sorted', async () => {
    const { api } = fakeApi({
      'ml/models': { 'b.manifest.json': 'B', 'a.manifest.json': 'A', 'readme.txt': 'no' },
    });
    const out = await new ConfigMapResolver({ api }).resolve(
      'ml',
      [{ source: 'configmap', path: 'p', name: 'models' }],
      never,
    );
    expect(out.map((m) => ('text' in m ? m.text : m.error.code))).toEqual(['A', 'B']);
  });

  it('a missing ConfigMap is a configmap-not-found error, not an exception', async () => {
    const { api } = fakeApi({});
    const out = await new ConfigMapResolver({ api }).resolve(
      'ml',
      [{ source: 'configmap', path: 'p', name: 'gone' }],
      never,
    );
    expect(out).toEqual([
      {
        origin: 'configmap ml/gone',
        path: 'p',
        error: { code: 'configmap-not-found', message: 'ConfigMap "gone" not found in namespace "ml"' },
      },
    ]);
  });

  it('a missing key is reported by name', async () => {
    const { api } = fakeApi({ 'ml/models': { a: 'A' } });
    const out = await new ConfigMapResolver({ api }).resolve(
      'ml',
      [{ source: 'configmap', path: 'p', name: 'models', key: 'b' }],
      never,
    );
    expect(out[0]).toMatchObject({ error: { code: 'configmap-key-not-found' } });
  });

  it('a volume honours items and the manifest suffix across projected ConfigMaps', async () => {
    const { api } = fakeApi({
      'ml/one': { 'a.manifest.json': 'A', 'b.manifest.json': 'B' },
      'ml/two': { 'c.manifest.json': 'C' },
    });
    const out = await new ConfigMapResolver({ api }).resolve(
      'ml',
      [
        {
          source: 'volume',
          path: 'spec.template.spec.volumes[0]',
          volume: 'models',
          configMaps: [{ name: 'one', items: ['b.manifest.json'] }, { name: 'two' }],
        },
      ],
      never,
    );
    expect(out.map((m) => m.origin)).toEqual([
      'configmap ml/one/b.manifest.json',
      'configmap ml/two/c.manifest.json',
    ]);
  });

  it('caches reads for the TTL and shares concurrent reads', async () => {
    let now = 0;
    const { api, calls } = fakeApi({ 'ml/models': { 'a.manifest.json': 'A' } }, { delayMs: 5 });
    const r = new ConfigMapResolver({ api, ttlMs: 30_000, now: () => now });
    const ref = { source: 'configmap' as const, path: 'p', name: 'models' };
    await Promise.all(Array.from({ length: 50 }, () => r.resolve('ml', [ref], never)));
    expect(calls).toHaveLength(1);
    now = 29_999;
    await r.resolve('ml', [ref], never);
    expect(calls).toHaveLength(1);
    now = 30_000;
    await r.resolve('ml', [ref], never);
    expect(calls).toHaveLength(2);
  });

  it('keeps the cache bounded', async () => {
    const { api, calls } = fakeApi({});
    const r = new ConfigMapResolver({ api, maxEntries: 2 });
    for (const name of ['a', 'b', 'c', 'a'])
      await r.resolve('ml', [{ source: 'configmap', path: 'p', name }], never);
    expect(calls).toEqual(['ml/a', 'ml/b', 'ml/c', 'ml/a']);
  });

  it('an unreachable API fails closed and is not cached', async () => {
    const { api, calls } = fakeApi(
      {},
      { fail: new KubeError('read ConfigMap ml/models: connect ECONNREFUSED') },
    );
    const r = new ConfigMapResolver({ api });
    const ref = { source: 'configmap' as const, path: 'p', name: 'models' };
    const out = await r.resolve('ml', [ref], never);
    expect(out[0]).toMatchObject({ error: { code: 'configmap-unavailable' } });
    await r.resolve('ml', [ref], never);
    expect(calls).toHaveLength(2);
  });

  it('a hanging API returns an error when the caller deadline passes', async () => {
    const { api } = fakeApi({}, { hang: true });
    const r = new ConfigMapResolver({ api });
    const started = Date.now();
    const out = await r.resolve(
      'ml',
      [{ source: 'configmap', path: 'p', name: 'models' }],
      AbortSignal.timeout(50),
    );
    expect(Date.now() - started).toBeLessThan(1000);
    expect(out[0]).toMatchObject({
      error: { code: 'configmap-unavailable', message: 'cannot read configmap ml/models: deadline exceeded' },
    });
  });

  it('without cluster access, refs resolve to a clear error', async () => {
    const out = await new ConfigMapResolver({ api: undefined }).resolve(
      'ml',
      [{ source: 'configmap', path: 'p', name: 'models' }],
      never,
    );
    expect(out[0]).toMatchObject({ error: { code: 'cluster-unavailable' } });
  });
});
