#!/usr/bin/env node
/**
 * Fails when the modules under src/ and plugins/ import each other in a cycle (type-only imports included: a cycle
 * of types is still two modules that cannot be understood apart). Prints each cycle as a chain of files.
 * Usage: node scripts/check-cycles.mjs [folder…]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const folders = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['src', 'plugins'];
const IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|^\s*import\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/gm;

/** Every .ts/.mts/.js/.mjs file below `folder`, tests excluded. */
function sources(folder) {
  const out = [];
  for (const name of readdirSync(folder)) {
    const file = path.join(folder, name);
    if (statSync(file).isDirectory()) {
      if (name !== 'node_modules' && name !== 'test') out.push(...sources(file));
    } else if (/\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(file);
  }
  return out;
}

/** file → the files it imports (relative specifiers only; packages cannot close a cycle back into the tree). */
function importGraph(files) {
  const graph = new Map();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const targets = new Set();
    for (const match of text.matchAll(IMPORT)) {
      const target = path.resolve(path.dirname(file), match[1] ?? match[2] ?? match[3]);
      if (graph.has(target) || files.includes(target)) targets.add(target);
    }
    graph.set(file, [...targets]);
  }
  return graph;
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
function cycles(graph) {
  let index = 0;
  const stack = [];
  const state = new Map();
  const found = [];
  const visit = (file) => {
    state.set(file, { index, low: index, onStack: true });
    index++;
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (!state.has(next)) {
        visit(next);
        state.get(file).low = Math.min(state.get(file).low, state.get(next).low);
      } else if (state.get(next).onStack) {
        state.get(file).low = Math.min(state.get(file).low, state.get(next).index);
      }
    }
    if (state.get(file).low === state.get(file).index) {
      const component = [];
      let member;
      do {
        member = stack.pop();
        state.get(member).onStack = false;
        component.push(member);
      } while (member !== file);
      if (component.length > 1 || (graph.get(file) ?? []).includes(file)) found.push(component.reverse());
    }
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}

const files = folders.flatMap((folder) => sources(path.resolve(ROOT, folder)));
const found = cycles(importGraph(files));
for (const component of found) console.error(`import cycle: ${component.map((file) => path.relative(ROOT, file)).join(' ↔ ')}`);
if (found.length > 0) process.exit(1);
console.log(`no import cycles among ${files.length} modules`);
