/**
 * How a routing rule picks among its healthy targets, and how it ranks the rest for retries. `weighted` is smooth
 * weighted round-robin (nginx's): deterministic, exact over every cycle of sum(weights) picks, and it interleaves
 * targets instead of sending bursts, so a 2:1 pool serves a, b, a, a, b, a… A weighted random draw would only hold
 * the ratio on average and can starve a small target for a while; round-robin needs no random source to test.
 */
import type { LoadedProvider } from '../plugins/loader.ts';
import type { HealthBook } from './health-book.ts';

export type StrategyName = 'weighted' | 'least-busy' | 'lowest-latency';

export interface PoolTarget {
  provider: LoadedProvider;
  weight: number;
  /** The model name this target knows the requested model by; undefined: the requested name. */
  model: string | undefined;
}

/** One in this many lowest-latency picks measures the target measured longest ago, so a slow-once target is timed again. */
export const EXPLORE_EVERY = 10;

/** A rule's own memory between picks: round-robin credits and a pick counter. */
export class PickState {
  private readonly credit = new Map<string, number>();
  picks = 0;

  /** Smooth weighted round-robin over `candidates`: each gains its weight, the richest is picked and pays the total. */
  roundRobin(candidates: readonly PoolTarget[]): PoolTarget {
    let total = 0;
    let best: PoolTarget = candidates[0];
    let bestCredit = -Infinity;
    for (const candidate of candidates) {
      const name = candidate.provider.name;
      const credit = (this.credit.get(name) ?? 0) + candidate.weight;
      this.credit.set(name, credit);
      total += candidate.weight;
      if (credit > bestCredit) {
        best = candidate;
        bestCredit = credit;
      }
    }
    this.credit.set(best.provider.name, bestCredit - total);
    return best;
  }
}

/** The first target to try, among healthy ones (never empty). */
export function pick(strategy: StrategyName, state: PickState, healthy: readonly PoolTarget[], health: HealthBook): PoolTarget {
  state.picks++;
  if (healthy.length === 1) return healthy[0];
  if (strategy === 'least-busy') {
    const fewest = Math.min(...healthy.map((target) => health.inFlight(target.provider.name)));
    // Ties (an idle pool) are shared by weight, so least-busy under light load still honours weights.
    return state.roundRobin(healthy.filter((target) => health.inFlight(target.provider.name) === fewest));
  }
  if (strategy === 'lowest-latency') return fastest(state, healthy, health);
  return state.roundRobin(healthy);
}

function fastest(state: PickState, healthy: readonly PoolTarget[], health: HealthBook): PoolTarget {
  const unmeasured = healthy.find((target) => health.stats(target.provider.name).responseMs === undefined);
  if (unmeasured) return unmeasured;
  if (state.picks % EXPLORE_EVERY === 0) {
    return healthy.reduce((stalest, target) =>
      health.stats(target.provider.name).measuredAt < health.stats(stalest.provider.name).measuredAt ? target : stalest,
    );
  }
  return healthy.reduce((best, target) => (health.stats(target.provider.name).responseMs! < health.stats(best.provider.name).responseMs! ? target : best));
}

/** The order retries walk the remaining healthy targets in: the strategy's preference, best first. */
export function rank(strategy: StrategyName, targets: readonly PoolTarget[], health: HealthBook): PoolTarget[] {
  const score = (target: PoolTarget): number => {
    const name = target.provider.name;
    if (strategy === 'least-busy') return health.inFlight(name);
    if (strategy === 'lowest-latency') return health.stats(name).responseMs ?? Number.MAX_SAFE_INTEGER;
    return -target.weight;
  };
  return [...targets].sort((a, b) => score(a) - score(b));
}
