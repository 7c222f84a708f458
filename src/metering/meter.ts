/**
 * Meter: the money side of a call. Before it, hold the most it can cost (from this instance's lease on the key);
 * after it, price the real usage (capped at the hold), and hand the finished row and its settlement to the writer.
 */
import type { KeyRecord } from '../db/keys-repo.ts';
import type { Target } from '../plugins/registry.ts';
import type { CallRecord } from '../proxy/call-record.ts';
import { budgetPeriodAt } from './budget-period.ts';
import type { LeaseBook } from './lease-book.ts';
import { CREDITS_ONLY, type LeaseScope } from './ledger.ts';
import type { TokenHold, TokenLimiter } from './token-limit.ts';
import { BudgetExceededError, InsufficientCreditsError, RateLimitExceededError, TrialExhaustedError } from '../errors/gateway-error.ts';
import { costMicro, microToUsd, worstCaseMicro, type PriceBook } from './pricing.ts';
import { reservePromptTokens } from './tokens.ts';
import { InFlight } from '../util/in-flight.ts';
import type { UsageWriter } from './usage-writer.ts';

/** A 402 for what the key has left: a smaller hold may still be granted. */
function isShortfall(error: unknown): boolean {
  return error instanceof InsufficientCreditsError || error instanceof TrialExhaustedError || error instanceof BudgetExceededError;
}

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  /** True when the gateway counted the tokens itself. */
  estimated: boolean;
  /**
   * Prompt-cache tokens (Anthropic's `cache_read_input_tokens` / `cache_creation_input_tokens`), included in
   * `promptTokens` as well; priced with the `cache_read` / `cache_write` pricing keys when those are set.
   */
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
}

/** The `gateway_usage` object added to answers (docs/endpoints.md). */
export interface GatewayUsage {
  tokens_charged: number;
  cost_usd: number;
  request_ms: number;
  estimated?: true;
}

/** A call's prompt size: the gateway's count and, when the endpoint has one, a cheap upper bound on it. */
export interface PromptSize {
  readonly promptTokens: number;
  readonly promptBound?: number;
}

export interface MeterOptions {
  /** The clock that decides a call's budget period (tests move it across midnight). */
  now?: () => number;
  /** Tokens-per-minute limits of keys with a `tpm`. */
  tokenLimiter?: TokenLimiter;
}

export class Meter {
  /** Calls begun and not yet finished: shutdown waits for them before the last flush. */
  private readonly calls = new InFlight();

  constructor(
    private readonly leases: LeaseBook,
    private readonly prices: (target: Target) => PriceBook,
    private readonly writer: UsageWriter,
    private readonly options: MeterOptions = {},
  ) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Whether the key has a limit a call must reserve against: credits, a trial allowance or a budget. */
  static isMetered(key: KeyRecord): boolean {
    return key.balanceMicro !== null || key.trialTokens !== null || key.budgetMicro !== null;
  }

  /**
   * Holds the worst case: the prompt (plus margin) and the output cap, at the dearest price among the targets the
   * call may end up on (fallbacks included). Unmetered keys hold nothing. A budgeted key holds against the period
   * the call starts in, which is also the period it is charged to, however long it runs. The prompt is taken at its
   * cheap upper bound when the key can pay for that (from the lease, or by growing it) and the minute's tokens allow
   * it; only where they cannot is the prompt tokenized, so a call is never refused for the bound alone.
   */
  async reserve(call: CallRecord, key: KeyRecord, targets: readonly Target[], prompt: PromptSize, maxOutputTokens: number): Promise<void> {
    if (key.tpm !== null && this.options.tokenLimiter) call.tokenHold = await this.takeTokens(key.id, key.tpm, prompt, maxOutputTokens);
    if (!Meter.isMetered(key)) return;
    const scope = this.scopeOf(key);
    if (prompt.promptBound !== undefined) {
      const [micro, tokens] = this.holdOf(key, targets, prompt.promptBound, maxOutputTokens);
      try {
        call.hold = await this.leases.reserve(key.id, micro, tokens, scope);
        return;
      } catch (error) {
        // Refused for the bound (the key is nearly spent): the exact count may still fit. Anything else stands.
        if (!isShortfall(error)) throw error;
      }
    }
    const [micro, tokens] = this.holdOf(key, targets, prompt.promptTokens, maxOutputTokens);
    call.hold = await this.leases.reserve(key.id, micro, tokens, scope);
  }

  /** A key's tokens per minute count the call's worst case now, its real tokens when it finishes. */
  private async takeTokens(keyId: string, tpm: number, prompt: PromptSize, maxOutputTokens: number): Promise<TokenHold | undefined> {
    const limiter = this.options.tokenLimiter!;
    if (prompt.promptBound !== undefined) {
      // A refused take changes nothing in either store, so the exact count can be tried after it.
      const bounded = await limiter.take(keyId, tpm, prompt.promptBound + maxOutputTokens).then(
        (hold) => ({ hold }),
        (error: unknown) => ({ error }),
      );
      if ('hold' in bounded) return bounded.hold;
      if (!(bounded.error instanceof RateLimitExceededError)) throw bounded.error;
    }
    return limiter.take(keyId, tpm, prompt.promptTokens + maxOutputTokens);
  }

  /** Money (micro-USD) and trial tokens to hold for a prompt of `promptTokens` and the output cap. */
  private holdOf(key: KeyRecord, targets: readonly Target[], promptTokens: number, maxOutputTokens: number): [number, number] {
    const prompt = reservePromptTokens(promptTokens);
    const money = key.balanceMicro !== null || key.budgetMicro !== null;
    const micro = money ? Math.max(...targets.map((target) => worstCaseMicro(this.prices(target).priceOf(target.model), prompt, maxOutputTokens))) : 0;
    return [micro, key.trialTokens !== null ? prompt + maxOutputTokens : 0];
  }

  private scopeOf(key: KeyRecord): LeaseScope {
    if (key.budgetMicro === null || key.budgetPeriod === null) return CREDITS_ONLY;
    return { fromBalance: key.balanceMicro !== null, budgetPeriod: budgetPeriodAt(key.budgetPeriod, this.now()).id };
  }

  /** Prices the usage on the target that served, caps it at the hold, records it on the call and returns `gateway_usage`. */
  charge(call: CallRecord, usage: TokenUsage, target: Target | undefined): GatewayUsage {
    const tokens = usage.promptTokens + usage.completionTokens;
    const price = target ? this.prices(target).priceOf(target.model) : undefined;
    const cost = price ? costMicro(price, usage.promptTokens, usage.completionTokens, usage) : 0;
    call.promptTokens = usage.promptTokens;
    call.completionTokens = usage.completionTokens;
    call.estimated = usage.estimated;
    // A hold is the most a call may take: the upstream's tokenizer can count a little more than the estimate did.
    const hold = call.hold;
    call.costMicro = hold && hold.micro > 0 ? Math.min(cost, hold.micro) : cost;
    call.chargedTokens = hold && hold.tokens > 0 ? Math.min(tokens, hold.tokens) : tokens;
    return gatewayUsage(call);
  }

  begin(): void {
    this.calls.enter();
  }

  /** Resolves once every begun call has finished, or at `deadline` (epoch ms). */
  settled(deadline: number): Promise<void> {
    return this.calls.idle(deadline);
  }

  /** Queues the usage row and the settlement of the hold; called once per call by its CallRecord. */
  finish(call: CallRecord): void {
    this.calls.leave();
    if (call.tokenHold) this.options.tokenLimiter!.settle(call.tokenHold, call.promptTokens + call.completionTokens);
    const hold = call.hold;
    this.writer.enqueue({
      row: call.toUsageRow(),
      settlement: hold && this.leases.settle(hold, call.requestId, hold.micro > 0 ? call.costMicro : 0, hold.tokens > 0 ? call.chargedTokens : 0),
    });
  }
}

export function gatewayUsage(call: CallRecord): GatewayUsage {
  const usage: GatewayUsage = {
    tokens_charged: call.chargedTokens,
    cost_usd: microToUsd(call.costMicro),
    request_ms: call.elapsedMs(),
  };
  if (call.estimated) usage.estimated = true;
  return usage;
}
