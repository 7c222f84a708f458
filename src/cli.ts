/** The `switchyard` command: serve, keys, credits, usage, migrate (SPEC §1). */
import { parseArgs } from 'node:util';
import { ConfigError } from './config/env-substitute.ts';
import { loadConfig, resolveConfigPath, type Config } from './config/load.ts';
import { createDb, migrate, type Db } from './db/knex.ts';
import { creditsAdd, keysCreate, keysList, keysRevoke, keysUpdate, UsageError, usageReport, type Print } from './cli/commands.ts';
import { parseKeyUpdate } from './cli/key-options.ts';
import { providersReport } from './cli/providers.ts';
import { serve } from './serve.ts';

const HELP = `usage: switchyard <command> [options]

  serve [--port N]                       run the gateway (what npm start does)
  keys create --name NAME [--credits USD] [--trial-tokens N] [--rpm N] [--tpm N] [--models GLOB,...]
              [--budget USD] [--budget-period day|week|month] [--expires 2027-01-31|30d] [--json]
  keys update ID [--name NAME] [--rpm N] [--tpm N] [--models GLOB,...] [--budget USD]
              [--budget-period day|week|month] [--expires DATE|30d] [--json]   (none clears a limit)
  keys list [--json]
  keys revoke ID
  credits add ID USD
  usage [--key ID] [--since ISO] [--until ISO] [--limit N] [--group-by model|day|key] [--json]
  migrate                                apply database migrations
  providers [--url URL] [--json]         provider entries and their health, from the running gateway
                                         (default URL: http://127.0.0.1:<server.port>; uses admin.token)

Every command takes --config PATH (default: $SWITCHYARD_CONFIG or config/gateway.yaml).`;

const OPTIONS = {
  config: { type: 'string' },
  port: { type: 'string' },
  name: { type: 'string' },
  credits: { type: 'string' },
  'trial-tokens': { type: 'string' },
  rpm: { type: 'string' },
  tpm: { type: 'string' },
  models: { type: 'string' },
  budget: { type: 'string' },
  'budget-period': { type: 'string' },
  expires: { type: 'string' },
  until: { type: 'string' },
  limit: { type: 'string' },
  key: { type: 'string' },
  since: { type: 'string' },
  'group-by': { type: 'string' },
  json: { type: 'boolean' },
  url: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Runs one command; returns the exit code instead of exiting, so tests can call it. */
export async function runCli(argv: readonly string[], print: Print = console.log, printError: Print = console.error): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    const negative = /Unknown option '(-\d[\d.]*)'/.exec((error as Error).message)?.[1];
    printError(negative ? `error: amounts must be greater than 0, got '${negative}'` : `error: ${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, sub, ...rest] = positionals;
  if (values.help || !command) {
    print(HELP);
    return command || values.help ? 0 : 2;
  }
  let config: Config;
  try {
    config = loadConfig(resolveConfigPath(values.config, process.env));
  } catch (error) {
    printError(error instanceof ConfigError ? error.message : `error: ${(error as Error).message}`);
    return 1;
  }
  if (command === 'serve') {
    const port = values.port === undefined ? undefined : Number(values.port);
    if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
      printError(`error: --port must be a port number, got '${values.port}'`);
      return 2;
    }
    return serve(config, port);
  }
  if (command === 'providers') return runProviders(config, values, print, printError);
  const db = createDb(config.database);
  try {
    await migrate(db);
    await dispatch(db, command, sub, rest, values, print);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      printError(`error: ${error.message}`);
      return 2;
    }
    printError(`error: ${(error as Error).message}`);
    return 1;
  } finally {
    await db.destroy();
  }
}

async function dispatch(db: Db, command: string, sub: string | undefined, rest: string[], values: Record<string, string | boolean | undefined>, print: Print): Promise<void> {
  const json = values.json === true;
  const route = `${command} ${sub ?? ''}`.trim();
  switch (command === 'migrate' || command === 'usage' ? command : route) {
    case 'migrate':
      print('Migrations are up to date.');
      return;
    case 'keys create':
      return keysCreate(db, { ...keyFlags(values), credits: values.credits as string, trialTokens: values['trial-tokens'] as string, json }, print);
    case 'keys update':
      return keysUpdate(db, rest[0], parseKeyUpdate(keyFlags(values)), json, print);
    case 'keys list':
      return keysList(db, json, print);
    case 'keys revoke':
      return keysRevoke(db, rest[0] ?? (values.key as string | undefined), print);
    case 'credits add':
      return creditsAdd(db, rest[0], rest[1], print);
    case 'usage':
      return usageReport(db, { key: values.key as string, since: values.since as string, until: values.until as string, limit: values.limit as string, groupBy: values['group-by'] as string, json }, print);
    default:
      throw new UsageError(`unknown command '${route}'\n\n${HELP}`);
  }
}

async function runProviders(config: Config, values: Record<string, string | boolean | undefined>, print: Print, printError: Print): Promise<number> {
  try {
    await providersReport(config, { url: values.url as string | undefined, json: values.json === true }, print);
    return 0;
  } catch (error) {
    printError(`error: ${(error as Error).message}`);
    return error instanceof UsageError ? 2 : 1;
  }
}

/** The key options `keys create` and `keys update` share, as typed. */
function keyFlags(values: Record<string, string | boolean | undefined>) {
  const text = (name: string) => values[name] as string | undefined;
  return { name: text('name'), rpm: text('rpm'), tpm: text('tpm'), models: text('models'), budget: text('budget'), budgetPeriod: text('budget-period'), expires: text('expires') };
}
