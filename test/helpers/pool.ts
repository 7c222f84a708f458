/** A gateway in front of a routing pool of mock deployments, with a clock the test moves. */
import type OpenAI from 'openai';
import { startGateway, type PlainObject, type TestGateway } from './gateway.ts';
import { deploymentEntry, type MockDeployment } from './mock-deployment.ts';

export const POOL_MODEL = 'pool/llama-70b';
export const ADMIN_TOKEN = 'admin-routing-token-0123456789';

export interface PoolGateway {
  gateway: TestGateway;
  client: OpenAI;
  secret: string;
  /** Moves the gateway's routing clock forward. */
  advance(ms: number): void;
  /** The gateway's routing clock. */
  now(): number;
  /** Asks the pool once (no stream); resolves to the name of the deployment that answered. */
  ask(content?: string, extra?: PlainObject): Promise<string>;
  close(): Promise<void>;
}

export interface PoolOptions {
  rule?: PlainObject;
  cooldown?: PlainObject;
  config?: PlainObject;
  /** Per-deployment extra entry keys, by deployment name. */
  entries?: Record<string, PlainObject>;
  /** False: the gateway keeps real time. */
  fakeClock?: boolean;
}

export async function startPool(deployments: readonly MockDeployment[], options: PoolOptions = {}): Promise<PoolGateway> {
  let now = Date.now();
  const providers = Object.fromEntries(deployments.map((deployment) => [deployment.name, deploymentEntry(deployment, options.entries?.[deployment.name])]));
  const rule = { models: ['pool/*'], targets: deployments.map((deployment) => deployment.name), ...options.rule };
  const config = {
    admin: { token: ADMIN_TOKEN },
    routing: [rule],
    cooldown: options.cooldown ?? {},
    rate_limit: { requests_per_window: 100_000 },
    ...options.config,
  };
  const gateway = await startGateway({ providers, config, clock: options.fakeClock === false ? undefined : () => now });
  const { secret } = await gateway.createKey();
  const client = gateway.client(secret);
  return {
    gateway,
    client,
    secret,
    advance(ms) {
      now += ms;
    },
    now: () => now,
    async ask(content = 'Hi', extra = {}) {
      const answer = await client.chat.completions.create({
        model: POOL_MODEL,
        messages: [{ role: 'user', content }],
        ...extra,
      } as OpenAI.ChatCompletionCreateParamsNonStreaming);
      return String(answer.choices[0].message.content).replace('served by ', '');
    },
    close: () => gateway.close(),
  };
}

/** `GET /admin/providers`, by entry name. */
export async function providersView(gateway: TestGateway): Promise<Record<string, Record<string, unknown>>> {
  const response = await fetch(`${gateway.url}/admin/providers`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  if (response.status !== 200) throw new Error(`/admin/providers answered ${response.status}`);
  const body = (await response.json()) as { object: string; data: Record<string, unknown>[] };
  return Object.fromEntries(body.data.map((entry) => [String(entry.name), entry]));
}

/** Counts by name. */
export function tally(names: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of names) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}
