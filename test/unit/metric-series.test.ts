/** FastCounter and FastHistogram: the same `/metrics` text as prom-client's own Counter and Histogram, update for update. */
import assert from 'node:assert/strict';
import { Counter, Histogram, Registry } from 'prom-client';
import { FastCounter, FastHistogram } from '../../src/metric-series.ts';

/** A fixed pseudo-random sequence, so a failure replays. */
function sequence(length: number): number[] {
  let state = 42;
  return Array.from({ length }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  });
}

describe('metric series', () => {
  it('a FastHistogram shows what a Histogram shows after the same observations, bounds and overflow included', async () => {
    const [fast, plain] = [new Registry(), new Registry()];
    const config = { name: 'h_seconds', help: 'h', labelNames: ['route', 'provider'] as const, buckets: [0.01, 0.1, 1] };
    const a = new FastHistogram({ ...config, registers: [fast] });
    const b = new Histogram({ ...config, registers: [plain] });
    const values = [...sequence(500).map((x) => x * 2), 0.01, 0.1, 1, 0, 5];
    values.forEach((value, i) => {
      const labels = { route: i % 3 === 0 ? 'chat' : 'embeddings', provider: `p${i % 4}` };
      a.observe(labels, value);
      b.observe(labels, value);
    });
    a.observe(3);
    b.observe(3);
    assert.equal(await fast.metrics(), await plain.metrics());
    assert.throws(() => a.observe({ route: 'chat', provider: 'p0' }, Number.NaN), TypeError);
    a.reset();
    b.reset();
    a.observe({ route: 'chat', provider: 'p0' }, 0.5);
    b.observe({ route: 'chat', provider: 'p0' }, 0.5);
    assert.equal(await fast.metrics(), await plain.metrics(), 'after a reset');
  });

  it('a FastCounter shows what a Counter shows after the same increments, and refuses to go down', async () => {
    const [fast, plain] = [new Registry(), new Registry()];
    const config = { name: 'c_total', help: 'c', labelNames: ['provider', 'kind'] as const };
    const a = new FastCounter({ ...config, registers: [fast] });
    const b = new Counter({ ...config, registers: [plain] });
    sequence(300).forEach((x, i) => {
      const labels = { provider: `p${i % 3}`, kind: i % 2 ? 'prompt' : 'completion' };
      if (i % 5 === 0) {
        a.inc(labels);
        b.inc(labels);
      } else {
        a.inc(labels, Math.round(x * 100));
        b.inc(labels, Math.round(x * 100));
      }
    });
    assert.equal(await fast.metrics(), await plain.metrics());
    assert.throws(() => a.inc({ provider: 'p0', kind: 'prompt' }, -1), /not possible to decrease/);
  });
});
