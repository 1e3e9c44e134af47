/**
 * Properties of the whole decision under the default policy: it never throws, and it never
 * allows a labelled inference Deployment whose manifest is an arbitrary JSON value, an arbitrary
 * string, or the valid manifest with arbitrary hostile mutations.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { admissionRequest, deployment, workloadOfKind } from '../fixtures/objects.js';
import { vectors } from '../fixtures/vectors.js';
import { decideAdmission } from '../../src/decision/decide.js';
import { planAdmission } from '../../src/decision/plan.js';
import { defaultPolicy } from '../../src/policy/defaults.js';
import { decide, expectDenied, expectNoSecret, keyring, NOW } from './helpers.js';

const valid = JSON.parse(vectors.manifestText) as Record<string, unknown>;

/** Anything that could be a JSON value, written as annotation text (undefined and the like → "null"). */
const jsonText = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.anything({ withBigInt: false }).map((v) => {
    try {
      return JSON.stringify(v) ?? 'null';
    } catch {
      return 'null';
    }
  }),
);

describe('property: decideAdmission under the default policy', () => {
  it('never allows an inference Deployment whose manifest is an arbitrary JSON value', () => {
    fc.assert(
      fc.property(jsonText, (text) => {
        expectDenied(decide(deployment(text)));
      }),
      { numRuns: 400 },
    );
  });

  it('never allows one whose manifest is an arbitrary string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        fc.pre(text !== vectors.manifestText);
        expectDenied(decide(deployment(text)));
      }),
      { numRuns: 200 },
    );
  });

  it('never allows the seed manifest with its signed field (file_hash) or signature replaced by any value', () => {
    fc.assert(
      fc.property(fc.constantFrom('file_hash', 'signature'), fc.jsonValue(), (field, value) => {
        fc.pre(value !== valid[field]);
        expectDenied(decide(deployment(JSON.stringify({ ...valid, [field]: value }))));
      }),
      { numRuns: 300 },
    );
  });

  it('never allows it with extra members added, whatever their names and values', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue(), { minKeys: 1, maxKeys: 3 }), (extra) => {
        fc.pre(Object.keys(extra).some((k) => !(k in valid)));
        const text = JSON.stringify({ ...extra, ...valid }).replace(/^\{/, '{');
        expectDenied(decide(deployment(text)));
      }),
      { numRuns: 300 },
    );
  });

  it('never throws, whatever object, old object, subresource and operation a request carries', () => {
    const kinds = ['Deployment', 'Pod', 'ReplicaSet', 'ReplicationController', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob'];
    fc.assert(
      fc.property(
        fc.constantFrom(...kinds),
        fc.constantFrom('CREATE', 'UPDATE', 'DELETE', 'CONNECT'),
        fc.oneof(fc.constant(undefined), fc.constantFrom('ephemeralcontainers', 'status', 'scale')),
        fc.tuple(fc.anything({ maxDepth: 4 }), fc.jsonValue({ maxDepth: 4 })),
        (kind, operation, subResource, [junk, oldJunk]) => {
          const object = workloadOfKind(kind);
          // graft hostile junk at the places the extractor reads
          object.metadata.annotations = junk;
          (object.spec.template ?? object.spec.jobTemplate?.spec?.template ?? object).spec = { initContainers: junk, containers: oldJunk, volumes: junk };
          const request = admissionRequest(object, { operation: operation as 'CREATE', oldObject: { spec: oldJunk }, subResource });
          const d = decideAdmission(planAdmission(request, defaultPolicy()), { resolved: [], keyring, now: NOW });
          expect(typeof d.response.allowed).toBe('boolean');
          expect(d.response.uid).toBe(request.uid);
          expectNoSecret(d);
          // a labelled inference workload created by a user is never allowed without a manifest
          if (operation === 'CREATE' && subResource === undefined) expect(d.response.allowed).toBe(false);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('a signed manifest never admits a workload whose verify init pins a different hash', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-f]{64}$/), (pin) => {
        fc.pre(pin !== vectors.sha256);
        const d = deployment();
        d.spec.template.spec.initContainers[0].args[3] = pin;
        expectDenied(decide(d), 'verify-init-not-pinned');
      }),
      { numRuns: 200 },
    );
  });
});
