import { describe, expect, it } from 'vitest';
import { deployment, podTemplate, workloadOfKind } from '../../test/fixtures/objects.js';
import { vectors } from '../../test/fixtures/vectors.js';
import { POD_KINDS } from '../policy/defaults.js';
import { extractWorkload, hasInferenceLabel } from './extract.js';

const KINDS = POD_KINDS;

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
    expect(w.verifySteps).toHaveLength(1);
    expect(w.verifySteps[0]!.files).toEqual([
      { path: '/models/fraud-detector.onnx', sha256: vectors.sha256 },
    ]);
    expect(w.verifySteps[0]!.problems).toEqual([]);
    expect(w.containers.map((c) => c.image)).toContain('nvcr.io/nvidia/tritonserver:24.08-py3');
  });

  it.each([
    ['Pod', 'spec.initContainers[0]'],
    ['Deployment', 'spec.template.spec.initContainers[0]'],
    ['CronJob', 'spec.jobTemplate.spec.template.spec.initContainers[0]'],
  ])('gives field paths into the %s pod template', (kind, path) => {
    expect(extractWorkload(kind, workloadOfKind(kind))!.verifySteps[0]!.path).toBe(path);
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
    ['--sha256 HEX', ['verify', '/models/m', '--sha256', 'a'.repeat(64)], ['a'.repeat(64)]],
    [
      '--sha256=HEX for two files',
      ['verify', '/models/m', '/models/n', `--sha256=${'a'.repeat(64)}`, `--sha256=${'b'.repeat(64)}`],
      ['a'.repeat(64), 'b'.repeat(64)],
    ],
  ])('reads the hashes a verify init container pins with %s', (_, args, hashes) => {
    const d = deployment();
    d.spec.template.spec.initContainers[0].args = args;
    expect(extractWorkload('Deployment', d)!.verifySteps[0]!.files.map((f) => f.sha256)).toEqual(hashes);
  });

  it('takes an init container that mentions verify for a verify step, and says why it does not count', () => {
    const d = deployment();
    d.spec.template.spec.initContainers[0] = {
      name: 'x',
      image: 'busybox',
      command: ['sh', '-c', 'echo verify'],
      args: ['verify'],
    };
    const [step] = extractWorkload('Deployment', d)!.verifySteps;
    expect(step?.problems.map((p) => p.path)).toContain('spec.template.spec.initContainers[0].command');
  });

  it.each([
    ['the pod template wins over the workload', { tier: 'gold' }, { tier: 'silver' }, undefined, 'silver'],
    ['a workload label adds a name the template lacks', { owner: 'a' }, {}, undefined, 'a'],
    ["a CronJob's job template label adds too", {}, {}, { owner: 'b' }, 'b'],
  ])('effective labels: %s', (_, outer, inner, job, value) => {
    const c = workloadOfKind('CronJob');
    Object.assign(c.metadata.labels, outer);
    Object.assign(c.spec.jobTemplate.spec.template.metadata.labels, inner);
    if (job) c.spec.jobTemplate.metadata = { labels: job };
    const w = extractWorkload('CronJob', c)!;
    const name = Object.keys({ ...outer, ...inner, ...job })[0]!;
    expect(w.labels[name]).toBe(value);
  });

  it('records every level that contradicts the labels the pods carry, with both paths', () => {
    const c = workloadOfKind('CronJob');
    c.metadata.labels.tier = 'gold';
    c.spec.jobTemplate.metadata = { labels: { tier: 'bronze' } };
    c.spec.jobTemplate.spec.template.metadata.labels.tier = 'silver';
    expect(extractWorkload('CronJob', c)!.labelConflicts).toEqual([
      {
        name: 'tier',
        inner: { path: 'spec.jobTemplate.spec.template.metadata.labels', value: 'silver' },
        outer: { path: 'spec.jobTemplate.metadata.labels', value: 'bronze' },
      },
      {
        name: 'tier',
        inner: { path: 'spec.jobTemplate.spec.template.metadata.labels', value: 'silver' },
        outer: { path: 'metadata.labels', value: 'gold' },
      },
    ]);
  });

  it('keeps the inference label "true" when any level says so', () => {
    const d = deployment();
    d.spec.template.metadata.labels['modelgate.dev/inference'] = 'false';
    const w = extractWorkload('Deployment', d)!;
    expect(hasInferenceLabel(w)).toBe(true);
    expect(w.labelConflicts.map((c) => c.name)).toEqual(['modelgate.dev/inference']);
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
    expect(extractWorkload('Deployment', odd)).toMatchObject({ refs: [], containers: [], verifySteps: [] });
  });

  it('keeps annotations outside modelgate.dev/ that a policy may name (e.g. a break-glass annotation)', () => {
    const d = deployment();
    d.spec.template.metadata.annotations['incident.example.com/break-glass'] = 'INC-1';
    expect(extractWorkload('Deployment', d)!.annotations['incident.example.com/break-glass']).toBe('INC-1');
  });
});
