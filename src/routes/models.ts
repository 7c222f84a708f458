/** `GET /v1/models`: the union of every provider's list, `owned_by` = provider entry; cached, failures left out. */
import { Router } from 'express';
import { ModelNotFoundError } from '../errors/gateway-error.ts';
import type { Logger } from '../logging.ts';
import type { ModelInfo } from '../plugin-sdk.ts';
import type { LoadedProvider } from '../plugins/loader.ts';

export class ModelCatalog {
  private cached: { models: ModelInfo[]; expiresAt: number } | undefined;
  private refreshing: Promise<ModelInfo[]> | undefined;

  constructor(
    private readonly providers: readonly LoadedProvider[],
    private readonly logger: Logger,
    private readonly ttlMs = 60_000,
  ) {}

  async list(): Promise<ModelInfo[]> {
    if (this.cached && this.cached.expiresAt > Date.now()) return this.cached.models;
    this.refreshing ??= this.refresh().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async refresh(): Promise<ModelInfo[]> {
    const listing = this.providers.filter((entry) => entry.provider.listModels);
    const results = await Promise.allSettled(
      listing.map((entry) => entry.provider.listModels!({ requestId: 'models', signal: AbortSignal.timeout(entry.timeoutMs) })),
    );
    const models: ModelInfo[] = [];
    results.forEach((result, index) => {
      const entry = listing[index];
      if (result.status === 'rejected') {
        this.logger.warn('model list failed; provider left out', { provider: entry.name, error: (result.reason as Error)?.message });
        return;
      }
      for (const model of result.value) models.push({ ...model, object: 'model', created: model.created ?? 0, owned_by: entry.name });
    });
    // A provider that failed is retried sooner than a full TTL later.
    const ttl = results.some((result) => result.status === 'rejected') ? Math.min(this.ttlMs, 10_000) : this.ttlMs;
    this.cached = { models, expiresAt: Date.now() + ttl };
    return models;
  }
}

export function modelsRouter(catalog: ModelCatalog): Router {
  const router = Router();
  router.get('/v1/models', async function listModels(_req, res) {
    res.json({ object: 'list', data: await catalog.list() });
  });
  // HF ids contain a slash: `/v1/models/meta-llama/Llama-3.1-8B-Instruct`.
  router.get('/v1/models/*id', async function getModel(req, res) {
    const id = (req.params as { id: string[] }).id.join('/');
    const model = (await catalog.list()).find((candidate) => candidate.id === id);
    if (!model) throw new ModelNotFoundError(`The model '${id.slice(0, 200)}' does not exist.`);
    res.json(model);
  });
  return router;
}
