/**
 * Runs queued jobs one per event-loop turn (each in its own setImmediate), so that between two
 * reviews' synchronous decode + decision the loop reads its sockets: /healthz, /readyz and the
 * API server's other requests are not kept waiting behind a burst of large reviews that all
 * finished arriving at once (8 at the caps took ~110 ms back to back).
 */
export function oneJobPerTurn(): (job: () => void) => void {
  const queue: (() => void)[] = [];
  const runNext = (): void => {
    try {
      queue.shift()?.();
    } finally {
      if (queue.length > 0) setImmediate(runNext); // a throwing job must not stall the rest
    }
  };
  return (job) => {
    queue.push(job);
    if (queue.length === 1) setImmediate(runNext);
  };
}
