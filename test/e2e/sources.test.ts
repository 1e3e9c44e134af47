import { beforeAll, describe, it } from 'vitest';
import {
  apply,
  configMap,
  deployment,
  expectAdmitted,
  expectRefused,
  namespace,
  seedKey,
  showWebhookLogOnFailure,
  signV1,
  tampered,
} from './lib.js';

let ns: string;

showWebhookLogOnFailure();

beforeAll(async () => {
  ns = await namespace('e2e-sources');
});

describe('manifests from ConfigMaps', () => {
  const good = signV1(seedKey, 'from-configmap.onnx');
  const other = signV1(seedKey, 'second-shard.onnx');

  beforeAll(async () => {
    expectAdmitted(
      await apply(
        configMap('models', ns, {
          'model.manifest.json': JSON.stringify(good),
          'shard.manifest.json': JSON.stringify(other),
          'bad.json': JSON.stringify(tampered(good)),
          'README.txt': 'not a manifest',
        }),
      ),
    );
  });

  it('reads modelgate.dev/manifest-configmap "name/key"', async () => {
    const annotations = { 'modelgate.dev/manifest-configmap': 'models/model.manifest.json' };
    expectAdmitted(await apply(deployment('cm-key', ns, { annotations, pin: [good.file_hash] })));
  });

  it('refuses modelgate.dev/manifest-configmap "name/key" when that entry does not verify', async () => {
    const annotations = { 'modelgate.dev/manifest-configmap': 'models/bad.json' };
    expectRefused(
      await apply(deployment('cm-bad-key', ns, { annotations, pin: [good.file_hash] })),
      'from-configmap.onnx',
    );
  });

  it('refuses modelgate.dev/manifest-configmap naming a ConfigMap that does not exist', async () => {
    const annotations = { 'modelgate.dev/manifest-configmap': 'no-such-configmap' };
    expectRefused(
      await apply(deployment('cm-missing', ns, { annotations, pin: [good.file_hash] })),
      'no-such-configmap',
    );
  });

  it('reads the *.manifest.json entries of the volume named by modelgate.dev/manifest-volume', async () => {
    const annotations = { 'modelgate.dev/manifest-volume': 'model-manifests' };
    const volumes = [
      {
        name: 'model-manifests',
        configMap: { name: 'models', items: [{ key: 'model.manifest.json', path: 'model.manifest.json' }] },
      },
    ];
    expectAdmitted(await apply(deployment('cm-volume', ns, { annotations, volumes, pin: [good.file_hash] })));
  });

  it('reads a projected configMap volume too, every *.manifest.json entry of it', async () => {
    const annotations = { 'modelgate.dev/manifest-volume': 'projected-manifests' };
    const volumes = [
      {
        name: 'projected-manifests',
        projected: {
          sources: [
            {
              configMap: {
                name: 'models',
                items: [
                  { key: 'model.manifest.json', path: 'a.manifest.json' },
                  { key: 'shard.manifest.json', path: 'b.manifest.json' },
                ],
              },
            },
          ],
        },
      },
    ];
    expectAdmitted(
      await apply(
        deployment('projected', ns, { annotations, volumes, pin: [good.file_hash, other.file_hash] }),
      ),
    );
  });

  it('refuses a manifest volume whose ConfigMap holds a tampered manifest', async () => {
    expectAdmitted(
      await apply(
        configMap('tampered-models', ns, { 'model.manifest.json': JSON.stringify(tampered(good)) }),
      ),
    );
    const annotations = { 'modelgate.dev/manifest-volume': 'model-manifests' };
    const volumes = [{ name: 'model-manifests', configMap: { name: 'tampered-models' } }];
    expectRefused(
      await apply(deployment('cm-volume-bad', ns, { annotations, volumes, pin: [good.file_hash] })),
      'from-configmap.onnx',
    );
  });
});
