/**
 * One schema per hand-off file (TypeBox): the schema is the TypeScript type (`Static`)
 * and the loader's check at once, and plain JSON Schema, so Fastify takes the same
 * objects for the web API. `checkJson` turns the first violation into one line naming
 * the file and the field path ("cases[3].original.spacingMm should be an array of 3
 * numbers, got an array of 2"). Node-free: the browser reads model metadata with it.
 */
import { Kind, Type, type Static, type TObject, type TSchema } from '@sinclair/typebox';
import { Errors, type ValueError } from '@sinclair/typebox/errors';
import { Clean } from '@sinclair/typebox/value';
import { CovsegError } from './errors.js';

export type { Static, TSchema } from '@sinclair/typebox';

/** One of these strings (a TypeBox union of literals). */
export const literals = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));

/**
 * An object with one required key per name, each holding `value`: the bands, regions or
 * lobes of a figure. (TypeBox would type a record keyed by a mapped union as string-keyed;
 * the cast only restates what the object is built to be.)
 */
export const eachOf = <K extends string, T extends TSchema>(names: readonly K[], value: T) =>
  Type.Object(Object.fromEntries(names.map((n) => [n, value]))) as unknown as TObject<Record<K, T>>;

/** `schema` or null. */
export const orNull = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/**
 * The schema option covseg adds: what a reader should have written, in words, when the
 * schema alone says it badly (`expected: 'dataset, missing or model:<name>'`).
 */
export interface Expected {
  expected?: string;
}

type Schema = TSchema & Expected & Record<string, unknown>;

function plural(what: string): string {
  return what.endsWith('s') ? what : `${what}s`;
}

/** The schema in a reader's words: 'number', 'an array of 3 numbers', 'one of warn, merge'. */
export function describeSchema(schema: TSchema): string {
  const s = schema as Schema;
  if (typeof s.expected === 'string') return s.expected;
  const bounds = [
    typeof s['minimum'] === 'number' ? `≥ ${s['minimum']}` : '',
    typeof s['exclusiveMinimum'] === 'number' ? `> ${s['exclusiveMinimum']}` : '',
    typeof s['maximum'] === 'number' ? `≤ ${s['maximum']}` : '',
    typeof s['exclusiveMaximum'] === 'number' ? `< ${s['exclusiveMaximum']}` : '',
  ].filter(Boolean);
  switch (s[Kind]) {
    case 'Literal':
      return typeof s['const'] === 'string' ? `'${s['const']}'` : String(s['const']);
    case 'Union': {
      const members = s['anyOf'] as Schema[];
      if (members.every((m) => m[Kind] === 'Literal')) return `one of ${members.map((m) => String(m['const'])).join(', ')}`;
      return members.map(describeSchema).join(' or ');
    }
    case 'Number':
    case 'Integer':
      return [s['type'] as string, ...bounds].join(' ');
    case 'Array':
      return `an array of ${plural(describeSchema(s['items'] as TSchema))}`;
    case 'Tuple': {
      const items = (s['items'] as TSchema[] | undefined) ?? [];
      const each = [...new Set(items.map(describeSchema))];
      return each.length === 1 ? `an array of ${items.length} ${plural(each[0]!)}` : `an array [${items.map(describeSchema).join(', ')}]`;
    }
    case 'Record':
      return 'object';
    case 'Unknown':
    case 'Any':
      return 'any value';
    default:
      return typeof s['type'] === 'string' ? s['type'] : 'a valid value';
  }
}

function jsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** `/cases/3/original/spacingMm` → `cases[3].original.spacingMm` (array indices in brackets, found by walking `root`). */
export function fieldPath(pointer: string, root: unknown): string {
  let out = '';
  let at: unknown = root;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += Array.isArray(at) ? `[${key}]` : out ? `.${key}` : key;
    at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined;
  }
  return out;
}

/** The first violation as one phrase (no file, no fix), e.g. "key 'options.seed' should be number, got string". */
export function describeViolation(error: ValueError, root: unknown): string {
  const path = fieldPath(error.path, root);
  const expected = describeSchema(error.schema);
  const value = error.value;
  if (value === undefined) return path ? `missing key '${path}' (${expected})` : `nothing to read (expected ${expected})`;
  const where = path ? `key '${path}'` : 'the top level';
  const kind = jsonKind(value);
  // A string where words are wanted (a choice, a pattern): say which string it was.
  if (typeof value === 'string') {
    const stringy = (s: Schema): boolean => s['type'] === 'string' || (s[Kind] === 'Union' && (s['anyOf'] as Schema[]).every(stringy));
    if (stringy(error.schema as Schema)) return `${where} is '${value.length > 60 ? `${value.slice(0, 60)}…` : value}', expected ${expected}`;
  }
  const got = Array.isArray(value)
    ? `an array of ${value.length}`
    : kind === (error.schema as Schema)['type'] || ((error.schema as Schema)['type'] === 'integer' && kind === 'number')
      ? JSON.stringify(value)
      : kind;
  return `${where} should be ${expected}, got ${got}`;
}

/**
 * `value` as the schema's type, or a CovsegError `<file>: <field problem>; <fix>`.
 * Missing keys that have a `default` in the schema are filled first (how older files,
 * which predate a key, still load), and keys the schema does not know are dropped after
 * the check, so what is returned holds exactly the typed fields. `value` is changed in place.
 */
export function checkJson<S extends TSchema>(schema: S, value: unknown, file: string, fix: string): Static<S> {
  fillDefaults(schema, value);
  assertJson(schema, value, file, fix);
  return Clean(schema, value) as Static<S>;
}

/**
 * Sets each missing object key whose schema has a `default`, through objects, arrays and
 * maps. (TypeBox's Value.Default also pads short tuples with undefined, which would turn
 * "an array of 2" into "missing key [2]".)
 */
function fillDefaults(schema: TSchema, value: unknown): void {
  if (value === null || typeof value !== 'object') return;
  const s = schema as Schema;
  if (s[Kind] === 'Array' && Array.isArray(value)) {
    for (const item of value) fillDefaults(s['items'] as TSchema, item);
  } else if (s[Kind] === 'Object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    for (const [key, property] of Object.entries(s['properties'] as Record<string, Schema>)) {
      if (obj[key] === undefined && 'default' in property) obj[key] = structuredClone(property['default']);
      else fillDefaults(property, obj[key]);
    }
  } else if (s[Kind] === 'Record' && !Array.isArray(value)) {
    const each = Object.values(s['patternProperties'] as Record<string, TSchema>)[0]!;
    for (const item of Object.values(value)) fillDefaults(each, item);
  }
}

/**
 * Throws checkJson's error when `value` breaks `schema`, and changes nothing: for the keys
 * that say what a file is (`format`), checked before the rest so that another file is
 * named as such rather than by its first missing key.
 */
export function assertJson(schema: TSchema, value: unknown, file: string, fix: string): void {
  const first = Errors(schema, value).First();
  if (first) throw new CovsegError(`${describeViolation(first, value)}; ${fix}`, { file });
}
