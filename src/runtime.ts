/** Where this process's code comes from: the compiled JavaScript in dist/, or the TypeScript sources under tsx. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** True when this module is dist/src/runtime.js: the gateway runs compiled, with no TypeScript loader. */
export const COMPILED = import.meta.url.endsWith('.js');

const here = path.dirname(fileURLToPath(import.meta.url));
/** The project's folder (the one with package.json), whether this runs from src/ or dist/src/. */
export const PROJECT_ROOT = path.resolve(here, COMPILED ? '../..' : '..');
export const DIST_ROOT = path.join(PROJECT_ROOT, 'dist');
