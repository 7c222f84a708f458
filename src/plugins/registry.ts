/** Provider selection (SPEC §3): body `provider`, else the first entry whose globs match, plus configured fallbacks. */
import type { Config } from '../config/load.ts';
import { ModelNotFoundError, UnknownProviderError } from '../errors/gateway-error.ts';
import { compileGlob, stripModelSuffix } from '../util/glob.ts';
import type { LoadedProvider } from './loader.ts';

/** One place a request may be sent: a provider entry and the model id to ask it for. */
export interface Target {
  provider: LoadedProvider;
  model: string;
  /** Picked from a routing pool: tried once, a failure moves on to the pool's next target instead of retrying it. */
  routed?: boolean;
}

interface FallbackRule {
  matches: (model: string) => boolean;
  targets: { provider: string; model?: string }[];
}

export class ProviderRegistry {
  readonly providers: readonly LoadedProvider[];
  private readonly byName: Map<string, LoadedProvider>;
  private readonly fallbacks: FallbackRule[];

  constructor(providers: readonly LoadedProvider[], fallbacks: Config['fallbacks'] = {}) {
    this.providers = providers;
    this.byName = new Map(providers.map((provider) => [provider.name, provider]));
    this.fallbacks = Object.entries(fallbacks).map(([glob, targets]) => {
      for (const target of targets) {
        if (!this.byName.has(target.provider)) throw new Error(`fallbacks.${glob}: unknown provider '${target.provider}'`);
      }
      return { matches: compileGlob(glob), targets };
    });
  }

  get(name: string): LoadedProvider | undefined {
    return this.byName.get(name);
  }

  /** The primary target, then the fallbacks configured for the model, in order, without repeats. */
  resolve(model: string, providerName?: unknown): Target[] {
    const bare = stripModelSuffix(model);
    const primary = this.primary(model, bare, providerName);
    return this.withFallbacks([{ provider: primary, model }], model, bare);
  }

  /** `targets`, then the fallbacks configured for the model that are not among them yet. */
  withFallbacks(targets: Target[], model: string, bare = stripModelSuffix(model)): Target[] {
    const rule = this.fallbacks.find((candidate) => candidate.matches(bare));
    for (const fallback of rule?.targets ?? []) {
      const provider = this.byName.get(fallback.provider)!;
      const target = { provider, model: fallback.model ?? model };
      if (!targets.some((known) => known.provider === provider && known.model === target.model)) targets.push(target);
    }
    return targets;
  }

  private primary(model: string, bare: string, providerName: unknown): LoadedProvider {
    if (providerName !== undefined && providerName !== null) {
      const named = typeof providerName === 'string' ? this.byName.get(providerName) : undefined;
      if (!named) throw new UnknownProviderError(String(providerName).slice(0, 100), [...this.byName.keys()]);
      return named;
    }
    const found = this.providers.find((provider) => provider.matches(bare));
    if (!found) throw new ModelNotFoundError(`No provider serves the model '${model.slice(0, 200)}'.`);
    return found;
  }
}
