/**
 * Typed reading of the database's JSON hand-off files: each accessor names the file and
 * the full key path of anything missing or of the wrong type, so a stale or hand-edited
 * file fails with a message that says what to fix.
 */
import { readFile } from 'node:fs/promises';
import { CovsegError } from '../util/errors.js';

export type JsonObject = Record<string, unknown>;

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

type Kind = 'string' | 'number' | 'boolean' | 'object' | 'array';

function kindOf(v: unknown): Kind | 'null' | 'undefined' {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v as Kind;
}

/** Reads keys of one object, naming `file` and the key path (`cases[3].caseId`) on errors. */
export class KeyReader {
  constructor(
    readonly file: string,
    readonly obj: JsonObject,
    readonly path: string,
    private readonly fix: string,
  ) {}

  static root(file: string, value: unknown, fix: string): KeyReader {
    if (kindOf(value) !== 'object') throw new CovsegError(`expected a JSON object at the top level, got ${kindOf(value)}; ${fix}`, { file });
    return new KeyReader(file, value as JsonObject, '', fix);
  }

  private keyPath(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  private get(key: string, kind: Kind, optional: boolean): unknown {
    const v = this.obj[key];
    if (v === undefined || (v === null && optional)) {
      if (optional) return undefined;
      throw new CovsegError(`missing key '${this.keyPath(key)}' (${kind}); ${this.fix}`, { file: this.file });
    }
    if (kindOf(v) !== kind) throw new CovsegError(`key '${this.keyPath(key)}' should be ${kind}, got ${kindOf(v)}; ${this.fix}`, { file: this.file });
    return v;
  }

  string(key: string): string {
    return this.get(key, 'string', false) as string;
  }
  optionalString(key: string): string | undefined {
    return this.get(key, 'string', true) as string | undefined;
  }
  number(key: string): number {
    return this.get(key, 'number', false) as number;
  }
  optionalNumber(key: string): number | undefined {
    return this.get(key, 'number', true) as number | undefined;
  }
  boolean(key: string): boolean {
    return this.get(key, 'boolean', false) as boolean;
  }
  /** A string that must be one of `choices`. */
  choice<T extends string>(key: string, choices: readonly T[]): T {
    const v = this.string(key);
    if (!(choices as readonly string[]).includes(v)) {
      throw new CovsegError(`key '${this.keyPath(key)}' is '${v}', not one of ${choices.join(', ')}; ${this.fix}`, { file: this.file });
    }
    return v as T;
  }
  numbers(key: string, length?: number): number[] {
    const arr = this.get(key, 'array', false) as unknown[];
    if ((length !== undefined && arr.length !== length) || arr.some((x) => typeof x !== 'number')) {
      throw new CovsegError(`key '${this.keyPath(key)}' should be ${length ?? 'a list of'} numbers; ${this.fix}`, { file: this.file });
    }
    return arr as number[];
  }
  strings(key: string): string[] {
    const arr = this.get(key, 'array', false) as unknown[];
    if (arr.some((x) => typeof x !== 'string')) throw new CovsegError(`key '${this.keyPath(key)}' should be a list of strings; ${this.fix}`, { file: this.file });
    return arr as string[];
  }
  object(key: string): KeyReader {
    return new KeyReader(this.file, this.get(key, 'object', false) as JsonObject, this.keyPath(key), this.fix);
  }
  optionalObject(key: string): KeyReader | undefined {
    const v = this.get(key, 'object', true);
    return v === undefined ? undefined : new KeyReader(this.file, v as JsonObject, this.keyPath(key), this.fix);
  }
  objects(key: string): KeyReader[] {
    const arr = this.get(key, 'array', false) as unknown[];
    return arr.map((item, i) => {
      const p = `${this.keyPath(key)}[${i}]`;
      if (kindOf(item) !== 'object') throw new CovsegError(`'${p}' should be an object, got ${kindOf(item)}; ${this.fix}`, { file: this.file });
      return new KeyReader(this.file, item as JsonObject, p, this.fix);
    });
  }
  /** Throws the reader's error for a key whose value is present but wrong. */
  invalid(key: string, problem: string): never {
    throw new CovsegError(`key '${this.keyPath(key)}' ${problem}; ${this.fix}`, { file: this.file });
  }
  /** The keys of a map-like object, e.g. `caseSplit`. */
  keys(): string[] {
    return Object.keys(this.obj);
  }
}
