import { isObject, type Obj } from '../json/object.js';
import { statusOf } from '../kube/client.js';
import type { ScanApi } from '../kube/scan-api.js';

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it:
 * only the holder scans; every replica keeps answering admission. A holder renews every
 * `retryMs`; the others take the Lease over once they have seen it unchanged for
 * `leaseDurationMs` by their own clock (never by comparing clocks across machines), or at
 * once when the holder released it on shutdown. Writes are guarded by resourceVersion, so two
 * candidates cannot both win.
 */
export interface LeaseOptions {
  api: ScanApi;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  /** A holder that could not renew for this long stops acting as leader. */
  renewDeadlineMs: number;
  retryMs: number;
  onStart: () => void;
  onStop: () => void;
  onError?: (message: string) => void;
  now?: () => number;
}

interface Observed {
  holder: string;
  renewTime: string;
  /** Our clock when we saw this holder/renewTime first. */
  at: number;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  private timer: NodeJS.Timeout | undefined;
  private leading = false;
  private lastRenew = 0;
  private observed: Observed | undefined;
  private stopped = false;
  private round: Promise<void> = Promise.resolve();
  private readonly now: () => number;

  constructor(private readonly opts: LeaseOptions) {
    this.now = opts.now ?? Date.now;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    const tick = (): void => {
      this.round = this.tryOnce().catch((err: unknown) => this.fail(err));
      void this.round.finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.opts.retryMs);
      });
    };
    tick();
  }

  /** Stops campaigning; a leader releases the Lease so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.round;
    if (!this.leading) return;
    this.setLeading(false);
    const signal = AbortSignal.timeout(this.opts.retryMs * 2);
    const lease = await this.opts.api.get(this.path(), signal).catch(() => undefined);
    if (!lease || holderOf(lease) !== this.opts.identity) return;
    const spec = specOf(lease);
    await this.opts.api
      .replace(
        this.path(),
        { ...lease, spec: { ...spec, holderIdentity: '', leaseDurationSeconds: 1 } },
        signal,
      )
      .catch((err: unknown) => this.opts.onError?.(`could not release the Lease: ${(err as Error).message}`));
  }

  private path(name?: string): string {
    const base = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.opts.namespace)}/leases`;
    return name === undefined ? `${base}/${encodeURIComponent(this.opts.name)}` : base;
  }

  private fail(err: unknown): void {
    this.opts.onError?.(`leader election: ${(err as Error).message}`);
    if (this.leading && this.now() - this.lastRenew > this.opts.renewDeadlineMs) this.setLeading(false);
  }

  private setLeading(on: boolean): void {
    if (this.leading === on) return;
    this.leading = on;
    if (on) this.opts.onStart();
    else this.opts.onStop();
  }

  private async tryOnce(): Promise<void> {
    const signal = AbortSignal.timeout(Math.max(1000, this.opts.retryMs));
    const lease = await this.opts.api.get(this.path(), signal);
    const now = this.now();
    if (!lease) {
      await this.write(undefined, 0, now, signal);
      return;
    }
    const spec = specOf(lease);
    const holder = holderOf(lease);
    if (holder === this.opts.identity) {
      await this.write(lease, numberOf(spec.leaseTransitions), now, signal);
      return;
    }
    if (this.leading) this.setLeading(false);
    const renewTime = typeof spec.renewTime === 'string' ? spec.renewTime : '';
    if (!this.observed || this.observed.holder !== holder || this.observed.renewTime !== renewTime)
      this.observed = { holder, renewTime, at: now };
    const expired = holder === '' || now - this.observed.at >= this.opts.leaseDurationMs;
    if (expired) await this.write(lease, numberOf(spec.leaseTransitions) + 1, now, signal);
  }

  /** Creates, renews or takes over the Lease; a conflict means another replica won this round. */
  private async write(
    lease: Obj | undefined,
    transitions: number,
    now: number,
    signal: AbortSignal,
  ): Promise<void> {
    const renewing = lease !== undefined && holderOf(lease) === this.opts.identity;
    const spec: Obj = {
      holderIdentity: this.opts.identity,
      leaseDurationSeconds: Math.ceil(this.opts.leaseDurationMs / 1000),
      acquireTime: renewing ? specOf(lease).acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: transitions,
    };
    try {
      if (lease) await this.opts.api.replace(this.path(), { ...lease, spec }, signal);
      else
        await this.opts.api.create(
          this.path(''),
          {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: this.opts.name, namespace: this.opts.namespace },
            spec,
          },
          signal,
        );
    } catch (err) {
      if (statusOf(err) === 409) {
        if (renewing) this.setLeading(false);
        return;
      }
      throw err;
    }
    this.lastRenew = now;
    this.observed = undefined;
    this.setLeading(true);
  }
}

function specOf(lease: Obj): Obj {
  return isObject(lease.spec) ? lease.spec : {};
}

function holderOf(lease: Obj): string {
  const holder = specOf(lease).holderIdentity;
  return typeof holder === 'string' ? holder : '';
}

function numberOf(v: unknown): number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : 0;
}
