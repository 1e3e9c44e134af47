import { describe, expect, it } from 'vitest';
import { deployment } from '../../test/fixtures/objects.js';
import { vectors } from '../../test/fixtures/vectors.js';
import { entriesFromReport } from '../audit/running.js';
import { filterEntries } from '../audit/query.js';
import { decideAdmission } from '../decision/decide.js';
import { planAdmission } from '../decision/plan.js';
import { MemoryKeyring } from '../keys/keyring.js';
import { formatV2, signV2 } from '../manifest/v2.js';
import { defaultPolicy } from '../policy/defaults.js';
import type { Policy } from '../policy/types.js';
import { microTime } from './lease.js';
import { MAX_RESULTS, MAX_RESULTS_BYTES, reportFor } from './report.js';
import { controllerUid, resultOf, scanRequest, type WorkloadResult } from './results.js';

const keyring = new MemoryKeyring([['ci', Buffer.from(vectors.key)]]);
const now = new Date('2026-05-01T00:00:00Z');

function scan(object: Record<string, unknown>, policy: Policy = defaultPolicy()): WorkloadResult | undefined {
  const plan = planAdmission(scanRequest(object, 'uid-1'), policy);
  return resultOf(plan, decideAdmission(plan, { resolved: [], keyring, now }));
}

function named(name: string, over: Partial<WorkloadResult> = {}): WorkloadResult {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    namespace: 'ml',
    name,
    uid: `uid-${name}`,
    rule: 'default',
    result: 'pass',
    reasons: [],
    models: [{ name: 'fraud.onnx', keyId: 'ci', format: 'v1', sha256: vectors.sha256 }],
    ...over,
  };
}

describe('a stored workload decided by the scanner', () => {
  it('passes when its model verifies, with the model and key', () => {
    const r = scan(deployment());
    expect(r).toMatchObject({ kind: 'Deployment', result: 'pass', reasons: [], uid: 'uid-1' });
    expect(r?.models.map((m) => m.keyId)).toEqual(['ci']);
  });

  it('fails, naming key-revoked, once the policy revokes its key: no UPDATE short-cut skips it', () => {
    const r = scan(deployment(), { ...defaultPolicy(), revokedKeys: ['ci'] });
    expect(r?.result).toBe('fail');
    expect(r?.reasons.map((x) => x.code)).toContain('key-revoked');
  });

  it('is out of scope (no result) when the policy does not select it', () => {
    const obj = deployment();
    const ns = (obj.metadata as { namespace?: string }).namespace ?? 'default';
    expect(scan(obj, { ...defaultPolicy(), exemptNamespaces: [ns] })).toBeUndefined();
  });

  it('leaves out problems about who deployed: a stored object does not say', () => {
    const policy = defaultPolicy();
    policy.rules = policy.rules.map((r) => ({ ...r, allowedRequesters: ['ci-bot'] }));
    const r = scan(deployment(), policy);
    expect(r?.reasons.map((x) => x.code)).not.toContain('requester-not-allowed');
    expect(r?.result).toBe('pass');
  });

  it('says when the clock alone changes the result: the v2 manifest expiry', () => {
    const signed = signV2(
      {
        apiVersion: 'modelgate.dev/v1',
        kind: 'ModelManifest',
        model: { name: 'fraud', version: '1', source: 'ci' },
        files: [{ path: 'model.onnx', sha256: vectors.sha256, size: 1 }],
        claims: { scan: 'passed' },
        signedAt: '2026-04-26T03:15:42Z',
        expiresAt: '2026-05-02T00:00:00Z',
      },
      keyring,
      'ci',
    )!;
    const r = scan(deployment(formatV2(signed)));
    expect(r?.validUntil).toBe(Date.parse('2026-05-02T00:00:00Z'));
  });

  it('decides the owner, not what its controller made, only when the owner is real', () => {
    const owned = {
      metadata: {
        ownerReferences: [
          { uid: 'rs-1', controller: true },
          { uid: 'x', controller: false },
        ],
      },
    };
    expect(controllerUid(owned)).toBe('rs-1');
    expect(controllerUid({ metadata: { ownerReferences: [{ uid: 'x' }] } })).toBeUndefined();
  });
});

describe('the PolicyReport of a namespace', () => {
  const t1 = new Date('2026-05-01T00:00:00Z');
  const t2 = new Date('2026-05-01T01:00:00Z');

  it('has one result per workload and rule, with models, key ids and reason codes, and a summary', () => {
    const { write } = reportFor(
      'ml',
      [
        named('a'),
        named('b', {
          result: 'fail',
          reasons: [{ code: 'key-revoked', message: 'revoked', path: 'metadata.annotations' }],
        }),
      ],
      undefined,
      t1,
    );
    expect(write).toMatchObject({
      apiVersion: 'wgpolicyk8s.io/v1alpha2',
      kind: 'PolicyReport',
      metadata: { name: 'modelgate', namespace: 'ml' },
    });
    expect(write?.summary).toEqual({ pass: 1, fail: 1, warn: 0, error: 0, skip: 0 });
    const results = write?.results as {
      result: string;
      properties: Record<string, string>;
      resources: { name: string }[];
    }[];
    expect(results[0]).toMatchObject({
      result: 'fail',
      policy: 'modelgate',
      rule: 'default',
      source: 'modelgate',
    });
    expect(results[0]?.properties).toMatchObject({
      keyIds: 'ci',
      reasons: 'key-revoked',
      paths: 'metadata.annotations',
    });
    expect(results[0]?.properties.models).toBe(`fraud.onnx:ci:${vectors.sha256.slice(0, 12)}`);
  });

  it('is not written again when nothing changed, and a changed result alone gets a new time', () => {
    const first = reportFor('ml', [named('a'), named('b')], undefined, t1).write!;
    expect(reportFor('ml', [named('a'), named('b')], first, t2).write).toBeUndefined();
    const next = reportFor(
      'ml',
      [named('a'), named('b', { result: 'fail', reasons: [{ code: 'key-revoked', message: 'm' }] })],
      first,
      t2,
    ).write!;
    const times = (next.results as { resources: { name: string }[]; timestamp: { seconds: number } }[]).map(
      (r) => [r.resources[0]?.name, r.timestamp.seconds],
    );
    expect(times).toEqual([
      ['b', t2.getTime() / 1000],
      ['a', t1.getTime() / 1000],
    ]);
  });

  it(`keeps at most ${MAX_RESULTS} results, failing ones first, and counts every workload`, () => {
    const many = Array.from({ length: MAX_RESULTS + 5 }, (_, i) =>
      named(
        `w${i}`,
        i === MAX_RESULTS + 4 ? { result: 'fail', reasons: [{ code: 'expired', message: 'm' }] } : {},
      ),
    );
    const { write, omitted } = reportFor('ml', many, undefined, t1);
    expect(omitted).toBe(5);
    expect((write?.results as unknown[]).length).toBe(MAX_RESULTS);
    expect((write?.results as { result: string }[])[0]?.result).toBe('fail');
    expect((write?.summary as { pass: number }).pass).toBe(MAX_RESULTS + 4);
  });

  it('reads back as audit entries that the audit filters select (audit --running)', () => {
    const report = reportFor(
      'ml',
      [
        named('a'),
        named('b', {
          result: 'fail',
          reasons: [{ code: 'key-revoked', message: 'signed with key "ci", which is revoked' }],
        }),
      ],
      undefined,
      t1,
    ).write!;
    report.results = [
      ...(report.results as unknown[]),
      { policy: 'other', source: 'kyverno', result: 'fail' },
    ];
    const entries = entriesFromReport(report);
    expect(entries).toHaveLength(2);
    const failing = filterEntries(entries, { decision: 'deny', key: 'ci', reason: 'key-revoked' });
    expect(failing.map((e) => `${e.kind}/${e.name}`)).toEqual(['Deployment/b']);
    expect(failing[0]).toMatchObject({
      namespace: 'ml',
      operation: 'RUNNING',
      source: 'report',
      rule: 'default',
    });
  });
});

describe('a namespace of hostile names', () => {
  it("keeps its report under etcd's object limit: strings cut, results capped by bytes", () => {
    const long = 'x'.repeat(5000);
    const many = Array.from({ length: MAX_RESULTS }, (_, i) =>
      named(`${long.slice(0, 240)}-${i}`, {
        result: 'fail',
        reasons: [{ code: 'bad-signature', message: long, path: long }],
        models: [{ name: long, keyId: long, format: 'v1', sha256: vectors.sha256 }],
      }),
    );
    const { write, omitted } = reportFor('ml', many, undefined, new Date());
    const size = JSON.stringify(write).length;
    expect(size).toBeLessThan(MAX_RESULTS_BYTES + 4096);
    expect(omitted).toBeGreaterThan(0);
    expect((write?.summary as { fail: number }).fail).toBe(MAX_RESULTS);
    const [first] = write?.results as { message: string; properties: Record<string, string> }[];
    expect(first?.message.length).toBeLessThanOrEqual(400);
    for (const v of Object.values(first?.properties ?? {})) expect(v.length).toBeLessThanOrEqual(512);
  });
});

describe('Lease times', () => {
  it('are Kubernetes MicroTime: RFC 3339 with microseconds', () => {
    expect(microTime(Date.parse('2026-05-01T00:00:01.234Z'))).toBe('2026-05-01T00:00:01.234000Z');
  });
});
