#!/usr/bin/env node
// The `switchyard` bin: registers the TypeScript loader in this same process (so signals reach it), then runs main.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
