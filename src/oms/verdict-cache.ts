/**
 * A bounded LRU of verification verdicts, shared by the sigstore method (src/oms/sigstore.ts,
 * SigstoreVerdictCache) and the key and certificate methods (src/oms/verdicts.ts). Bounded by
 * entries and by bytes (each value's weight), whichever is hit first. The caller owns the key:
 * it must name everything the verdict depends on (the exact bytes, the authority's identity).
 */
export class VerdictCache<V> {
  private readonly entries = new Map<string, V>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  readonly capacity: number;
  readonly maxBytes: number;
  private readonly weigh: (value: V) => number;

  // Plain fields, not parameter properties: Node's type stripping (hack/, bench/) runs this file.
  constructor(capacity: number, maxBytes: number, weigh: (value: V) => number) {
    this.capacity = capacity;
    this.maxBytes = maxBytes;
    this.weigh = weigh;
  }

  get(key: string): V | undefined {
    const hit = this.entries.get(key);
    if (hit === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    // Map iteration order is insertion order: re-insert to mark as most recently used.
    this.entries.delete(key);
    this.entries.set(key, hit);
    return hit;
  }

  set(key: string, value: V): void {
    this.delete(key);
    const w = this.weigh(value);
    if (w > this.maxBytes) return;
    this.entries.set(key, value);
    this.bytes += w;
    while (this.entries.size > this.capacity || this.bytes > this.maxBytes) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value);
    }
  }

  delete(key: string): void {
    const old = this.entries.get(key);
    if (old === undefined) return;
    this.entries.delete(key);
    this.bytes -= this.weigh(old);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The weight (bytes) of the values held now. */
  get heldBytes(): number {
    return this.bytes;
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }
}
