/** Routing pieces on their own: config validation messages, the health book's cooldown rules, the strategies. */
import assert from 'node:assert/strict';
import path from 'node:path';
import { parseConfig } from '../../src/config/load.ts';
import {
  InvalidRequestError,
  UpstreamError,
  UpstreamRateLimitedError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from '../../src/errors/gateway-error.ts';
import type { Logger } from '../../src/logging.ts';
import type { LoadedProvider } from '../../src/plugins/loader.ts';
import { classify, HealthBook } from '../../src/routing/health-book.ts';
import { conversationOf, stickyOrder } from '../../src/routing/sticky.ts';
import { PickState, pick, type PoolTarget } from '../../src/routing/strategies.ts';
import { median } from '../../src/routing/target-stats.ts';
import { ROOT } from '../helpers/gateway.ts';

const file = path.join(ROOT, 'config', 'x.yaml');
const PROVIDERS = 'providers:\n  hf-a: { plugin: huggingface }\n  hf-b: { plugin: huggingface }\n';

function configError(yaml: string): string {
  try {
    parseConfig(PROVIDERS + yaml, file, {});
  } catch (error) {
    return (error as Error).message;
  }
  return 'no error';
}

/** The health book logs cooldowns; these tests read its state instead. */
const logger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined } as unknown as Logger;

function book(options: { failures?: number } = {}): { health: HealthBook; advance(ms: number): void } {
  let now = 1_000_000;
  const health = new HealthBook(['a', 'b'], {
    cooldown: { failures: options.failures ?? 3, duration_ms: 30_000, auth_duration_ms: 300_000 },
    clock: () => now,
    logger,
  });
  return { health, advance: (ms) => (now += ms) };
}

function target(name: string, weight = 1): PoolTarget {
  return { provider: { name } as LoadedProvider, weight, model: undefined };
}

describe('routing', () => {
  describe('config', () => {
    it('fills the defaults', () => {
      const config = parseConfig(
        `${PROVIDERS}routing:\n  - models: ["meta-llama/*"]\n    targets: [hf-a, { provider: hf-b, weight: 2, model: x/y }]\n`,
        file,
        {},
      );
      assert.deepEqual(config.routing, [
        {
          models: ['meta-llama/*'],
          targets: [
            { provider: 'hf-a', weight: 1, model: undefined },
            { provider: 'hf-b', weight: 2, model: 'x/y' },
          ],
          strategy: 'weighted',
          sticky: false,
        },
      ]);
      assert.deepEqual(config.cooldown, { failures: 3, duration_ms: 30000, auth_duration_ms: 300000 });
      assert.deepEqual(parseConfig(PROVIDERS, file, {}).routing, []);
    });

    it('names the rule, the target and the unknown provider entry', () => {
      assert.equal(
        configError('routing:\n  - models: ["*"]\n    targets: [hf-a, { provider: hf-c }]\n'),
        "SY_CONFIG_INVALID: routing[0].targets[1].provider: unknown provider entry 'hf-c' (configured: hf-a, hf-b)",
      );
      assert.equal(
        configError('routing:\n  - models: ["*"]\n    targets: [hf-a, hf-a]\n'),
        "SY_CONFIG_INVALID: routing[0].targets[1].provider: 'hf-a' is already a target of this rule",
      );
    });

    it('refuses bad weights, strategies, empty rules and cooldown values with their key path', () => {
      assert.match(
        configError('routing:\n  - models: ["*"]\n    targets: [{ provider: hf-a, weight: 0 }]\n'),
        /^SY_CONFIG_INVALID: routing\[0\]\.targets\[0\]\.weight: /,
      );
      assert.match(configError('routing:\n  - models: ["*"]\n    targets: [hf-a]\n    strategy: fastest\n'), /^SY_CONFIG_INVALID: routing\[0\]\.strategy: /);
      assert.match(configError('routing:\n  - models: ["*"]\n    targets: []\n'), /^SY_CONFIG_INVALID: routing\[0\]\.targets: /);
      assert.match(configError('routing:\n  - targets: [hf-a]\n'), /^SY_CONFIG_INVALID: routing\[0\]\.models: /);
      assert.match(configError('routing:\n  - models: ["*"]\n    targets: [hf-a]\n    weights: 1\n'), /^SY_CONFIG_INVALID: routing\[0\]\.weights: unknown key/);
      assert.match(configError('cooldown:\n  failures: 0\n'), /^SY_CONFIG_INVALID: cooldown\.failures: /);
    });
  });

  describe('what an error says about its target', () => {
    it('tells credentials, throttling and failures from the request’s own faults', () => {
      assert.deepEqual(classify(new UpstreamError('x', { upstreamStatus: 401 })), { kind: 'auth' });
      assert.deepEqual(classify(new UpstreamError('x', { upstreamStatus: 403 })), { kind: 'auth' });
      assert.deepEqual(classify(new UpstreamRateLimitedError('x', 7)), { kind: 'rate', retryAfterMs: 7000 });
      assert.deepEqual(classify(new UpstreamRateLimitedError('x')), { kind: 'rate', retryAfterMs: undefined });
      assert.deepEqual(classify(new UpstreamUnavailableError('refused')), { kind: 'failure' });
      assert.deepEqual(classify(new UpstreamTimeoutError('slow')), { kind: 'failure' });
      assert.deepEqual(classify(new UpstreamError('garbage')), { kind: 'failure' });
      assert.deepEqual(classify(new InvalidRequestError('bad')), { kind: 'neutral' });
      assert.deepEqual(classify(new Error('client left')), { kind: 'neutral' });
    });
  });

  describe('the health book', () => {
    it('cools after `failures` consecutive failures only; a success in between starts the count again', async () => {
      const { health, advance } = book();
      for (const outcome of [
        new UpstreamTimeoutError('t'),
        new UpstreamTimeoutError('t'),
        undefined,
        new UpstreamTimeoutError('t'),
        new UpstreamTimeoutError('t'),
      ]) {
        await health.begin('a').end(outcome);
      }
      assert.equal(health.cooldownOf('a'), undefined);
      await health.begin('a').end(new UpstreamTimeoutError('t'));
      assert.deepEqual(health.cooldownOf('a'), { until: health.now() + 30_000, reason: 'failures' });
      advance(30_000);
      assert.equal(health.cooldownOf('a'), undefined);
    });

    it('never shortens a running cooldown, but lengthens it', async () => {
      const { health, advance } = book();
      await health.cool('a', health.now() + 10_000, 'rate_limited');
      await health.cool('a', health.now() + 5_000, 'rate_limited');
      assert.equal(health.cooldownOf('a')!.until, health.now() + 10_000);
      await health.begin('a').end(new UpstreamError('x', { upstreamStatus: 401 }));
      assert.deepEqual(health.cooldownOf('a'), { until: health.now() + 300_000, reason: 'auth' });
      advance(1000);
      await health.begin('a').end(new UpstreamRateLimitedError('x', 60));
      assert.equal(health.cooldownOf('a')!.reason, 'auth');
    });

    it('counts in-flight attempts until their lease ends, streams included', async () => {
      const { health } = book();
      const first = health.begin('a');
      const second = health.begin('a');
      assert.equal(health.inFlight('a'), 2);
      first.firstByte();
      await first.end();
      await first.end();
      assert.equal(health.inFlight('a'), 1);
      await second.end(new Error('client left'));
      assert.equal(health.inFlight('a'), 0);
      const view = health.stats('a').view(health.now());
      assert.deepEqual([view.requests, view.errors], [2, 0], 'a client that left is no error of the target');
      assert.equal(typeof view.p50TtftMs, 'number');
    });
  });

  describe('strategies', () => {
    it('smooth weighted round-robin is exact over every cycle', () => {
      const state = new PickState();
      const { health } = book();
      const pool = [target('a', 5), target('b', 3), target('c', 2)];
      const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
      for (let i = 0; i < 1000; i++) {
        counts[pick('weighted', state, pool, health).provider.name]++;
        if (i % 10 === 9) assert.deepEqual(counts, { a: ((i + 1) / 10) * 5, b: ((i + 1) / 10) * 3, c: ((i + 1) / 10) * 2 });
      }
    });

    it('least-busy takes the target with the fewest calls in flight', () => {
      const state = new PickState();
      const { health } = book();
      health.begin('a');
      health.begin('a');
      health.begin('b');
      assert.equal(pick('least-busy', state, [target('a'), target('b')], health).provider.name, 'b');
    });

    it('median of the window', () => {
      assert.equal(median([]), null);
      assert.equal(median([5, 1, 3]), 3);
      assert.equal(median([4, 1, 3, 2]), 3);
    });
  });

  describe('sticky conversations', () => {
    it('names a conversation by key and opening, so later turns match and other keys do not', () => {
      const opening = [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello' },
      ];
      const first = conversationOf('key-1', { messages: opening });
      assert.equal(conversationOf('key-1', { messages: [...opening, { role: 'assistant', content: 'Hi' }, { role: 'user', content: 'More' }] }), first);
      assert.notEqual(conversationOf('key-2', { messages: opening }), first);
      assert.equal(conversationOf('key-1', { prompt_cache_key: 'p', messages: opening }), conversationOf('key-1', { prompt_cache_key: 'p', input: 'other' }));
      assert.equal(conversationOf('key-1', {}), undefined);
    });

    it('moves only the conversations of a target that leaves the pool', () => {
      const pool = [target('a'), target('b'), target('c')];
      const homes = Array.from({ length: 300 }, (_, i) => stickyOrder(`conversation-${i}`, pool)[0].provider.name);
      const without = Array.from({ length: 300 }, (_, i) => stickyOrder(`conversation-${i}`, [pool[0], pool[2]])[0].provider.name);
      for (let i = 0; i < 300; i++) if (homes[i] !== 'b') assert.equal(without[i], homes[i]);
      for (const name of ['a', 'b', 'c']) assert.ok(homes.filter((home) => home === name).length > 60, `${name} gets its share`);
    });
  });
});
