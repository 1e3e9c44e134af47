import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KubeError, type KubeApi, type SecretData, type WebhookPublication } from '../kube/client.js';
import { certificateInfo } from './certs.js';
import { SelfManagedCertificateSource, caBundle } from './selfmanaged.js';

/** An API server holding one Secret with resourceVersion semantics. */
class FakeApi implements Partial<KubeApi> {
  secret: SecretData | undefined;
  version = 0;
  bundles: string[] = [];
  policies: (string | undefined)[] = [];
  creates = 0;
  readSecret(): Promise<SecretData | undefined> {
    return Promise.resolve(
      this.secret && { data: { ...this.secret.data }, resourceVersion: this.secret.resourceVersion },
    );
  }
  async createSecret(_ns: string, _name: string, data: Record<string, string>): Promise<void> {
    this.creates++;
    await new Promise((r) => setTimeout(r, 5));
    if (this.secret) throw new KubeError('exists', 409);
    this.secret = { data, resourceVersion: String(++this.version) };
  }
  replaceSecret(_ns: string, _name: string, s: SecretData): Promise<void> {
    if (s.resourceVersion !== this.secret?.resourceVersion)
      return Promise.reject(new KubeError('conflict', 409));
    this.secret = { data: s.data, resourceVersion: String(++this.version) };
    return Promise.resolve();
  }
  publishWebhook(_name: string, want: WebhookPublication): Promise<void> {
    this.bundles.push(want.caPem);
    this.policies.push(want.failurePolicy);
    return Promise.resolve();
  }
}

function source(api: FakeApi, now: () => Date, validDays = 90, failurePolicy?: 'Fail' | 'Ignore') {
  return new SelfManagedCertificateSource({
    failurePolicy,
    api: api as unknown as KubeApi,
    namespace: 'modelgate',
    secretName: 'modelgate-tls',
    serviceName: 'modelgate',
    webhookConfig: 'modelgate',
    validDays,
    now,
  });
}

describe('SelfManagedCertificateSource', () => {
  it('creates the Secret once, for the Service DNS names, and publishes the CA', async () => {
    const api = new FakeApi();
    const s = source(api, () => new Date());
    await s.sync();
    const pair = s.current()!;
    expect(certificateInfo(pair.certPem).dnsNames).toEqual([
      'modelgate',
      'modelgate.modelgate',
      'modelgate.modelgate.svc',
      'modelgate.modelgate.svc.cluster.local',
    ]);
    expect(api.bundles).toEqual([caBundle(api.secret!.data)]);
    const ca = new X509Certificate(api.secret!.data['ca.crt']!);
    expect(new X509Certificate(pair.certPem).verify(ca.publicKey)).toBe(true);
    expect(s.healthy()).toBe(true);
  });

  it('two replicas starting together end with the same certificate (409 → re-read)', async () => {
    const api = new FakeApi();
    const a = source(api, () => new Date());
    const b = source(api, () => new Date());
    await Promise.all([a.sync(), b.sync()]);
    expect(api.creates).toBe(2);
    expect(a.current()!.certPem).toBe(b.current()!.certPem);
    expect(a.current()!.certPem).toBe(api.secret!.data['tls.crt']);
  });

  it('keeps a valid certificate, renews at 2/3 of its lifetime with the same CA', async () => {
    const api = new FakeApi();
    let now = new Date('2026-01-01T00:00:00Z');
    const s = source(api, () => now);
    const seen: string[] = [];
    s.onChange((p) => seen.push(p.certPem));
    await s.sync();
    const first = s.current()!.certPem;
    now = new Date('2026-02-15T00:00:00Z'); // day 45 of 90
    await s.sync();
    expect(s.current()!.certPem).toBe(first);
    now = new Date('2026-03-02T00:00:00Z'); // day 60 ≈ 2/3
    await s.sync();
    expect(s.current()!.certPem).not.toBe(first);
    expect(seen).toHaveLength(2);
    expect(api.secret!.data['ca-previous.crt']).toBeUndefined();
    expect(s.notAfter()!.getTime()).toBeGreaterThan(new Date('2026-05-01T00:00:00Z').getTime());
  });

  it('writes the configured failurePolicy only once the server listens, then in every round', async () => {
    const api = new FakeApi();
    const s = source(api, () => new Date(), 90, 'Fail');
    await s.sync();
    expect(api.policies).toEqual([undefined]);
    await s.listening();
    await s.sync();
    expect(api.policies).toEqual([undefined, 'Fail', 'Fail']);
    expect(new Set(api.bundles).size).toBe(1);
  });

  it('without a configured failurePolicy, leaves it as installed', async () => {
    const api = new FakeApi();
    const s = source(api, () => new Date());
    await s.listening();
    await s.sync();
    expect(api.policies).toEqual([undefined]);
  });

  it('a missing webhook configuration is retried, not fatal', async () => {
    const api = new FakeApi();
    let missing = true;
    api.publishWebhook = (_name: string, want: WebhookPublication) => {
      if (missing) return Promise.reject(new KubeError('not found', 404));
      api.bundles.push(want.caPem);
      return Promise.resolve();
    };
    const s = source(api, () => new Date());
    await s.sync();
    expect(s.current()).toBeDefined();
    expect(api.bundles).toEqual([]);
    missing = false;
    await s.sync();
    expect(api.bundles).toHaveLength(1);
  });

  it('re-issues when the Secret does not cover the Service names', async () => {
    const api = new FakeApi();
    await source(api, () => new Date()).sync();
    const other = new SelfManagedCertificateSource({
      api: api as unknown as KubeApi,
      namespace: 'modelgate',
      secretName: 'modelgate-tls',
      serviceName: 'renamed',
      webhookConfig: 'modelgate',
    });
    expect(other.needsRenewal(api.secret!.data)).toBe(true);
  });
});
