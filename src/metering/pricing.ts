/** Prices from `pricing:` globs (USD per million tokens, prompt-cache rates included) and exact integer cost in micro-USD, rounded up. */
import type { PricingConfig } from '../config/schema.ts';
import { compileGlob, stripModelSuffix } from '../util/glob.ts';

/**
 * Prices as integer pico-USD per token. USD per million tokens is micro-USD per token, so × 10^6 gives
 * pico-USD: integers for any price with up to six decimals, and the cost arithmetic stays exact.
 */
export interface Price {
  inputPico: bigint;
  outputPico: bigint;
  /** Prompt tokens read from / written to a prompt cache; `input` unless the entry prices them itself. */
  cacheReadPico: bigint;
  cacheWritePico: bigint;
}

interface Rule {
  matches: (model: string) => boolean;
  price: Price;
}

const FREE: Price = { inputPico: 0n, outputPico: 0n, cacheReadPico: 0n, cacheWritePico: 0n };

/** Ordered price rules, first match wins; `default` applies when none does. Compiled once at start. */
export class PriceBook {
  private readonly rules: Rule[];
  private readonly fallback: Price | undefined;
  private readonly parent: PriceBook | undefined;
  private readonly cache = new Map<string, Price>();

  /** A provider's own book names `parent` (the global one) for the models it does not price itself. */
  constructor(pricing: PricingConfig, parent?: PriceBook) {
    this.rules = Object.entries(pricing)
      .filter(([glob]) => glob !== 'default')
      .map(([glob, price]) => ({ matches: compileGlob(glob), price: toPico(price) }));
    this.fallback = pricing.default ? toPico(pricing.default) : undefined;
    this.parent = parent;
  }

  /** The price of a model id, its `:suffix` ignored. */
  priceOf(model: string): Price {
    const cached = this.cache.get(model);
    if (cached) return cached;
    const bare = stripModelSuffix(model);
    const price = this.rules.find((rule) => rule.matches(bare))?.price ?? this.parent?.priceOf(model) ?? this.fallback ?? FREE;
    if (this.cache.size < 10_000) this.cache.set(model, price);
    return price;
  }
}

const pico = (usdPerMillion: number): bigint => BigInt(Math.round(usdPerMillion * 1e6));

function toPico(price: { input: number; output: number; cache_read?: number; cache_write?: number }): Price {
  const inputPico = pico(price.input);
  return {
    inputPico,
    outputPico: pico(price.output),
    cacheReadPico: price.cache_read === undefined ? inputPico : pico(price.cache_read),
    cacheWritePico: price.cache_write === undefined ? inputPico : pico(price.cache_write),
  };
}

/** Prompt-cache tokens of a call; both are part of its prompt tokens. */
export interface CacheTokens {
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
}

/**
 * Cost in micro-USD, rounded up to the next micro-dollar once for the whole call. Cache reads and writes are
 * counted in `promptTokens` too: only the rest is plain input.
 */
export function costMicro(price: Price, promptTokens: number, completionTokens: number, cache: CacheTokens = {}): number {
  const read = BigInt(cache.cacheReadTokens ?? 0);
  const write = BigInt(cache.cacheWriteTokens ?? 0);
  let plain = BigInt(promptTokens) - read - write;
  if (plain < 0n) plain = 0n;
  const total = plain * price.inputPico + read * price.cacheReadPico + write * price.cacheWritePico + BigInt(completionTokens) * price.outputPico;
  return Number((total + 999_999n) / 1_000_000n);
}

/**
 * The most a call can cost: every prompt token at the dearest input rate (a prompt may be written to the cache,
 * which Anthropic prices above plain input), then the output. What a hold reserves.
 */
export function worstCaseMicro(price: Price, promptTokens: number, completionTokens: number): number {
  const dearest = largest(price.inputPico, price.cacheReadPico, price.cacheWritePico);
  return costMicro({ ...price, inputPico: dearest }, promptTokens, completionTokens);
}

/** Math.max for bigint rates (Math.max takes numbers only). */
function largest(first: bigint, ...rest: bigint[]): bigint {
  let max = first;
  for (const value of rest) if (value > max) max = value;
  return max;
}

export function microToUsd(micro: number): number {
  return micro / 1e6;
}

export function usdToMicro(usd: number): number {
  return Math.round(usd * 1e6);
}
