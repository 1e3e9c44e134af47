import type { FailurePolicy, KubeApi, SecretData } from '../kube/client.js';
import { statusOf } from '../kube/client.js';
import {
  certificateInfo,
  createCA,
  createServingCert,
  pairMatches,
  serviceDnsNames,
  type KeyPair,
} from './certs.js';
import { ListenerSet } from '../watch/listeners.js';
import type { CertificateSource } from './source.js';

/**
 * Self-managed TLS: modelgate is its own CA.
 *
 * - One Secret (`tls.crt`, `tls.key`, `ca.crt`, `ca.key`, and `ca-previous.crt` during a CA
 *   rotation) is the single source of truth shared by every replica. The first replica to
 *   start creates it; a 409 means another replica won, so it re-reads and uses theirs.
 *   Renewals replace it with the resourceVersion read (optimistic concurrency), so two
 *   replicas renewing at once end with one certificate.
 * - The CA goes into `caBundle` of every webhook in the ValidatingWebhookConfiguration.
 * - The serving certificate is renewed at `renewAt` (default 2/3) of its lifetime, well
 *   before expiry; the CA lives 10 years and is rotated the same way, with the previous CA
 *   kept in the bundle so the API server trusts old and new certificates during the change.
 * - Every replica re-reads the Secret and re-checks the caBundle each `checkEveryMs` (15 s),
 *   so a renewal made by another replica reaches all of them, and a webhook configuration
 *   installed after the pods (or reset by a `helm upgrade`) gets its caBundle back.
 * - The chart installs the configuration with failurePolicy Ignore: until a server answers,
 *   an API server that cannot call it admits rather than refuses (no outage at install, or
 *   ever, when the image does not pull). Once this server listens (`listening()`), it writes
 *   the configured `failurePolicy` (Fail) with the caBundle, and restores it in every round.
 */

export interface SelfManagedOptions {
  api: KubeApi;
  namespace: string;
  secretName: string;
  serviceName: string;
  webhookConfig: string;
  /** Written with the caBundle once the server listens; absent: left as installed. */
  failurePolicy?: FailurePolicy;
  validDays?: number;
  caValidDays?: number;
  /** Fraction of the lifetime after which a certificate is renewed (default 2/3). */
  renewAt?: number;
  checkEveryMs?: number;
  callTimeoutMs?: number;
  now?: () => Date;
  onError?: (message: string) => void;
  onInfo?: (message: string) => void;
}

const K = {
  cert: 'tls.crt',
  key: 'tls.key',
  ca: 'ca.crt',
  caKey: 'ca.key',
  caPrevious: 'ca-previous.crt',
} as const;

export class SelfManagedCertificateSource implements CertificateSource {
  private pair: KeyPair | undefined;
  private expiry: Date | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly changes = new ListenerSet<KeyPair>();
  /** Set once the server answers on this certificate: only then is failurePolicy written. */
  private serving = false;
  private readonly o: Required<Omit<SelfManagedOptions, 'onError' | 'onInfo' | 'failurePolicy'>> &
    SelfManagedOptions;

  constructor(opts: SelfManagedOptions) {
    this.o = {
      validDays: 365,
      caValidDays: 3650,
      renewAt: 2 / 3,
      checkEveryMs: 15_000,
      callTimeoutMs: 10_000,
      now: () => new Date(),
      ...opts,
    };
  }

  /** Loads or creates the certificate and publishes the CA; throws when the API cannot be reached. */
  async start(): Promise<void> {
    await this.sync();
    this.timer = setInterval(() => {
      this.sync().then(undefined, (err: unknown) =>
        this.o.onError?.(`TLS self-managed refresh failed: ${(err as Error).message}`),
      );
    }, this.o.checkEveryMs);
    this.timer.unref();
  }

  current(): KeyPair | undefined {
    return this.pair;
  }

  onChange(listener: (pair: KeyPair) => void): void {
    this.changes.add(listener);
  }

  healthy(now = this.o.now()): boolean {
    return this.expiry !== undefined && this.expiry > now;
  }

  notAfter(): Date | undefined {
    return this.expiry;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /**
   * The server now answers with this certificate: from now on the configured failurePolicy is
   * written with the caBundle (at once, and again in every round).
   */
  async listening(): Promise<void> {
    this.serving = true;
    if (this.o.failurePolicy === undefined) return;
    if (await this.sync()) {
      this.o.onInfo?.(
        `ValidatingWebhookConfiguration ${this.o.webhookConfig}: caBundle and failurePolicy ${this.o.failurePolicy} set`,
      );
    }
  }

  /**
   * One round: read the Secret, create or renew it when needed, use it, publish the CA.
   * False when the webhook configuration does not exist (yet).
   */
  async sync(): Promise<boolean> {
    const signal = AbortSignal.timeout(this.o.callTimeoutMs);
    const { namespace, secretName } = this.o;
    let secret = await this.o.api.readSecret(namespace, secretName, signal);
    if (!secret) secret = await this.create(signal);
    else if (this.needsRenewal(secret.data)) secret = await this.renew(secret, signal);
    this.use(secret.data);
    try {
      await this.publishCa(caBundle(secret.data), signal);
      return true;
    } catch (err) {
      // The configuration may not exist yet (installed after the pods start): the next round retries.
      if (statusOf(err) !== 404) throw err;
      this.o.onError?.(
        `ValidatingWebhookConfiguration ${this.o.webhookConfig} not found; caBundle not set yet, retrying`,
      );
      return false;
    }
  }

  private async create(signal: AbortSignal): Promise<SecretData> {
    const data = this.issue(undefined);
    try {
      await this.o.api.createSecret(this.o.namespace, this.o.secretName, data, signal);
      this.o.onInfo?.(`created TLS Secret ${this.o.namespace}/${this.o.secretName}`);
      return { data, resourceVersion: '' };
    } catch (err) {
      if (statusOf(err) !== 409) throw err;
      return this.reread(signal);
    }
  }

  private async renew(old: SecretData, signal: AbortSignal): Promise<SecretData> {
    const data = this.issue(old.data);
    try {
      await this.o.api.replaceSecret(
        this.o.namespace,
        this.o.secretName,
        { data, resourceVersion: old.resourceVersion },
        signal,
      );
      this.o.onInfo?.(`renewed TLS certificate in Secret ${this.o.namespace}/${this.o.secretName}`);
      return { data, resourceVersion: '' };
    } catch (err) {
      if (statusOf(err) !== 409) throw err;
      return this.reread(signal);
    }
  }

  /** Another replica wrote the Secret first: theirs wins. */
  private async reread(signal: AbortSignal): Promise<SecretData> {
    const secret = await this.o.api.readSecret(this.o.namespace, this.o.secretName, signal);
    if (!secret)
      throw new Error(`TLS Secret ${this.o.namespace}/${this.o.secretName} vanished during a conflict`);
    return secret;
  }

  private async publishCa(bundle: string, signal: AbortSignal): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const failurePolicy = this.serving ? this.o.failurePolicy : undefined;
        return await this.o.api.publishWebhook(this.o.webhookConfig, { caPem: bundle, failurePolicy }, signal);
      } catch (err) {
        if (statusOf(err) !== 409 || attempt >= 5) throw err;
      }
    }
  }

  private use(data: Record<string, string>): void {
    const pair = { certPem: data[K.cert] ?? '', keyPem: data[K.key] ?? '' };
    if (this.pair?.certPem === pair.certPem && this.pair.keyPem === pair.keyPem) return;
    if (!pairMatches(pair))
      throw new Error(`TLS Secret ${this.o.namespace}/${this.o.secretName} holds no usable certificate`);
    this.pair = pair;
    this.expiry = certificateInfo(pair.certPem).notAfter;
    this.changes.emit(pair);
  }

  private dueForRenewal(certPem: string): boolean {
    const { notBefore, notAfter } = certificateInfo(certPem);
    const renewAt = notBefore.getTime() + (notAfter.getTime() - notBefore.getTime()) * this.o.renewAt;
    return this.o.now().getTime() >= renewAt;
  }

  needsRenewal(data: Record<string, string>): boolean {
    const ca = data[K.ca];
    const pair = { certPem: data[K.cert] ?? '', keyPem: data[K.key] ?? '' };
    if (!ca || !data[K.caKey] || !pairMatches(pair, ca)) return true;
    const wanted = serviceDnsNames(this.o.serviceName, this.o.namespace);
    const names = certificateInfo(pair.certPem).dnsNames;
    if (!wanted.every((n) => names.includes(n))) return true;
    return this.dueForRenewal(pair.certPem) || this.dueForRenewal(ca);
  }

  /** New serving certificate; the CA is kept unless it is missing, broken or due itself. */
  private issue(old: Record<string, string> | undefined): Record<string, string> {
    const now = this.o.now();
    const oldCa = caOf(old);
    const keepCa = oldCa !== undefined && pairMatches(oldCa) && !this.dueForRenewal(oldCa.certPem);
    const ca: KeyPair =
      oldCa && keepCa
        ? oldCa
        : createCA({ commonName: `modelgate-ca.${this.o.namespace}`, validDays: this.o.caValidDays, now });
    const serving = createServingCert(ca, {
      dnsNames: serviceDnsNames(this.o.serviceName, this.o.namespace),
      validDays: this.o.validDays,
      now,
    });
    const data: Record<string, string> = {
      [K.cert]: serving.certPem,
      [K.key]: serving.keyPem,
      [K.ca]: ca.certPem,
      [K.caKey]: ca.keyPem,
    };
    const previous = keepCa ? old?.[K.caPrevious] : oldCa?.certPem;
    if (previous && certificateInfo(previous).notAfter > now) data[K.caPrevious] = previous;
    return data;
  }
}

function caOf(data: Record<string, string> | undefined): KeyPair | undefined {
  const certPem = data?.[K.ca];
  const keyPem = data?.[K.caKey];
  return certPem && keyPem ? { certPem, keyPem } : undefined;
}

/** The CA bundle for the webhook: current CA, plus the previous one during a CA rotation. */
export function caBundle(data: Record<string, string>): string {
  return [data[K.ca], data[K.caPrevious]]
    .filter((p): p is string => !!p)
    .map((p) => p.trim() + '\n')
    .join('');
}
