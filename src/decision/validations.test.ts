/**
 * CEL validations through the whole decision: the policy loader compiles them, decideAdmission
 * runs them with the request and the verified models. Each input, and each way one can fail.
 */
import { describe, expect, it } from 'vitest';
import { admissionRequest, deployment, type Obj, type RequestOptions } from '../../test/fixtures/objects.js';
import { vectors } from '../../test/fixtures/vectors.js';
import { MemoryKeyring } from '../keys/keyring.js';
import { formatV2, signV2 } from '../manifest/v2.js';
import { parsePolicy } from '../policy/load.js';
import type { Policy } from '../policy/types.js';
import { decideAdmission } from './decide.js';
import { planAdmission } from './plan.js';

const keyring = new MemoryKeyring([['ci', Buffer.from(vectors.key)]]);
const now = new Date('2026-05-01T00:00:00Z');

const v2 = formatV2(
  signV2(
    {
      apiVersion: 'modelgate.dev/v1',
      kind: 'ModelManifest',
      model: { name: 'fraud-detector', version: '3', source: 'git.example.com/ml/fraud' },
      files: [{ path: 'fraud-detector.onnx', sha256: vectors.sha256, size: 1048583 }],
      claims: { scan: 'passed', dataClassification: 'pii', biasTestedAt: '2026-03-01T00:00:00Z', epochs: 12 },
      signedAt: '2026-04-26T03:15:42Z',
    },
    keyring,
    'ci',
  )!,
);

/** A policy whose one rule holds these validations (YAML flow sequences of maps). */
function policy(validations: string, extra = ''): Policy {
  const text = `apiVersion: modelgate.dev/v1
kind: Policy
rules:
  - name: cel
${extra}    validations:
${validations}
`;
  const loaded = parsePolicy(text, 'test.yaml');
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return loaded.policy;
}

function holds(expression: string): string {
  return `      - expression: ${JSON.stringify(expression)}\n        message: "failed: ${expression.replace(/["\\]/g, '')}"`;
}

function decide(p: Policy, object: Obj = deployment(v2), opts: RequestOptions = {}) {
  return decideAdmission(planAdmission(admissionRequest(object, opts), p), { resolved: [], keyring, now });
}

function celReasons(p: Policy, object?: Obj, opts?: RequestOptions) {
  return decide(p, object, opts).record.reasons.filter((r) => r.code.startsWith('cel-'));
}

describe('validations read each input', () => {
  it.each([
    ['object', "object.metadata.name == 'fraud-detector' && object.spec.replicas == 2"],
    ['object (a whole JSON number is an int)', 'object.spec.replicas + 1 == 3'],
    ['oldObject (null on CREATE)', 'oldObject == null'],
    [
      'object: has(), size(), map equality, comprehensions over its lists',
      "has(object.spec.template) && !has(object.spec.nope) && size(object.metadata.labels) == 2 && object.metadata.labels == {'app': 'fraud-detector', 'modelgate.dev/inference': 'true'} && object.spec.template.spec.containers.all(c, c.image.startsWith('nvcr.io/')) && object.metadata.labels.exists(k, k == 'app')",
    ],
    ['request.operation', "request.operation == 'CREATE'"],
    [
      'request.userInfo',
      "request.userInfo.username == 'alice@example.com' && 'ml-engineers' in request.userInfo.groups",
    ],
    ['request.namespace and dryRun', "request.namespace == 'ml' && request.dryRun == false"],
    ['request.kind', "request.kind.kind == 'Deployment' && request.kind.group == 'apps'"],
    [
      'models: name and version apart',
      "models.size() == 1 && models[0].name == 'fraud-detector' && models[0].version == '3'",
    ],
    [
      'models: source, format, keyId',
      "models[0].source == 'git.example.com/ml/fraud' && models[0].format == 'v2' && models[0].keyId == 'ci'",
    ],
    [
      'models: files',
      `models[0].files[0].sha256 == '${vectors.sha256}' && models[0].files[0].size == 1048583`,
    ],
    [
      'models: signedAt as a timestamp, expiresAt null',
      "models[0].signedAt == timestamp('2026-04-26T03:15:42Z') && models[0].expiresAt == null",
    ],
    ['models: claims', "models[0].claims.scan == 'passed' && models[0].claims.epochs == 12"],
    [
      'labels (the pod template labels)',
      "labels['app'] == 'fraud-detector' && labels['modelgate.dev/inference'] == 'true'",
    ],
    ['now', "now == timestamp('2026-05-01T00:00:00Z')"],
    [
      'a claim timestamp within 90 days of now',
      "now - timestamp(models[0].claims.biasTestedAt) <= duration('2160h')",
    ],
  ])('%s', (_input, expression) => {
    expect(celReasons(policy(holds(expression)))).toEqual([]);
  });

  it('reads the object as JSON: a "$typeName" key is data, not a protobuf message', () => {
    const d = deployment(v2);
    d.metadata.annotations.t = 'x';
    d.spec.fake = { $typeName: 'google.protobuf.Timestamp', seconds: '1' };
    const p = policy(
      holds("type(object.spec.fake) == map && object.spec.fake['$typeName'] == 'google.protobuf.Timestamp'"),
    );
    expect(celReasons(p, d)).toEqual([]);
  });

  it('reads oldObject on UPDATE', () => {
    const old = deployment(v2);
    old.spec.replicas = 1;
    const p = policy(holds('oldObject.spec.replicas == 1 && object.spec.replicas == 2'));
    expect(celReasons(p, deployment(v2), { operation: 'UPDATE', oldObject: old })).toEqual([]);
  });

  it('reads a v1 manifest as a model without version, source or signed claims', () => {
    const p = policy(
      holds("models[0].format == 'v1' && models[0].version == null && models[0].claims.size() == 0"),
    );
    expect(celReasons(p, deployment())).toEqual([]);
  });

  it('never shows a manifest that failed verification: only the verified one reaches models', () => {
    const tampered = vectors.manifestText.replace(vectors.sha256, 'f'.repeat(64));
    const both = `[${v2}, ${tampered}]`;
    const p = policy(holds("models.size() == 1 && models[0].format == 'v2'"));
    const d = decide(p, deployment(both));
    expect(d.record.reasons.filter((r) => r.code.startsWith('cel-'))).toEqual([]);
    expect(d.record.decision).toBe('deny'); // for the tampered manifest, by the signature check
  });

  it('reads a variable named __proto__ like any other', () => {
    const p = policy(
      holds('variables.__proto__ == 1'),
      '    variables:\n      - name: __proto__\n        expression: "1"\n',
    );
    expect(celReasons(p)).toEqual([]);
  });

  it('reads variables, each seeing the ones before it', () => {
    const p = policy(
      holds("variables.pii && variables.classes == ['pii']"),
      `    variables:
      - name: classes
        expression: "models.map(m, m.claims.dataClassification)"
      - name: pii
        expression: "'pii' in variables.classes"
`,
    );
    expect(celReasons(p)).toEqual([]);
  });
});

describe('labels a validation reads', () => {
  it('must say the same on the workload as on its pods, like every label the policy reads', () => {
    const d = deployment(v2);
    d.metadata.labels.tier = 'gold';
    d.spec.template.metadata.labels.tier = 'free';
    const p = policy(holds("'tier' in labels && labels.tier != ''"));
    const reasons = decide(p, d).record.reasons.map((r) => r.code);
    expect(reasons).toContain('label-contradicts-template');
  });
});

describe('a validation that fails', () => {
  it('denies in enforce mode with its message, naming the rule, as cel-<reason>', () => {
    const p = policy(`      - expression: "object.spec.replicas > 5"
        message: at least 6 replicas
        reason: Forbidden`);
    const d = decide(p);
    expect(d.response.allowed).toBe(false);
    expect(d.response.status?.message).toMatch(
      /^modelgate: Deployment ml\/fraud-detector denied: rule "cel": at least 6 replicas$/,
    );
    expect(d.record.reasons).toEqual([
      { code: 'cel-Forbidden', message: 'rule "cel": at least 6 replicas', path: '' },
    ]);
  });

  it('says "failed expression" when it has no message, and uses messageExpression when it yields text', () => {
    expect(celReasons(policy(`      - expression: "object.spec.replicas > 5"`))[0]?.message).toBe(
      'rule "cel": failed expression: object.spec.replicas > 5',
    );
    const p = policy(`      - expression: "object.spec.replicas > 5"
        message: static
        messageExpression: "'only ' + string(object.spec.replicas) + ' replicas'"`);
    expect(celReasons(p)[0]?.message).toBe('rule "cel": only 2 replicas');
  });

  it('cuts a messageExpression longer than 1 KiB', () => {
    const p = policy(`      - expression: "false"
        messageExpression: "'x'.replace('', 'yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy').replace('', 'zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz')"`);
    const message = celReasons(p)[0]?.message ?? '';
    expect(message.length).toBeLessThan(1100);
    expect(message.endsWith('...')).toBe(true);
  });

  it('falls back to message when messageExpression fails', () => {
    const p = policy(`      - expression: "object.spec.replicas > 5"
        message: static
        messageExpression: "object.nope.nope"`);
    expect(celReasons(p)[0]?.message).toBe('rule "cel": static');
  });

  it('warns, not denies, in warn mode; kubectl prints the message', () => {
    const p = policy(
      `      - expression: "object.spec.replicas > 5"\n        message: at least 6 replicas`,
      '    mode: warn\n',
    );
    const d = decide(p);
    expect(d.response.allowed).toBe(true);
    expect(d.response.warnings).toContain('modelgate: rule "cel": at least 6 replicas');
    expect(d.record.decision).toBe('warn');
  });
});

describe('a validation that cannot be evaluated is a deny naming the rule and the expression, never a crash', () => {
  it.each([
    ['a missing field', 'object.spec.nope == 1', /field not found: nope/],
    ['an index out of range', "models[3].name == 'x'", /index/],
    ['a type error found only at run time', 'object.metadata.name + 1 == 2', /overload/],
    [
      'a dynamic regular expression RE2 refuses',
      "object.metadata.name.matches(object.metadata.name + '(?=x)')",
      /Perl syntax/,
    ],
    ['a division by zero', 'object.spec.replicas / 0 == 1', /divi/],
  ])('%s', (_what, expression, why) => {
    const d = decide(policy(`      - expression: ${JSON.stringify(expression)}`));
    expect(d.response.allowed).toBe(false);
    const [reason] = d.record.reasons;
    expect(reason?.code).toBe('cel-error');
    expect(reason?.message).toContain(`rule "cel": validation 1 (${expression}) failed to evaluate: `);
    expect(reason?.message).toMatch(why);
  });

  it('a dyn expression that turns out not to be a bool denies', () => {
    const [reason] = celReasons(policy(`      - expression: "object.metadata.name"`));
    expect(reason).toMatchObject({
      code: 'cel-error',
      message: expect.stringContaining('evaluated to a string, not a bool'),
    });
  });

  it('a variable that fails denies, naming the variable', () => {
    const p = policy(
      holds('variables.x'),
      `    variables:\n      - name: x\n        expression: "object.nope"\n`,
    );
    expect(celReasons(p)).toEqual([
      expect.objectContaining({
        code: 'cel-error',
        message: expect.stringMatching(/^rule "cel": variable "x" \(object.nope\) failed to evaluate/),
      }),
    ]);
  });
});
