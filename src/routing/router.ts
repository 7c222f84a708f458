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
import { ResponseOwners } from './response-owners.ts';
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
  readonly responseOwners = new ResponseOwners();

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

  /**
   * The targets to try, in order. Without a matching rule this is the registry's answer, untouched. Only a call
   * continuing a stored response this instance did not serve waits (briefly) for the shared state.
   */
  resolve(request: RouteRequest): Target[] | Promise<Target[]> {
    const { model, provider } = request;
    if (this.pools.length === 0 || (provider !== undefined && provider !== null)) return this.registry.resolve(model, provider);
    const bare = stripModelSuffix(model);
    const pool = this.pools.find((candidate) => candidate.matches(bare));
    if (!pool) return this.registry.resolve(model, provider);
    const previous = request.body.previous_response_id;
    const known = this.responseOwners.ownerOf(previous);
    if (known === undefined && typeof previous === 'string' && this.health.shared) {
      return this.health.shared.responseOwner(previous).then((owner) => this.place(pool, request, bare, owner));
    }
    return this.place(pool, request, bare, known);
  }

  private place(pool: Pool, request: RouteRequest, bare: string, owner: string | undefined): Target[] {
    const ordered = this.withOwnerFirst(pool, this.order(pool, request), owner);
    const targets = ordered.map((target): Target => ({ provider: target.provider, model: target.model ?? request.model, routed: true }));
    return this.registry.withFallbacks(targets, request.model, bare);
  }

  /** The pick first, then the other healthy targets by preference; if all are cooling, the one that returns first. */
  private order(pool: Pool, request: RouteRequest): PoolTarget[] {
    const healthy = pool.targets.filter((target) => !this.health.cooldownOf(target.provider.name));
    if (healthy.length === 0) return [this.soonestBack(pool.targets)];
    const conversation = pool.sticky ? conversationOf(request.keyId, request.body) : undefined;
    if (conversation) return stickyOrder(conversation, healthy);
    const first = pick(pool.strategy, pool.state, healthy, this.health);
    return [
      first,
      ...rank(
        pool.strategy,
        healthy.filter((target) => target !== first),
        this.health,
      ),
    ];
  }

  /** A call continuing a stored response goes first to the target holding it, cooling or not: no other has it. */
  private withOwnerFirst(pool: Pool, ordered: PoolTarget[], owner: string | undefined): PoolTarget[] {
    const target = owner === undefined ? undefined : pool.targets.find((candidate) => candidate.provider.name === owner);
    return target ? [target, ...ordered.filter((candidate) => candidate !== target)] : ordered;
  }

  /** Notes who served a pooled Responses call, for later calls that continue it. */
  served(target: Target, responseId: unknown): void {
    if (!target.routed || typeof responseId !== 'string') return;
    this.responseOwners.remember(responseId, target.provider.name);
    this.health.shared?.rememberResponse(responseId, target.provider.name);
  }

  private soonestBack(targets: readonly PoolTarget[]): PoolTarget {
    const until = (target: PoolTarget): number => this.health.cooldownOf(target.provider.name)?.until ?? 0;
    return targets.reduce((soonest, target) => (until(target) < until(soonest) ? target : soonest));
  }
}
