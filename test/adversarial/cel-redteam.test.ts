/**
 * Red team of the CEL validations, as a namespace user who writes the admitted object (the pod
 * spec, its labels and annotations, the ConfigMaps it references) but not the policy. The policy
 * is an operator's reasonable one. Each test states what SHOULD happen; the attacks that worked
 * before their fix say so in their name ("was admitted", "took", "was unbounded"), with the fix's
 * commit in the git log next to them. Everything runs through planAdmission + decideAdmission, as
 * the webhook decides.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { admissionRequest, deployment, type Obj, type RequestOptions } from '../fixtures/objects.js';
import { vectors } from '../fixtures/vectors.js';
import { decideAdmission } from '../../src/decision/decide.js';
import { planAdmission } from '../../src/decision/plan.js';
import { MemoryKeyring } from '../../src/keys/keyring.js';
import { formatV2, signV2 } from '../../src/manifest/v2.js';
import { PER_REQUEST_TIME_LIMIT_MS } from '../../src/policy/cel/cost.js';
import { parsePolicy } from '../../src/policy/load.js';
import type { Policy } from '../../src/policy/types.js';
import { ANNOTATIONS } from '../../src/vocabulary/keys.js';

const keyring = new MemoryKeyring([
  ['ci', Buffer.from(vectors.key)],
  ['dev', randomBytes(32)],
]);
const now = new Date('2026-05-01T00:00:00Z');

function manifest(key: string, claims: Record<string, unknown>): string {
  return formatV2(
    signV2(
      {
        apiVersion: 'modelgate.dev/v1',
        kind: 'ModelManifest',
        model: { name: 'fraud-detector', version: '3', source: 'git.example.com/ml/fraud' },
        files: [{ path: 'fraud-detector.onnx', sha256: vectors.sha256, size: 1048583 }],
        claims,
        signedAt: '2026-04-26T03:15:42Z',
      },
      keyring,
      key,
    )!,
  );
}

const GOOD_CLAIMS = { scan: 'passed', biasTestedAt: '2026-03-01T00:00:00Z', dataClassification: 'internal' };
const good = manifest('ci', GOOD_CLAIMS);

/** The operator's rule: these validations (expression, message) and variables, in enforce mode. */
function policy(validations: string[], variables: Record<string, string> = {}, extra = ''): Policy {
  const vars = Object.entries(variables)
    .map(([name, e]) => `      - name: ${name}\n        expression: ${JSON.stringify(e)}\n`)
    .join('');
  const text = `apiVersion: modelgate.dev/v1
kind: Policy
rules:
  - name: prod
${extra}${vars ? `    variables:\n${vars}` : ''}    validations:
${validations.map((v) => `      - ${v}`).join('\n')}
`;
  const loaded = parsePolicy(text, 'redteam.yaml');
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return loaded.policy;
}

const expr = (e: string, message = 'policy says no'): string =>
  `expression: ${JSON.stringify(e)}\n        message: ${JSON.stringify(message)}`;

function decide(p: Policy, object: Obj = deployment(good), opts: RequestOptions = {}) {
  return decideAdmission(planAdmission(admissionRequest(object, opts), p), { resolved: [], keyring, now });
}

function timedDecide(p: Policy, object: Obj, opts: RequestOptions = {}) {
  const start = performance.now();
  const d = decide(p, object, opts);
  return { d, ms: performance.now() - start };
}

const codes = (d: ReturnType<typeof decide>): string[] => d.record.reasons.map((r) => r.code);

const IMAGES = expr(
  "object.spec.template.spec.containers.all(c, c.image.startsWith('registry.internal/'))", // init containers: the official verify step
  'images come from registry.internal',
);
const REPLICAS = expr('object.spec.replicas <= 5', 'at most 5 replicas');

function internal(object: Obj = deployment(good)): Obj {
  for (const c of object.spec.template.spec.containers) c.image = 'registry.internal/triton:24.08';
  return object;
}

describe('cel red team: a validation that should fail cannot be made to hold or be skipped', () => {
  it('the baseline: the operator policy admits the honest workload and denies a foreign image', () => {
    const p = policy([IMAGES, REPLICAS]);
    expect(decide(p, internal()).response.allowed).toBe(true);
    const d = decide(p, deployment(good));
    expect(d.response.allowed).toBe(false);
    expect(codes(d)).toEqual(['cel-Invalid']);
  });

  it('an UPDATE that changes only what a validation reads outside the pod template (replicas) was admitted unchecked; it is re-checked', () => {
    const p = policy([REPLICAS]);
    const old = internal();
    const scaled = internal();
    scaled.spec.replicas = 500;
    const d = decide(p, scaled, { operation: 'UPDATE', oldObject: old });
    expect(d.response.allowed).toBe(false);
    expect(d.record.reasons).toEqual([
      expect.objectContaining({ code: 'cel-Invalid', message: 'rule "prod": at most 5 replicas' }),
    ]);
  });

  it('an UPDATE of a workload-level annotation or label a validation reads (not modelgate.dev/*, not by constant) was admitted unchecked; it is re-checked', () => {
    const p = policy([
      expr(
        "!has(object.metadata.annotations.owner) || object.metadata.annotations.owner.endsWith('@example.com')",
      ),
      expr("labels.all(k, !k.startsWith('bypass'))"),
    ]);
    const old = internal();
    const annotated = internal();
    annotated.metadata.annotations.owner = 'mallory@evil.test';
    expect(codes(decide(p, annotated, { operation: 'UPDATE', oldObject: old }))).toEqual(['cel-Invalid']);
    const labelled = internal();
    labelled.metadata.labels.bypass = 'yes';
    expect(codes(decide(p, labelled, { operation: 'UPDATE', oldObject: old }))).toEqual(['cel-Invalid']);
  });

  it('an UPDATE that changes nothing but what the API server and the garbage collector maintain is still skipped', () => {
    const p = policy([REPLICAS]);
    const old = internal();
    const same = internal();
    same.metadata.resourceVersion = '42';
    same.metadata.generation = 7;
    same.metadata.managedFields = [{ manager: 'kubectl', operation: 'Update' }];
    same.metadata.finalizers = ['foregroundDeletion']; // the garbage collector's
    same.metadata.ownerReferences = [];
    const d = decide(p, same, { operation: 'UPDATE', oldObject: old });
    expect(d.record.reasons).toEqual([{ code: 'template-unchanged', message: 'not verified' }]);
  });

  it('errors are absorbed by || only where the other side holds: a missing key next to a false check denies (commutative errors)', () => {
    const p = policy([
      expr("object.metadata.annotations['exempt'] == 'yes' || object.spec.replicas <= 5"),
      expr("!(object.metadata.annotations['exempt'] == 'yes' && object.spec.replicas > 5)"),
    ]);
    const big = internal();
    big.spec.replicas = 50;
    const d = decide(p, big);
    expect(d.response.allowed).toBe(false);
    expect(codes(d)).toEqual(['cel-error', 'cel-error']);
  });

  it('a cost stop inside a variable or a validation never becomes an allow, whatever || makes of it', () => {
    const o = internal();
    o.metadata.annotations.big = 'x'.repeat(256 * 1024);
    const costly = "object.metadata.annotations.big.replace('', object.metadata.annotations.big).size() > 0";
    const viaVariable = policy([expr('variables.huge || true')], { huge: costly });
    expect(codes(decide(viaVariable, o))).toEqual(['cel-cost-exceeded']);
    const viaOr = policy([expr(`${costly} || true`), expr(`true || ${costly}`)]);
    expect(codes(decide(viaOr, o))).toEqual(['cel-cost-exceeded']);
  });

  it.each([
    ['a string where an int is read', { replicas: '1' }, 'cel-error'],
    ['a double over the limit', { replicas: 5.5 }, 'cel-Invalid'],
    ['a number past int64 (read as a double)', { replicas: 1e300 }, 'cel-Invalid'],
    ['a whole number past 2^53 (read as a double, not a wrapped int)', { replicas: 2 ** 64 }, 'cel-Invalid'],
    ['six (an int compared with an int)', { replicas: 6 }, 'cel-Invalid'],
    ['null', { replicas: null }, 'cel-error'],
    ['a list', { replicas: [1] }, 'cel-error'],
    [
      'a map with "$typeName"',
      { replicas: { $typeName: 'google.protobuf.Int64Value', value: '1' } },
      'cel-error',
    ],
  ])('JSON shapes: %s is no replica count under 5', (_what, spec, code) => {
    const o = internal();
    Object.assign(o.spec, spec);
    const d = decide(policy([REPLICAS]), o);
    expect(d.response.allowed).toBe(false);
    expect(codes(d)).toEqual([code]);
  });

  it.each(['', ' ', ' 3 ', '0x3', '0b11', '0o3', '3.0', '1e1', '3_0', 'Infinity', '\u0663'])(
    'a count in an annotation that is no CEL number (%j) is an error, never a number (int("") was 0, int("0x3") 3)',
    (text) => {
      const p = policy([
        expr('int(object.metadata.annotations.gpus) >= 0 && int(object.metadata.annotations.gpus) <= 4'),
        expr('uint(object.metadata.annotations.gpus) <= 4u'),
      ]);
      const o = internal();
      o.metadata.annotations.gpus = text;
      const d = decide(p, o);
      expect(d.response.allowed).toBe(false);
      expect(codes(d)).toEqual(['cel-error', 'cel-error']);
    },
  );

  it.each(['', ' ', '0x3', '1_0', 'Infinity', 'inf', 'NaN', '1e', '.'])(
    'a double in an annotation that is no CEL number (%j) is an error',
    (text) => {
      const p = policy([expr('double(object.metadata.annotations.ratio) <= 4.0')]);
      const o = internal();
      o.metadata.annotations.ratio = text;
      expect(codes(decide(p, o))).toEqual(['cel-error']);
    },
  );

  it.each(['', ' ', '1d', '0x10s', '1h '])(
    'a duration in an annotation that is not in CEL syntax (%j) is an error (duration("") was 0s)',
    (text) => {
      const p = policy([expr("duration(object.metadata.annotations.ttl) != duration('0s')")]);
      const o = internal();
      o.metadata.annotations.ttl = text;
      expect(codes(decide(p, o))).toEqual(['cel-error']);
    },
  );

  it('CEL numbers in strings still convert: "3", "+3", "-0", "2.5", ".5", "1e2" for double', () => {
    const p = policy([
      expr(
        "int('3') == 3 && int('+3') == 3 && int('-0') == 0 && uint('3') == 3u && double('2.5') == 2.5 && double('.5') == 0.5 && double('1e2') == 100.0 && double('-3') == -3.0 && duration('0') == duration('0s') && duration('1h30m') == duration('90m') && duration('-1.5h') < duration('0s') && duration('1.5h') == duration('90m') && duration('300ms') < duration('1s')",
      ),
    ]);
    expect(decide(p, internal()).response.allowed).toBe(true);
  });

  it('a sum past int64 is an error (as `+` is), not a larger number', () => {
    const p = policy([expr('object.spec.items.sum() <= 8')]);
    const o = internal();
    o.spec.items = Array.from({ length: 2000 }, () => 2 ** 53 - 1);
    expect(codes(decide(p, o))).toEqual(['cel-error']);
  });

  it.each([
    'constructor',
    '__proto__',
    'toString',
    'size',
    'hasOwnProperty',
    '$typeName',
    'a\u0000b',
    'é',
    'e\u0301',
  ])('a key named %j is read as data, never as a property of the object or of CEL', (key) => {
    const p = policy([
      expr(`object.metadata.annotations[${JSON.stringify(key)}] == 'allow'`),
      expr(`!(${JSON.stringify(key)} in object.metadata.annotations)`),
    ]);
    const without = decide(p, internal());
    expect(codes(without)).toEqual(['cel-error']); // absent: no such key, not a prototype member
    const o = internal();
    // as the decoder builds it (JSON.parse: "__proto__" an own key, not the prototype)
    const text = JSON.stringify(o.metadata.annotations).slice(0, -1);
    o.metadata.annotations = JSON.parse(`${text}, ${JSON.stringify(key)}: "allow"}`);
    expect(codes(decide(p, o))).toEqual(['cel-Invalid']); // present: found as data
  });

  it('a normalised twin of a key (é precomposed vs decomposed) is another key', () => {
    const p = policy([expr("labels['tier'] in ['gold', 'silver']")]);
    const o = internal();
    o.spec.template.metadata.labels['tie\u0301r'] = 'gold';
    expect(codes(decide(p, o))).toEqual(['cel-error']);
  });

  it.each([
    ["object.metadata.annotations.all(k, k != 'evil')"],
    ["!object.metadata.annotations.exists(k, k == 'evil')"],
    ["object.metadata.annotations.exists_one(k, k == 'evil') == false"],
    ["object.metadata.annotations.filter(k, k == 'evil').size() == 0"],
    ["!('evil' in object.metadata.annotations.map(k, k))"],
    ["!('evil' in object.metadata.annotations)"],
    ['!has(object.metadata.annotations.evil)'],
    ['size(object.metadata.annotations) == 1'],
    [
      "object.metadata.annotations == {'modelgate.dev/manifest': object.metadata.annotations['modelgate.dev/manifest']}",
    ],
    ["object.spec.template.spec.all(k, k != 'hostNetwork')"],
  ])('iterating the object (a lazy view) sees every key: %s', (e) => {
    const o = internal();
    o.metadata.annotations.evil = 'x';
    o.spec.template.spec.hostNetwork = true;
    expect(codes(decide(policy([expr(e)]), o))).toEqual(['cel-Invalid']);
  });

  it('two views of different maps are never equal (same size, other keys; other values; one key more)', () => {
    const p = policy([expr('object.metadata.annotations == oldObject.metadata.annotations')]);
    const variants: [Record<string, string>, Record<string, string>][] = [
      [{ a: '1' }, { b: '1' }],
      [{ a: '1' }, { a: '2' }],
      [{ a: '1' }, { a: '1', b: '1' }],
      [{ a: '1', b: '1' }, { a: '1' }],
    ];
    for (const [now, before] of variants) {
      const o = internal();
      const old = internal();
      Object.assign(o.metadata.annotations, now);
      Object.assign(old.metadata.annotations, before);
      expect(codes(decide(p, o, { operation: 'UPDATE', oldObject: old }))).toEqual(['cel-Invalid']);
    }
  });

  it('a map where a list is expected (containers as a map) is no list of compliant containers', () => {
    const p = policy([IMAGES]);
    const o = internal();
    o.spec.template.spec.containers = { a: { name: 'a', image: 'evil.test/x' } };
    expect(decide(p, o).response.allowed).toBe(false);
  });

  it('duplicate keys in the request body: the webhook reads what JSON.parse keeps, the last, as the API server does', () => {
    // the API server re-encodes the object it decoded: a body it sends never has duplicates. If one
    // did, the one value modelgate reads is the last, and both the rule and the validation read it.
    const body = '{"replicas": 1, "replicas": 50}';
    const o = internal();
    o.spec.replicas = (JSON.parse(body) as { replicas: number }).replicas;
    expect(codes(decide(policy([REPLICAS]), o))).toEqual(['cel-Invalid']);
  });

  it('nesting 500 levels deep (under the decoder limit) is compared without a crash', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 500; i++) deep = { d: deep };
    const o = internal();
    o.spec.deep = deep;
    const d = decide(policy([expr('object.spec.deep == object.spec.deep && object.spec.replicas > 5')]), o);
    expect(d.response.allowed).toBe(false);
  });

  it('a JSON null reads as absent (has() is false), as the API server stores it; never as a value that passes', () => {
    const o = internal();
    o.spec.template.spec.securityContext = null;
    const guarded = policy([
      expr(
        '!has(object.spec.template.spec.securityContext) || object.spec.template.spec.securityContext.runAsNonRoot == true',
      ),
    ]);
    expect(decide(guarded, o).response.allowed).toBe(true); // the operator's rule: absent is allowed
    const required = policy([expr('object.spec.template.spec.securityContext.runAsNonRoot == true')]);
    expect(codes(decide(required, o))).toEqual(['cel-error']);
  });
});

describe('cel red team: labels', () => {
  it('a label set only on the Deployment satisfies `labels` (its documented meaning) but not a read of the pod template, which the pods carry', () => {
    const o = internal();
    o.metadata.labels.zone = 'restricted'; // the pods will not carry it
    const viaLabels = policy([expr("'zone' in labels && labels.zone == 'restricted'")]);
    expect(decide(viaLabels, o).response.allowed).toBe(true);
    const viaTemplate = policy([
      expr(
        "has(object.spec.template.metadata.labels.zone) && object.spec.template.metadata.labels.zone == 'restricted'",
      ),
    ]);
    expect(codes(decide(viaTemplate, o))).toEqual(['cel-Invalid']);
  });

  it('a Deployment label contradicting the template on a label a validation names is refused', () => {
    const o = internal();
    o.metadata.labels.zone = 'restricted';
    o.spec.template.metadata.labels.zone = 'open';
    const p = policy([expr("'zone' in labels && labels.zone == 'restricted'")]);
    expect(codes(decide(p, o))).toContain('label-contradicts-template');
  });
});

describe('cel red team: only verified, signed facts reach models', () => {
  const STRICT = expr(
    "models.size() > 0 && models.all(m, m.claims.scan == 'passed' && m.claims.dataClassification != 'pii')",
    'scanned, not pii',
  );

  it('a tampered manifest in a list with a good one is a deny of its own, never a model', () => {
    const p = policy([STRICT, expr('models.size() == 1', 'one model')]);
    const tampered = good.replace('"internal"', '"pii"');
    const d = decide(p, internal(deployment(`[${good}, ${tampered}]`)));
    expect(d.response.allowed).toBe(false);
    expect(codes(d).filter((c) => c.startsWith('cel-'))).toEqual([]);
  });

  it('a tampered manifest in a second carrier (the pod template, under a good one on the workload) never reaches models', () => {
    const p = policy([
      STRICT,
      expr("models.size() == 1 && models[0].claims.dataClassification == 'internal'", 'one model'),
    ]);
    const o = internal();
    o.spec.template.metadata.annotations = { [ANNOTATIONS.manifest]: good.replace('"internal"', '"pii"') };
    const d = decide(p, o);
    expect(codes(d).filter((c) => c.startsWith('cel-'))).toEqual([]);
  });

  it('a manifest signed by a loaded key the rule does not trust passes the validations but is denied (key-not-trusted)', () => {
    const p = policy([STRICT], {}, '    keys: { trusted: [ci] }\n');
    const d = decide(p, internal(deployment(manifest('dev', GOOD_CLAIMS))));
    expect(d.response.allowed).toBe(false);
    expect(codes(d)).toEqual(['key-not-trusted']);
  });

  it('unsigned statements (annotations next to the manifest) never become claims', () => {
    const p = policy([expr('models.all(m, !has(m.claims.approvers) && !has(m.claims.override))')]);
    const o = internal();
    o.metadata.annotations[ANNOTATIONS.approvedBy] = 'alice,bob';
    o.metadata.annotations['modelgate.dev/claims'] = '{"approvers":["alice"],"override":true}';
    expect(codes(decide(p, o))).not.toContain('cel-Invalid');
  });
});

describe('cel red team: cost and time per request stay bounded', () => {
  const MiB = 1024 * 1024;

  it('an image-reference regex over a 2 MiB image took ~1 s in one uninterruptible scan; it is refused by its cost before it runs', () => {
    const p = policy([
      expr(
        "object.spec.template.spec.containers.all(c, c.image.matches('^([a-z0-9]+([._-][a-z0-9]+)*/)*[a-z0-9]+([._-][a-z0-9]+)*(:[\\\\w][\\\\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$'))",
      ),
    ]);
    const o = internal();
    o.spec.template.spec.containers[0].image = 'a'.repeat(2 * MiB) + '!';
    const { d, ms } = timedDecide(p, o);
    expect(codes(d)).toEqual(['cel-cost-exceeded']);
    expect(ms).toBeLessThan(PER_REQUEST_TIME_LIMIT_MS);
  });

  it.each([
    [
      'a secrets scan of every argument',
      "object.spec.template.spec.containers.all(c, !has(c.args) || c.args.all(a, !a.matches('(?i)(password|secret|token|api[_-]?key)\\\\s*[:=]')))",
    ],
    [
      'find over an annotation',
      "object.metadata.annotations.all(k, object.metadata.annotations[k].find('[a-z0-9]([-a-z0-9]*[a-z0-9])?') != 'evil')",
    ],
    [
      'findAll over an annotation',
      "object.metadata.annotations.all(k, object.metadata.annotations[k].findAll('[0-9]+').size() < 10)",
    ],
  ])('%s over 1 MiB: a deny well inside the time limit, or an answer', (_what, e) => {
    const o = internal();
    o.spec.template.spec.containers[0].args = ['x'.repeat(MiB)];
    o.metadata.annotations.big = '1-'.repeat(MiB / 2);
    const { ms } = timedDecide(policy([expr(e)]), o);
    expect(ms).toBeLessThan(PER_REQUEST_TIME_LIMIT_MS);
  });

  it('a pattern taken from the object (9.7 KB of a{1000}) took 3.4 s and 226 MB to compile; it is refused by its cost before it is compiled', () => {
    const p = policy([expr("object.metadata.name.matches(object.metadata.annotations['name-pattern'])")]);
    const o = internal();
    o.metadata.annotations['name-pattern'] = 'a{1000}'.repeat(1390);
    const { d, ms } = timedDecide(p, o);
    expect(codes(d)).toEqual(['cel-cost-exceeded']);
    expect(ms).toBeLessThan(PER_REQUEST_TIME_LIMIT_MS);
  });

  it('a pattern built at run time is paid for once per request, so an honest one over many containers passes', () => {
    const p = policy(
      [expr("object.spec.template.spec.containers.all(c, c.image.matches('^' + variables.registry + '/'))")],
      { registry: "'registry' + '\\\\.internal'" },
    );
    const o = internal();
    for (let i = 0; i < 20; i++)
      o.spec.template.spec.containers.push({ ...o.spec.template.spec.containers[0], name: `c${i}` });
    expect(decide(p, o).response.allowed).toBe(true);
    o.spec.template.spec.containers[5].image = 'registryXinternal/x';
    expect(codes(decide(p, o))).toEqual(['cel-Invalid']);
  });

  it('the same regex on an honest image costs next to nothing', () => {
    const p = policy([
      expr(
        "object.spec.template.spec.containers.all(c, c.image.matches('^registry\\\\.internal/[a-z0-9._/-]+(:[\\\\w][\\\\w.-]{0,127})?$'))",
      ),
    ]);
    expect(decide(p, internal()).response.allowed).toBe(true);
  });

  it('a CEL error quoting a 1 MiB value was unbounded in the response and the audit record (1 MiB each); it is cut', () => {
    const p = policy([
      expr("{'registry.internal/triton:24.08': true}[object.spec.template.spec.containers[0].image]"),
    ]);
    const o = internal();
    o.spec.template.spec.containers[0].image = 'y'.repeat(MiB);
    const d = decide(p, o);
    expect(codes(d)).toEqual(['cel-error']);
    expect(d.response.status?.message?.length).toBeLessThan(2048);
    expect(JSON.stringify(d.record).length).toBeLessThan(4096);
    expect(d.event?.note.length).toBeLessThanOrEqual(1024);
  });

  it('a messageExpression interpolating a 256 KiB annotation is cut to 1 KiB everywhere it goes', () => {
    const p = policy([
      `expression: "object.spec.replicas <= 1"\n        messageExpression: "'too many replicas for ' + object.metadata.annotations.owner + object.metadata.annotations.owner"`,
    ]);
    const o = internal();
    o.metadata.annotations.owner = 'z'.repeat(256 * 1024);
    const d = decide(p, o);
    expect(d.response.allowed).toBe(false);
    expect(d.response.status?.message?.length).toBeLessThan(1200);
    expect(JSON.stringify(d.record).length).toBeLessThan(2048);
  });

  it('string walkers (lowerAscii, strings.quote, format) chained over a 2 MiB string stop at the clock, one call late at most', () => {
    const o = internal();
    o.spec.template.spec.containers[0].args = ['Q'.repeat(2 * MiB)];
    const a = 'object.spec.template.spec.containers[0].args[0]';
    const p = policy([
      expr(`${a}.lowerAscii().upperAscii().lowerAscii().upperAscii().lowerAscii().upperAscii().size() == 0`),
      expr(`strings.quote(${a}).size() == 0 && '%s'.format([${a}]).size() == 0`),
    ]);
    const { d, ms } = timedDecide(p, o);
    expect(codes(d)).toEqual(['cel-time-exceeded']);
    expect(ms).toBeLessThan(4 * PER_REQUEST_TIME_LIMIT_MS);
  });

  it('timestamps memoised across calls are never changed by the arithmetic done on them', () => {
    const t = "timestamp('2026-04-01T00:00:00Z')";
    const p = policy([
      expr(
        `${t} + duration('720h') == timestamp('2026-05-01T00:00:00Z') && ${t} - duration('24h') == timestamp('2026-03-31T00:00:00Z') && ${t}.getDate() == 1`,
      ),
    ]);
    for (let i = 0; i < 3; i++) expect(decide(p, internal()).response.allowed).toBe(true);
  });

  it('replace over a 2 MiB string of matches ran for minutes (quadratic in the library); it is linear', () => {
    const o = internal();
    o.metadata.annotations.owners = ' '.repeat(256 * 1024);
    o.spec.template.spec.containers[0].args = ['x'.repeat(2 * MiB)];
    const p = policy([
      expr("object.metadata.annotations.owners.replace(' ', '').size() == 0"),
      expr("object.spec.template.spec.containers[0].args[0].replace('x', 'y').size() == 2097152"),
      expr("object.spec.template.spec.containers[0].args[0].replace('x', 'yy', 3).size() == 2097155"),
      expr("object.spec.template.spec.containers[0].args[0].replace('', '').size() == 2097152"),
    ]);
    const { d, ms } = timedDecide(p, o);
    // linear: done, or stopped by the clock one call late, never minutes; an empty needle walks
    // every character, and is charged so: refused before it runs on 2 MiB
    expect(codes(d).every((c) => c === 'cel-time-exceeded' || c === 'cel-cost-exceeded')).toBe(true);
    expect(ms).toBeLessThan(4 * PER_REQUEST_TIME_LIMIT_MS);
    const small = internal();
    small.metadata.annotations.owners = ' '.repeat(64 * 1024);
    small.spec.template.spec.containers[0].args = ['x'.repeat(64 * 1024)];
    const fits = policy([
      expr("object.metadata.annotations.owners.replace(' ', '').size() == 0"),
      expr("object.spec.template.spec.containers[0].args[0].replace('x', 'yy', 3).size() == 65539"),
    ]);
    expect(decide(fits, small).response.allowed).toBe(true);
  });

  it('replace follows cel-go: a negative count replaces all, an empty needle goes between characters', () => {
    const p = policy([
      expr(
        "'a.b.c'.replace('.', '/') == 'a/b/c' && 'a.b.c'.replace('.', '/', 1) == 'a/b.c' && 'a.b.c'.replace('.', '/', -1) == 'a/b/c' && 'a.b'.replace('.', '/', 0) == 'a.b' && 'ab'.replace('', '-') == '-a-b-' && 'ab'.replace('', '-', 2) == '-a-b' && 'héllo'.replace('é', 'e') == 'hello'",
      ),
    ]);
    expect(decide(p, internal()).response.allowed).toBe(true);
  });

  it('split, join and wide comprehensions over a 256 KiB annotation end as a deny inside bounded time', () => {
    const o = internal();
    o.metadata.annotations.list = ','.repeat(256 * 1024);
    const p = policy([
      expr("object.metadata.annotations.list.split(',').all(s, s.size() < 10) && false"),
      expr("object.metadata.annotations.list.split(',').map(s, s + s).join(',').size() < 10"),
      expr(
        "object.metadata.annotations.list.split(',').all(a, object.metadata.annotations.list.split(',').all(b, a == b)) && false",
      ),
    ]);
    const { d, ms } = timedDecide(p, o);
    expect(d.response.allowed).toBe(false);
    expect(codes(d).every((c) => /^cel-(cost|time)-exceeded$|^cel-Invalid$/.test(c))).toBe(true);
    expect(ms).toBeLessThan(4 * PER_REQUEST_TIME_LIMIT_MS);
  });
});

describe('cel red team: nothing is kept between requests', () => {
  it("a variable computed from one request's object is never seen by the next", () => {
    const p = policy([expr("variables.owner == 'alice'")], {
      owner: "has(object.metadata.annotations.owner) ? object.metadata.annotations.owner : 'nobody'",
    });
    const a = internal();
    a.metadata.annotations.owner = 'alice';
    expect(decide(p, a).response.allowed).toBe(true);
    expect(codes(decide(p, internal()))).toEqual(['cel-Invalid']);
    expect(decide(p, a).response.allowed).toBe(true);
  });

  it('comprehension results (map, filter) are built anew per evaluation, never accumulated across requests', () => {
    const p = policy(
      [
        expr(
          "variables.images.size() == size(object.spec.template.spec.containers) && variables.images.all(i, i.startsWith('registry.internal/')) && [1, 2].all(n, variables.internal.map(x, x).size() == variables.images.size())",
        ),
      ],
      {
        images: 'object.spec.template.spec.containers.map(c, c.image)',
        internal: "variables.images.filter(i, i.startsWith('registry.internal/'))",
      },
    );
    const wide = internal();
    wide.spec.template.spec.containers.push({
      ...wide.spec.template.spec.containers[0],
      name: 'b',
      image: 'evil.test/x',
    });
    for (let i = 0; i < 3; i++) {
      expect(decide(p, internal()).response.allowed).toBe(true);
      expect(codes(decide(p, wide))).toEqual(['cel-Invalid']);
    }
  });

  it("a memoised conversion (timestamp of an attacker's text) answers per text, never for another", () => {
    const p = policy([expr('timestamp(object.metadata.annotations.until) > now')]);
    const future = internal();
    future.metadata.annotations.until = '2027-01-01T00:00:00Z';
    const past = internal();
    past.metadata.annotations.until = '2020-01-01T00:00:00Z';
    for (let i = 0; i < 300; i++) {
      const o = internal();
      o.metadata.annotations.until = `2021-01-01T00:00:${String(i % 60).padStart(2, '0')}.${i}Z`;
      decide(p, o);
    }
    expect(decide(p, future).response.allowed).toBe(true);
    expect(codes(decide(p, past))).toEqual(['cel-Invalid']);
    expect(decide(p, future).response.allowed).toBe(true);
  });

  it('a request stopped by the clock or the cost leaves no stop behind for the next', () => {
    const p = policy([
      expr(
        "object.metadata.annotations.big.replace('', object.metadata.annotations.big).size() == 0 || object.spec.replicas <= 5",
      ),
    ]);
    const costly = internal();
    costly.metadata.annotations.big = 'x'.repeat(64 * 1024);
    expect(codes(decide(p, costly))).toEqual(['cel-cost-exceeded']);
    const honest = internal();
    honest.metadata.annotations.big = '';
    expect(decide(p, honest).response.allowed).toBe(true);
  });

  it('regular expressions built from the object share no state with the constant ones', () => {
    const p = policy([
      expr(
        "object.metadata.name.matches('^fraud-') && object.metadata.annotations.all(k, !k.startsWith('re') || 'abc'.matches(object.metadata.annotations[k]))",
      ),
    ]);
    const o = internal();
    for (let i = 0; i < 300; i++) o.metadata.annotations[`re${i}`] = `^a.c${'?'.repeat(i % 3)}`;
    expect(decide(p, o).response.allowed).toBe(true);
    o.metadata.name = 'evil';
    expect(codes(decide(p, o))).toEqual(['cel-Invalid']);
  });
});

describe('cel red team: request fields the attacker sets', () => {
  it('dryRun changes nothing a validation decides (only whether an Event is written)', () => {
    const p = policy([REPLICAS]);
    const big = internal();
    big.spec.replicas = 50;
    const dry = decide(p, big, { dryRun: true });
    expect(dry.response.allowed).toBe(false);
    expect(dry.event).toBeUndefined();
    expect(codes(dry)).toEqual(codes(decide(p, big)));
  });

  it('userInfo is the authenticated requester from the API server: object fields naming a user are not it', () => {
    const p = policy([expr("'system:serviceaccounts:ci' in request.userInfo.groups", 'only CI deploys')]);
    const o = internal();
    o.metadata.annotations['kubernetes.io/created-by'] = 'system:serviceaccount:ci:deployer';
    o.metadata.annotations.groups = 'system:serviceaccounts:ci';
    expect(codes(decide(p, o))).toEqual(['cel-Invalid']);
    expect(
      decide(p, o, { groups: ['system:serviceaccounts', 'system:serviceaccounts:ci'] }).response.allowed,
    ).toBe(true);
  });
});
