#!/usr/bin/env node
/**
 * Functions longer than N lines (default 80) in src/, longest first: the places where one
 * function does several jobs. Parsed with @swc/core (the TypeScript parser dependency-cruiser
 * uses here; typescript 7 has no compiler API).
 *   node scripts/long-functions.js [--over 80] [DIR]
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import swc from '@swc/core';

const { values, positionals } = parseArgs({ options: { over: { type: 'string', default: '80' } }, allowPositionals: true });
const over = Number(values.over);
const root = positionals[0] ?? 'src';

function* tsFiles(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* tsFiles(path);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) yield path;
  }
}

const FUNCTION_TYPES = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression', 'ClassMethod', 'PrivateMethod', 'Constructor', 'MethodProperty', 'GetterProperty', 'SetterProperty']);
const found = [];
for (const file of tsFiles(root)) {
  // A first statement pins the module's span to byte 0 (swc's spans are offsets into one
  // growing source map, and a module's span starts at its first token, after any comment).
  const source = `0;\n${readFileSync(file, 'utf8').replace(/^#!/, '//')}`;
  const bytes = Buffer.from(source);
  const ast = swc.parseSync(source, { syntax: 'typescript', target: 'es2022' });
  const base = ast.span.start;
  const lineOf = (offset) => bytes.subarray(0, offset - base).toString().split('\n').length - 1;
  const visit = (node, name) => {
    if (!node || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach((n) => visit(n, name));
    let own = name;
    if (node.type === 'VariableDeclarator' && node.id?.type === 'Identifier') own = node.id.value;
    if ((node.type === 'FunctionDeclaration' || node.type === 'FunctionExpression') && node.identifier) own = node.identifier.value;
    if ((node.type === 'ClassMethod' || node.type === 'MethodProperty' || node.type === 'KeyValueProperty') && node.key?.value) own = node.key.value;
    if (FUNCTION_TYPES.has(node.type) && node.span) {
      const lines = lineOf(node.span.end) - lineOf(node.span.start) + 1;
      if (lines > over) found.push({ file: relative('.', file), line: lineOf(node.span.start), name: own ?? '(anonymous)', lines });
    }
    for (const [key, value] of Object.entries(node)) if (key !== 'span' && value && typeof value === 'object') visit(value, own);
  };
  visit(ast.body, undefined);
}
found.sort((a, b) => b.lines - a.lines);
for (const f of found) console.log(`${String(f.lines).padStart(4)}  ${f.file}:${f.line}  ${f.name}`);
console.log(`${found.length} functions over ${over} lines in ${root}/`);
