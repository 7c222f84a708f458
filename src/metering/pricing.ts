/** Prices from `pricing:` globs (USD per million tokens) and exact integer cost in micro-USD, rounded up. */
import type { PricingConfig } from '../config/schema.ts';
import { compileGlob, stripModelSuffix } from '../util/glob.ts';

/**
 * Prices as integer pico-USD per token. USD per million tokens is micro-USD per token, so × 10^6 gives
 * pico-USD: integers for any price with up to six decimals, and the cost arithmetic stays exact.
 */
export interface Price {
  inputPico: bigint;
  outputPico: bigint;
}

interface Rule {
  matches: (model: string) => boolean;
  price: Price;
}

const FREE: Price = { inputPico: 0n, outputPico: 0n };

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

function toPico(price: { input: number; output: number }): Price {
  return { inputPico: BigInt(Math.round(price.input * 1e6)), outputPico: BigInt(Math.round(price.output * 1e6)) };
}

/** Cost in micro-USD, rounded up to the next micro-dollar. */
export function costMicro(price: Price, promptTokens: number, completionTokens: number): number {
  const pico = BigInt(promptTokens) * price.inputPico + BigInt(completionTokens) * price.outputPico;
  return Number((pico + 999_999n) / 1_000_000n);
}

export function microToUsd(micro: number): number {
  return micro / 1e6;
}

export function usdToMicro(usd: number): number {
  return Math.round(usd * 1e6);
}
