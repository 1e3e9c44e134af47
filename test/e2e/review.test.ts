/**
 * `modelgate review` of a file, against the real API server: every object of one multi-document
 * file is applied with `kubectl apply --dry-run=server` (the webhook decides, nothing persists), and
 * reviewed offline with the same policy and keys. The verdict, the denial message (codes, paths
 * and fixes in it) and the warnings must be the ones kubectl shows.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../fixtures/cli.js';
import {
  apply,
  configMap,
  cronJob,
  ctx,
  decisions,
  denial,
  deployment,
  expectAdmitted,
  job,
  k,
  namespace,
  pod,
  replicationController,
  seedKey,
  showWebhookLogOnFailure,
  signV1,
  signedSeed,
  statefulSet,
  tampered,
  warnings,
  wrongKeySeed,
  type Obj,
} from './lib.js';

let ns: string;
let dir: string;

showWebhookLogOnFailure();

const good = signV1(seedKey, 'from-configmap.onnx');
const manifests = (): Obj =>
  configMap('review-models', ns, {
    'model.manifest.json': JSON.stringify(good),
    'bad.json': JSON.stringify(tampered(good)),
  });

/** One file, as an ML engineer would write it: every kind, signed or not, annotation or ConfigMap. */
function objects(): Obj[] {
  const cm = (key: string): Obj => ({
    annotations: { 'modelgate.dev/manifest-configmap': `review-models/${key}` },
    pin: [good.file_hash],
  });
  return [
    deployment('rv-signed', ns, { manifest: signedSeed }),
    pod('rv-tampered', ns, { manifest: tampered(signedSeed) }),
    statefulSet('rv-wrong-key', ns, { manifest: wrongKeySeed }),
    cronJob('rv-cm', ns, cm('model.manifest.json')),
    job('rv-cm-bad', ns, cm('bad.json')),
    replicationController('rv-unsigned', ns, {}),
    deployment('rv-unpinned', ns, { manifest: signedSeed, pin: ['0'.repeat(64)] }),
  ];
}

beforeAll(async () => {
  ns = await namespace('e2e-review');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mg-e2e-review-'));
  expectAdmitted(await apply(manifests()));
  fs.writeFileSync(path.join(dir, 'cm.json'), JSON.stringify(manifests()));
  fs.writeFileSync(
    path.join(dir, 'all.yaml'),
    objects()
      .map((o) => JSON.stringify(o))
      .join('\n---\n'),
  );
});

describe('modelgate review decides a file as the webhook decides it on the real API server', () => {
  it('each object: same verdict, same denial message, same warnings', async () => {
    const cluster = [];
    for (const object of objects()) {
      const r = await apply(object, '--dry-run=server');
      const name = (object.metadata as { name: string }).name;
      cluster.push({ name, allowed: r.code === 0, message: denial(r), warnings: warnings(r) });
    }
    const user = decisions().find((d) => d.name === 'rv-signed' && d.namespace === ns)!;
    const groups = (user.groups as string[]).join(',');
    const args = [
      'review',
      '-f',
      path.join(dir, 'all.yaml'),
      '--policy',
      ctx().policyFile,
      '--keys-dir',
      ctx().keysDir,
    ];
    const common = [
      ...args,
      '--user',
      String(user.user),
      '--groups',
      groups,
      '--dry-run',
      '--configmap',
      path.join(dir, 'cm.json'),
    ];
    const json = await runCli([...common, '-o', 'json']);
    expect(json.err).toBe('');
    const offline = (JSON.parse(json.out) as Obj[]).map((review) => {
      const { request, response } = review as { request: { name: string }; response: Obj };
      const status = response.status as { message: string } | undefined;
      return {
        name: request.name,
        allowed: response.allowed,
        message: status?.message,
        warnings: (response.warnings as string[] | undefined) ?? [],
      };
    });
    expect(offline).toEqual(cluster);
    // The mix is real: some admitted, some refused; the exit code says so.
    expect(cluster.filter((c) => c.allowed).length).toBeGreaterThan(0);
    expect(cluster.filter((c) => !c.allowed).length).toBeGreaterThan(0);
    expect(json.code).toBe(1);
    const text = await runCli(common);
    expect(text.out).toContain(`Deployment ${ns}/rv-signed: ALLOWED`);
    expect(text.out).toContain(`Pod ${ns}/rv-tampered: DENIED`);
  });

  it('the request review builds is the one the API server sent: kind, resource, namespace, user, dryRun', async () => {
    const logged = decisions().find((d) => d.name === 'rv-cm' && d.namespace === ns && d.dryRun === true)!;
    const r = await runCli([
      'review',
      '-f',
      path.join(dir, 'all.yaml'),
      '--user',
      String(logged.user),
      '--groups',
      (logged.groups as string[]).join(','),
      '--dry-run',
      '-o',
      'json',
    ]);
    const built = (JSON.parse(r.out) as { request: Obj }[])
      .map((x) => x.request)
      .find((q) => q.name === 'rv-cm')!;
    expect({
      kind: (built.kind as Obj).kind,
      namespace: built.namespace,
      user: (built.userInfo as Obj).username,
      dryRun: built.dryRun,
      operation: built.operation,
    }).toEqual({
      kind: logged.kind,
      namespace: logged.namespace,
      user: logged.user,
      dryRun: logged.dryRun,
      operation: logged.operation,
    });
    expect([...((built.userInfo as Obj).groups as string[])].sort()).toEqual(
      [...(logged.groups as string[])].sort(),
    );
  });

  it('a ConfigMap the file does not give is refused offline, as a missing one is in the cluster', async () => {
    const r = await k(
      ['apply', '--dry-run=server', '-f', '-'],
      job('rv-cm-gone', ns, {
        annotations: { 'modelgate.dev/manifest-configmap': 'gone' },
        pin: [good.file_hash],
      }),
    );
    expect(r.code).not.toBe(0);
    fs.writeFileSync(
      path.join(dir, 'gone.yaml'),
      JSON.stringify(
        job('rv-cm-gone', ns, {
          annotations: { 'modelgate.dev/manifest-configmap': 'gone' },
          pin: [good.file_hash],
        }),
      ),
    );
    const offline = await runCli([
      'review',
      '-f',
      path.join(dir, 'gone.yaml'),
      '--policy',
      ctx().policyFile,
      '--keys-dir',
      ctx().keysDir,
    ]);
    expect(offline.code).toBe(1);
    expect(offline.out).toMatch(
      /configmap-unavailable at .*: cannot read configmap e2e-review\/gone: not given/,
    );
  });
});
