/** Entry point: `node --import tsx src/cli/main.ts <command>`; loads `.env`, runs the CLI, exits with its code. */
import { config as loadDotenv } from 'dotenv';
import { runCli } from './program.ts';

loadDotenv({ quiet: true });
process.exitCode = await runCli(process.argv.slice(2));
// Open handles (pools, timers) must not keep a finished command alive.
process.exit();
