/**
 * The `switchyard` command line, declared with commander: one entry per command, its options with units, examples
 * in its help. Only commander and the value parsers load up front; each action imports what it needs, so
 * `keys list` never loads the server.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import type { Db } from '../db/knex.ts';
import type { Config } from '../config/load.ts';
import { PROJECT_ROOT } from '../runtime.ts';
import type { KeysCreateOptions, Print, UsageOptions } from './commands.ts';
import type { KeyUpdateFlags } from './key-options.ts';
import { parseBudget, parseExpires, parseKeyUpdate, parseTpm, UsageError } from './key-options.ts';
import { argParser, globList, isoTime, oneOf, usdAmount, wholeNumber } from './values.ts';

/** Where a command's output goes; tests pass collectors. */
export interface CliOutput {
  print: Print;
  printError: Print;
}

/** Thrown by an action to end the command with this exit code, its message already printed. */
class CliExit extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

/** Runs one command; returns the exit code instead of exiting, so tests can call it. */
export async function runCli(argv: readonly string[], print: Print = console.log, printError: Print = console.error): Promise<number> {
  const program = buildProgram({ print, printError });
  try {
    await program.parseAsync(withGroupHelp(program, argv), { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CliExit) return error.exitCode;
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
}

/** `switchyard keys` alone shows the help of `keys`, as `switchyard keys --help` would. */
function withGroupHelp(program: Command, argv: readonly string[]): string[] {
  const group = program.commands.find((command) => command.name() === argv[0] && command.commands.length > 0);
  return group && (argv[1] === undefined || argv[1].startsWith('-')) ? [argv[0], '--help'] : [...argv];
}

export function buildProgram(output: CliOutput): Command {
  const program = new Command('switchyard')
    .description('Self-hosted, OpenAI-compatible LLM gateway with exact metering.')
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .addHelpText(
      'after',
      '\nEvery command takes --config PATH (default: $SWITCHYARD_CONFIG, else config/gateway.yaml).\nRun `switchyard <command> --help` for its options and examples.',
    );
  configure(program, output);

  program
    .command('serve')
    .description('run the gateway (what `npm start` does, which also builds the dashboard first: `npm run build:ui`); stops cleanly on SIGTERM or SIGINT')
    .addOption(configOption())
    .addOption(new Option('--port <number>', 'TCP port to listen on (default: server.port of the config, 8000)').argParser(wholeNumber(0, 65535)))
    .addHelpText('after', examples('serve --port 8080', 'serve --config /etc/switchyard/gateway.yaml'))
    .action(async (options: { config?: string; port?: number }) => {
      const { serve } = await import('./serve-command.ts');
      const config = await loadCliConfig(options.config, output);
      warnIfNewDatabase(config, options.config, output);
      exitWith(await serve(config, options.port));
    });

  program
    .command('migrate')
    .description('apply pending database migrations and name them')
    .addOption(configOption())
    .addHelpText('after', examples('migrate', 'migrate --config config/production.yaml'))
    .action((options: { config?: string }) =>
      withDatabase(options.config, output, async (_db, applied, config) => {
        const where = config.database.client === 'pg' ? 'the PostgreSQL database' : config.database.connection;
        if (applied.length === 0) output.print(`No pending migrations: ${where} is up to date.`);
        else output.print(`Applied ${applied.length} migration(s) to ${where}: ${applied.join(', ')}`);
      }),
    );

  addKeyCommands(program, output);
  addUsageCommands(program, output);
  addProvidersCommand(program, output);
  return program;
}

function addProvidersCommand(program: Command, output: CliOutput): void {
  program
    .command('providers')
    .description("the running gateway's provider entries and their health: state (ok or cooling, until when), in flight, 5-minute requests, errors and p50s")
    .option('--url <url>', 'the gateway to ask (default: http://127.0.0.1:<server.port>); uses admin.token of the config')
    .addOption(jsonOption('an array, one object per provider entry'))
    .addOption(configOption())
    .addHelpText('after', examples('providers', 'providers --url http://gateway.internal:8000 --json'))
    .action(async (options: { url?: string; json?: boolean; config?: string }) => {
      const config = await loadCliConfig(options.config, output);
      const { providersReport } = await import('./providers.ts');
      await failingAs(output, () => providersReport(config, options, output.print));
    });
}

const PERIODS_HELP = 'the calendar period a budget covers, in UTC: day (from midnight), week (from Monday) or month (from the 1st)';
const budgetPeriodOption = (defaultText: string): Option =>
  new Option('--budget-period <period>', `${PERIODS_HELP}; ${defaultText}`).argParser(oneOf('day', 'week', 'month'));

function addKeyCommands(program: Command, output: CliOutput): void {
  const keys = commandGroup(program, 'keys', 'create, update, list and revoke gateway keys', output);
  keys
    .command('create')
    .description('create a key and print its secret once (`sk-sy-…`); without --credits or --trial-tokens it is unmetered')
    .requiredOption('--name <name>', 'a label for the key (who or what uses it)')
    .addOption(
      new Option('--credits <usd>', 'prepaid balance in USD, at least 0.000001 (one micro-dollar); 0 makes a metered key with nothing yet').argParser(
        usdAmount({ allowZero: true }),
      ),
    )
    .addOption(new Option('--trial-tokens <tokens>', 'a trial allowance in tokens (prompt + completion) instead of money').argParser(wholeNumber(1)))
    .addOption(new Option('--rpm <requests>', 'requests per minute for this key (default: rate_limit.requests_per_window)').argParser(wholeNumber(1)))
    .addOption(
      new Option('--tpm <tokens>', 'tokens per minute for this key (a request counts its hold when it starts, its real tokens once it ends)').argParser(
        argParser(parseTpm),
      ),
    )
    .addOption(new Option('--models <globs>', "comma-separated model globs the key may use, e.g. 'gpt-*,meta-llama/*'").argParser(globList))
    .addOption(new Option('--budget <usd>', 'the most the key may spend per budget period, in USD (any key, metered or not)').argParser(argParser(parseBudget)))
    .addOption(budgetPeriodOption('default month'))
    .addOption(
      new Option('--expires <when>', 'the last day the key works (UTC), e.g. 2027-01-31, or a duration from now such as 30d').argParser(
        argParser(parseExpires),
      ),
    )
    .addOption(jsonOption('one JSON object with id, key, name, balance_usd, …'))
    .addOption(configOption())
    .addHelpText(
      'after',
      examples(
        "keys create --name alice --credits 5 --rpm 30 --models 'meta-llama/*'",
        'keys create --name team-a --budget 50 --budget-period month --expires 30d',
        'keys create --name trial --trial-tokens 100000 --json',
      ),
    )
    .action((options: KeysCreateOptions & { budget?: number | null; expires?: number | null; tpm?: number | null; config?: string }) =>
      withDatabase(options.config, output, async (db) =>
        (await import('./commands.ts')).keysCreate(
          db,
          { ...options, budget: options.budget ?? undefined, expires: options.expires ?? undefined, tpm: options.tpm ?? undefined },
          output.print,
        ),
      ),
    );
  keys
    .command('update')
    .description("change a live key's name or limits; every instance applies it within 10 seconds ('none' clears a limit)")
    .argument('<id>', 'the key ID (key_…)')
    .option('--name <name>', 'a new label')
    .option('--rpm <requests>', "requests per minute, or 'none'")
    .option('--tpm <tokens>', "tokens per minute, or 'none'")
    .option('--models <globs>', "comma-separated model globs the key may use, or 'none' for any model")
    .option('--budget <usd>', "USD per budget period, or 'none'")
    .addOption(budgetPeriodOption("unchanged when not given (month for a key's first budget)"))
    .option('--expires <when>', "the last day the key works (UTC, e.g. 2027-01-31), a duration such as 30d, or 'none'")
    .addOption(jsonOption('the key as `keys list --json` shows it'))
    .addOption(configOption())
    .addHelpText('after', examples('keys update key_0A1b2C3d4E5f6G --budget 100 --tpm 20000', 'keys update key_0A1b2C3d4E5f6G --expires none --models none'))
    .action((id: string, options: KeyUpdateFlags & { json?: boolean; config?: string }) =>
      withDatabase(options.config, output, async (db) => {
        const { keysUpdate } = await import('./commands.ts');
        await keysUpdate(db, id, parseKeyUpdate(options), options.json === true, output.print);
      }),
    );
  keys
    .command('list')
    .description('list every key with its balance (never the secret)')
    .addOption(
      jsonOption(
        'an array of objects: id, name, prefix, balance_usd, trial_tokens_remaining, rpm, tpm, models, budget_usd, budget_period, budget_spent_usd, budget_resets_at, expires_at, last_used_at, revoked, created_at',
      ),
    )
    .addOption(configOption())
    .addHelpText('after', examples('keys list', 'keys list --json'))
    .action((options: { json?: boolean; config?: string }) =>
      withDatabase(options.config, output, async (db) => (await import('./commands.ts')).keysList(db, options.json === true, output.print)),
    );
  keys
    .command('revoke')
    .description('revoke a key: every instance refuses it within a few seconds; a revoked key stays revoked')
    .argument('<id>', 'the key ID (key_…), as `keys list` shows it')
    .addOption(configOption())
    .addHelpText('after', examples('keys revoke key_0A1b2C3d4E5f6G'))
    .action((id: string, options: { config?: string }) =>
      withDatabase(options.config, output, async (db) => (await import('./commands.ts')).keysRevoke(db, id, output.print)),
    );
}

function addUsageCommands(program: Command, output: CliOutput): void {
  const credits = commandGroup(program, 'credits', "top up keys' balances", output);
  credits
    .command('add')
    .description('add USD to a key that is not revoked; an unmetered key becomes a metered one')
    .argument('<id>', 'the key ID (key_…)')
    .argument('<usd>', 'the amount in USD, at least 0.000001 (one micro-dollar), at most 6 decimals', usdAmount())
    .addOption(configOption())
    .addHelpText('after', examples('credits add key_0A1b2C3d4E5f6G 10', 'credits add key_0A1b2C3d4E5f6G 0.25'))
    .action((id: string, usd: number, options: { config?: string }) =>
      withDatabase(options.config, output, async (db) => (await import('./commands.ts')).creditsAdd(db, id, usd, output.print)),
    );

  program
    .command('usage')
    .description('usage and spend: one row per request, or totals per model, day or key')
    .option('--key <id>', 'only this key (key_…)')
    .addOption(new Option('--since <iso>', 'only requests from this ISO date or time on, e.g. 2026-12-01 or 2026-12-01T09:00:00Z').argParser(isoTime))
    .addOption(new Option('--until <iso>', 'only requests before this ISO date or time (to page back past --limit)').argParser(isoTime))
    .addOption(new Option('--limit <rows>', 'at most this many rows, newest first (default 100)').argParser(wholeNumber(1)))
    .addOption(
      new Option('--group-by <what>', 'totals per model, day or key (with key names) instead of one row per request').argParser(oneOf('model', 'day', 'key')),
    )
    .addOption(jsonOption('an array: one object per request, or per group'))
    .addOption(configOption())
    .addHelpText(
      'after',
      examples('usage --key key_0A1b2C3d4E5f6G --since 2026-12-01', 'usage --limit 20 --until 2026-12-01T09:00:00Z', 'usage --group-by key --json'),
    )
    .action((options: UsageOptions & { config?: string }) =>
      withDatabase(options.config, output, async (db) => (await import('./commands.ts')).usageReport(db, options, output.print)),
    );
}

/** A command that only holds subcommands (`keys`, `credits`); alone, it shows its help. */
function commandGroup(program: Command, name: string, description: string, output: CliOutput): Command {
  const group = program.command(name).description(description);
  configure(group, output);
  return group;
}

const configOption = (): Option => new Option('--config <path>', 'the config file (default: $SWITCHYARD_CONFIG, else config/gateway.yaml)');
const jsonOption = (what: string): Option => new Option('--json', `print JSON instead of a table: ${what}`);
const examples = (...lines: string[]): string => `\nExamples:\n${lines.map((line) => `  $ switchyard ${line}`).join('\n')}`;

/** Usage errors as one line that names the mistake and the nearest valid spelling; output to the given printers. */
function configure(command: Command, { print, printError }: CliOutput): void {
  command
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (text) => print(text.replace(/\n$/, '')),
      writeErr: (text) => printError(text.replace(/\n$/, '')),
      outputError: (text, write) => write(text.replace(/\n\(Did you mean (.+)\?\)/, ' (did you mean $1?)')),
    });
}

/** Config, then the database with migrations applied, then the action; the database is closed whatever happens. */
async function withDatabase(
  configPath: string | undefined,
  output: CliOutput,
  work: (db: Db, applied: string[], config: Config) => Promise<void>,
): Promise<void> {
  const config = await loadCliConfig(configPath, output);
  const { createDb, migrate } = await import('../db/knex.ts');
  warnIfNewDatabase(config, configPath, output);
  const db = createDb(config.database);
  try {
    await failingAs(output, async () => work(db, await migrate(db), config));
  } finally {
    await db.destroy();
  }
}

/** Runs an action; a failure is one `error:` line and exit code 2 for what the user typed, 1 for anything else. */
async function failingAs(output: CliOutput, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    output.printError(`error: ${(error as Error).message}`);
    exitWith(error instanceof UsageError ? 2 : 1);
  }
}

async function loadCliConfig(explicit: string | undefined, output: CliOutput): Promise<Config> {
  const { loadConfig, resolveConfigPath } = await import('../config/load.ts');
  try {
    return loadConfig(resolveConfigPath(explicit, process.env));
  } catch (error) {
    output.printError((error as Error).name === 'ConfigError' ? (error as Error).message : `error: ${(error as Error).message}`);
    return exitWith(1);
  }
}

/** A command about to create a SQLite file says so: with a `--config` from elsewhere, it is often the wrong folder. */
function warnIfNewDatabase(config: Config, explicitConfig: string | undefined, output: CliOutput): void {
  const database = config.database;
  if (database.client !== 'sqlite3' || database.connection === ':memory:' || database.connection.startsWith('file:')) return;
  if (existsSync(database.connection)) return;
  const source = explicitConfig ? `--config ${config.configPath}` : process.env.SWITCHYARD_CONFIG ? `SWITCHYARD_CONFIG=${config.configPath}` : undefined;
  output.printError(
    source
      ? `warning: no database at ${database.connection}; creating a new, empty one (is ${source} the file you meant?)`
      : `note: no database at ${database.connection} yet; creating it`,
  );
}

function exitWith(code: number): never {
  throw new CliExit(code);
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}
