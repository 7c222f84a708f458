/**
 * Routing pools: a request whose model matches a `routing` rule goes to one healthy target picked by the rule's
 * strategy (or its sticky target), then to the rule's other healthy targets, then to the model's `fallbacks`.
 * A body `provider` field, or a model no rule matches, resolves exactly as without rules.
 */
import type { RoutingRuleConfig } from '../config/schema.ts';
import type { JsonObject } from '../plugin-sdk.ts';
import type { ProviderRegistry, Target } from '../plugins/registry.ts';
import { compileGlobs, stripModelSuffix } from '../util/glob.ts';
import type { HealthBook } from './health-book.ts';
import { conversationOf, stickyOrder } from './sticky.ts';
import { pick, PickState, rank, type PoolTarget, type StrategyName } from './strategies.ts';

interface Pool {
  matches: (model: string) => boolean;
  targets: PoolTarget[];
  strategy: StrategyName;
  sticky: boolean;
  state: PickState;
}

/** What the router needs of a request to place it. */
export interface RouteRequest {
  model: string;
  /** The body's `provider` field, as sent. */
  provider: unknown;
  body: JsonObject;
  keyId: string | null;
}

export class Router {
  private readonly pools: Pool[];

  constructor(
    readonly registry: ProviderRegistry,
    rules: readonly RoutingRuleConfig[],
    readonly health: HealthBook,
  ) {
    this.pools = rules.map((rule) => ({
      matches: compileGlobs(rule.models),
      targets: rule.targets.map((target) => ({ provider: registry.get(target.provider)!, weight: target.weight, model: target.model })),
      strategy: rule.strategy,
      sticky: rule.sticky,
      state: new PickState(),
    }));
  }

  /** Provider entries that some rule routes to. */
  get pooled(): Set<string> {
    return new Set(this.pools.flatMap((pool) => pool.targets.map((target) => target.provider.name)));
  }

  /** The targets to try, in order. Without a matching rule this is the registry's answer, untouched. */
  resolve(request: RouteRequest): Target[] {
    const { model, provider } = request;
    if (this.pools.length === 0 || (provider !== undefined && provider !== null)) return this.registry.resolve(model, provider);
    const bare = stripModelSuffix(model);
    const pool = this.pools.find((candidate) => candidate.matches(bare));
    if (!pool) return this.registry.resolve(model, provider);
    const ordered = this.order(pool, request);
    const targets = ordered.map((target): Target => ({ provider: target.provider, model: target.model ?? model, routed: true }));
    return this.registry.withFallbacks(targets, model, bare);
  }

  /** The pick first, then the other healthy targets by preference; if all are cooling, the one that returns first. */
  private order(pool: Pool, request: RouteRequest): PoolTarget[] {
    const healthy = pool.targets.filter((target) => !this.health.cooldownOf(target.provider.name));
    if (healthy.length === 0) return [this.soonestBack(pool.targets)];
    const conversation = pool.sticky ? conversationOf(request.keyId, request.body) : undefined;
    if (conversation) return stickyOrder(conversation, healthy);
    const first = pick(pool.strategy, pool.state, healthy, this.health);
    return [first, ...rank(pool.strategy, healthy.filter((target) => target !== first), this.health)];
  }

  private soonestBack(targets: readonly PoolTarget[]): PoolTarget {
    const until = (target: PoolTarget): number => this.health.cooldownOf(target.provider.name)?.until ?? 0;
    return targets.reduce((soonest, target) => (until(target) < until(soonest) ? target : soonest));
  }
}
