/** fanOut: bounded parallelism, task order kept, the first failure aborts the rest, a client leaving stops it. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { fanOut } from '../../src/proxy/fan-out.ts';
import { sumUsage } from '../../src/metering/partial-usage.ts';

/** A task that finishes when released, or rejects when its signal aborts. */
class Gate {
  inFlight = 0;
  maxInFlight = 0;
  started: number[] = [];
  aborted: number[] = [];
  private readonly releases = new Map<number, (value: string) => void>();
  private readonly failures = new Map<number, (error: Error) => void>();
  readonly events = new EventTarget();

  run = (index: number, signal: AbortSignal): Promise<string> =>
    new Promise<string>((resolve, reject) => {
      this.started.push(index);
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      const onAbort = (): void => {
        this.aborted.push(index);
        done();
        reject(signal.reason);
      };
      const done = (): void => {
        this.inFlight--;
        signal.removeEventListener('abort', onAbort);
      };
      this.releases.set(index, (value) => {
        done();
        resolve(value);
      });
      this.failures.set(index, (error) => {
        done();
        reject(error);
      });
      signal.addEventListener('abort', onAbort, { once: true });
      this.events.dispatchEvent(new Event('started'));
    });

  async startedCount(count: number): Promise<void> {
    while (this.started.length < count) await once(this.events, 'started');
  }

  release(index: number): void {
    this.releases.get(index)!(`result ${index}`);
  }

  fail(index: number, error: Error): void {
    this.failures.get(index)!(error);
  }
}

describe('fanOut', () => {
  it('keeps at most `limit` tasks in flight and returns results in task order', async () => {
    const gate = new Gate();
    const outcome = fanOut(6, 2, new AbortController().signal, gate.run);
    await gate.startedCount(2);
    assert.deepEqual(gate.started, [0, 1]);
    gate.release(1);
    await gate.startedCount(3);
    gate.release(0);
    await gate.startedCount(4);
    for (const index of [2, 3]) gate.release(index);
    await gate.startedCount(6);
    for (const index of [5, 4]) gate.release(index);
    const { results, failure } = await outcome;
    assert.equal(failure, undefined);
    assert.deepEqual(
      results,
      [0, 1, 2, 3, 4, 5].map((index) => `result ${index}`),
    );
    assert.equal(gate.maxInFlight, 2);
  });

  it('aborts the tasks in flight on the first failure, starts no more, and reports that failure', async () => {
    const gate = new Gate();
    const outcome = fanOut(5, 3, new AbortController().signal, gate.run);
    await gate.startedCount(3);
    gate.release(0);
    await gate.startedCount(4);
    const boom = new Error('boom');
    gate.fail(1, boom);
    const { results, failure } = await outcome;
    assert.deepEqual(failure, { index: 1, error: boom });
    assert.deepEqual(results, ['result 0', undefined, undefined, undefined, undefined]);
    assert.deepEqual(gate.aborted.sort(), [2, 3]);
    assert.deepEqual(gate.started, [0, 1, 2, 3]);
  });

  it('stops when the parent signal aborts (the client left)', async () => {
    const gate = new Gate();
    const parent = new AbortController();
    const outcome = fanOut(3, 1, parent.signal, gate.run);
    await gate.startedCount(1);
    gate.release(0);
    await gate.startedCount(2);
    parent.abort(new Error('client left'));
    const { results, failure } = await outcome;
    assert.equal((failure?.error as Error | undefined)?.message, 'client left');
    assert.deepEqual(results, ['result 0', undefined, undefined]);
    assert.deepEqual(gate.started, [0, 1]);
  });
});

describe('sumUsage', () => {
  it('adds tokens and is estimated when any part was', () => {
    assert.deepEqual(
      sumUsage([
        { promptTokens: 3, completionTokens: 4, estimated: false },
        { promptTokens: 5, completionTokens: 6, estimated: true, cacheReadTokens: 2 },
      ]),
      { promptTokens: 8, completionTokens: 10, estimated: true, cacheReadTokens: 2 },
    );
  });
});
