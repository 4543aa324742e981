/** Reading a JSON hand-off file against its schema (src/util/schema.ts), with one-line errors naming the file. */
import { readFile } from 'node:fs/promises';
import { CovsegError } from './errors.js';
import { assertJson, checkJson, type Static, type TSchema } from './schema.js';

/** The parsed JSON of `path`; unreadable or not JSON is a CovsegError saying what the file is (`what`) and how to fix it. */
export async function readJsonFile(path: string, what: string, fix: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CovsegError(`cannot read the ${what}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; ${fix}`, { file: path, cause: err });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new CovsegError(`the ${what} is not valid JSON (${(err as Error).message}); ${fix}`, { file: path, cause: err });
  }
}

/**
 * `path` read, parsed and checked against `schema` (see checkJson); `identity`, when given,
 * is checked first (e.g. the `format` key), so that another kind of file is named as such.
 */
export async function loadJsonFile<S extends TSchema>(schema: S, path: string, what: string, fix: string, identity?: TSchema): Promise<Static<S>> {
  const value = await readJsonFile(path, what, fix);
  if (identity) assertJson(identity, value, path, fix);
  return checkJson(schema, value, path, fix);
}
