import { describe, expect, it } from 'vitest';
import { oneJobPerTurn } from './turns.js';

describe('oneJobPerTurn', () => {
  it('runs jobs in order, one per event-loop turn, letting other work in between', async () => {
    const inTurn = oneJobPerTurn();
    const seen: string[] = [];
    await new Promise<void>((done) => {
      inTurn(() => {
        seen.push('review 1');
        setImmediate(() => seen.push('healthz'));
      });
      inTurn(() => seen.push('review 2'));
      inTurn(() => {
        seen.push('review 3');
        done();
      });
      expect(seen).toEqual([]); // nothing runs synchronously
    });
    expect(seen).toEqual(['review 1', 'healthz', 'review 2', 'review 3']);
  });

  it('keeps going after the queue empties', async () => {
    const inTurn = oneJobPerTurn();
    await new Promise<void>((done) => inTurn(done));
    await new Promise<void>((done) => inTurn(done));
  });

  it('runs the next job even when one throws', async () => {
    const inTurn = oneJobPerTurn();
    const uncaught = new Promise<unknown>((resolve) => process.once('uncaughtException', resolve));
    inTurn(() => {
      throw new Error('boom');
    });
    await new Promise<void>((done) => inTurn(done));
    expect(await uncaught).toMatchObject({ message: 'boom' });
  });
});
