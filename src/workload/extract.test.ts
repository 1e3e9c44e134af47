import { describe, expect, it } from 'vitest';
import { deployment, podTemplate, workloadOfKind } from '../../test/fixtures/objects.js';
import { vectors } from '../../test/fixtures/vectors.js';
import { extractWorkload, hasInferenceLabel } from './extract.js';

const KINDS = ['Pod', 'Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'];

describe('extractWorkload', () => {
  it.each(KINDS)('reads the manifest annotation, labels and verify init container of a %s', (kind) => {
    const w = extractWorkload(kind, workloadOfKind(kind))!;
    expect(w.kind).toBe(kind);
    expect(hasInferenceLabel(w)).toBe(true);
    expect(w.refs).toEqual([
      {
        source: 'annotation',
        path: 'metadata.annotations[modelgate.dev/manifest]',
        text: vectors.manifestText,
      },
    ]);
    expect(w.verifyInits).toHaveLength(1);
    expect(w.verifyInits[0]!.sha256s).toEqual([vectors.sha256]);
    expect(w.containers.map((c) => c.image)).toContain('nvcr.io/nvidia/tritonserver:24.08-py3');
  });

  it.each([
    ['Pod', 'spec.initContainers[0]'],
    ['Deployment', 'spec.template.spec.initContainers[0]'],
    ['CronJob', 'spec.jobTemplate.spec.template.spec.initContainers[0]'],
  ])('gives field paths into the %s pod template', (kind, path) => {
    expect(extractWorkload(kind, workloadOfKind(kind))!.verifyInits[0]!.path).toBe(path);
  });

  it('prefers the workload metadata annotation over the pod template one', () => {
    const d = deployment('{"from":"workload"}');
    d.spec.template = podTemplate({ 'modelgate.dev/manifest': '{"from":"template"}' });
    const ref = extractWorkload('Deployment', d)!.refs[0];
    expect(ref).toMatchObject({ source: 'annotation', text: '{"from":"workload"}' });
  });

  it.each([
    ['name only', 'model-manifests', { source: 'configmap', name: 'model-manifests' }],
    [
      'name/key',
      'model-manifests/fraud.manifest.json',
      { source: 'configmap', name: 'model-manifests', key: 'fraud.manifest.json' },
    ],
    ['a path with two slashes', 'a/b/c', { source: 'invalid' }],
    ['an upper-case name', 'Models', { source: 'invalid' }],
    ['a key with a space', 'models/a b', { source: 'invalid' }],
  ])('reads a manifest-configmap annotation with %s', (_, value, expected) => {
    const d = deployment(null);
    d.metadata.annotations['modelgate.dev/manifest-configmap'] = value;
    expect(extractWorkload('Deployment', d)!.refs[0]).toMatchObject(expected);
  });

  it('resolves a manifest-volume annotation to the ConfigMaps the volume projects', () => {
    const d = deployment(null);
    d.metadata.annotations['modelgate.dev/manifest-volume'] = 'manifests';
    d.spec.template.spec.volumes.push({
      name: 'manifests',
      configMap: { name: 'fraud-manifests', items: [{ key: 'fraud.manifest.json', path: 'f.json' }] },
    });
    expect(extractWorkload('Deployment', d)!.refs[0]).toEqual({
      source: 'volume',
      path: 'spec.template.spec.volumes[1]',
      volume: 'manifests',
      configMaps: [{ name: 'fraud-manifests', items: ['fraud.manifest.json'] }],
    });
  });

  it('resolves a projected volume of several ConfigMaps', () => {
    const d = deployment(null);
    d.metadata.annotations['modelgate.dev/manifest-volume'] = 'manifests';
    d.spec.template.spec.volumes.push({
      name: 'manifests',
      projected: {
        sources: [{ configMap: { name: 'a' } }, { secret: { name: 's' } }, { configMap: { name: 'b' } }],
      },
    });
    const ref = extractWorkload('Deployment', d)!.refs[0];
    expect(ref).toMatchObject({ source: 'volume', configMaps: [{ name: 'a' }, { name: 'b' }] });
  });

  it.each([
    ['a volume that does not exist', 'nope', /does not have/],
    ['a PVC volume', 'models', /must be a configMap/],
  ])('refuses a manifest-volume annotation naming %s', (_, volume, message) => {
    const d = deployment(null);
    d.metadata.annotations['modelgate.dev/manifest-volume'] = volume;
    const ref = extractWorkload('Deployment', d)!.refs[0];
    expect(ref?.source).toBe('invalid');
    expect(ref && 'message' in ref ? ref.message : '').toMatch(message);
  });

  it.each([
    ['--sha256 HEX', ['verify', '/m', '--sha256', 'aa'], ['aa']],
    ['--sha256=HEX twice', ['verify', '/m', '--sha256=aa', '--sha256=bb'], ['aa', 'bb']],
    ['no pin', ['verify', '/m'], []],
  ])('reads the hashes a verify init container pins with %s', (_, args, hashes) => {
    const d = deployment();
    d.spec.template.spec.initContainers[0].args = args;
    expect(extractWorkload('Deployment', d)!.verifyInits[0]!.sha256s).toEqual(hashes);
  });

  it('does not take an arbitrary init container that mentions verify for modelgate verify', () => {
    const d = deployment();
    d.spec.template.spec.initContainers[0] = {
      name: 'x',
      image: 'busybox',
      command: ['sh', '-c', 'echo verify'],
      args: ['verify'],
    };
    expect(extractWorkload('Deployment', d)!.verifyInits).toEqual([]);
  });

  it('splits approvers', () => {
    const d = deployment();
    d.metadata.annotations['modelgate.dev/approved-by'] = ' bob, carol ,,bob';
    expect(extractWorkload('Deployment', d)!.approvers).toEqual(['bob', 'carol', 'bob']);
  });

  it.each([
    ['an unknown kind', 'Service', {}],
    ['a non-object', 'Deployment', 'x'],
    ['null', 'Pod', null],
  ])('returns undefined for %s', (_, kind, obj) => {
    expect(extractWorkload(kind, obj)).toBeUndefined();
  });

  it('never throws on odd shapes', () => {
    const odd = {
      metadata: { labels: 5, annotations: ['x'] },
      spec: { template: { spec: { containers: 'x', volumes: [null, 1] } } },
    };
    expect(extractWorkload('Deployment', odd)).toMatchObject({ refs: [], containers: [], verifyInits: [] });
  });

  it('keeps annotations outside modelgate.dev/ that a policy may name (e.g. a break-glass annotation)', () => {
    const d = deployment();
    d.spec.template.metadata.annotations['incident.example.com/break-glass'] = 'INC-1';
    expect(extractWorkload('Deployment', d)!.annotations['incident.example.com/break-glass']).toBe('INC-1');
  });
});
