import { availableParallelism } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../util/errors.js';
import { LUNG_MODELS, lungModel } from '../lungs/models.js';
import { DEFAULT_MAX_VOXELS, SERVICE_MAX_VOXELS } from '../io/limits.js';

/** One `covseg` subcommand. The CLI is a thin layer: parse flags, call a library function, print. */
export interface Command {
  /** The registry (commands/index.ts) holds the one-line summary for `covseg --help`, so that listing commands loads none of them. */
  name: string;
  /** Full help text for `covseg <name> --help`: usage, options with defaults, what is written where. */
  help: string;
  /** The flag table the help's Options section and the parser are made from. */
  flags?: FlagTable;
  /** Runs the command; throws UsageError for bad usage (exit 2), any other error is a failure (exit 1). */
  run(argv: string[]): Promise<void>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * `util.parseArgs` with errors turned into UsageError (exit code 2).
 * Unknown flags are errors, so a typo never silently falls back to a default.
 */
export function parseFlags<O extends Options>(argv: string[], options: O, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Parses a numeric flag, naming the flag in the error. */
export function numberFlag(name: string, value: string | undefined, fallback: number, check?: (n: number) => boolean): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || (check && !check(n))) throw new UsageError(`--${name}: invalid value '${value}'`);
  return n;
}

/** Parses an enumerated flag, listing the valid values in the error. */
export function choiceFlag<T extends string>(name: string, value: string | undefined, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) {
    throw new UsageError(`--${name}: '${value}' is not one of ${choices.join(', ')}`);
  }
  return value as T;
}

/** Parses `--max-voxels N` (a positive integer; 2e8 is accepted); the service's default is lower. */
export function maxVoxelsFlag(value: string | undefined, service = false): number {
  return numberFlag('max-voxels', value, service ? SERVICE_MAX_VOXELS : DEFAULT_MAX_VOXELS, (n) => Number.isInteger(n) && n > 0);
}

export interface ThreadsFlagOptions {
  /** Threads when the flag is absent (bounded by the cores too). */
  fallback: number;
  /** 0 is a valid value (e.g. "all cores"). Defaults to false. */
  allowZero?: boolean;
  /** The machine's cores. Defaults to os.availableParallelism(). */
  cores?: number;
  /** The command, for the warning on stderr ('covseg lungs: warning: …'). */
  command: string;
  /** Receives the warning when the value is lowered. Defaults to stderr. */
  onWarning?: (message: string) => void;
}

/**
 * Parses `--threads`, bounded by the machine's cores: more threads than cores only make
 * the threads wait for each other (`lungs --threads 300` took 60 times longer), so a
 * larger value is lowered to the core count, with a warning naming the bound.
 */
export function threadsFlag(value: string | undefined, options: ThreadsFlagOptions): number {
  const cores = options.cores ?? availableParallelism();
  const n = numberFlag('threads', value, Math.min(options.fallback, cores), (v) => Number.isInteger(v) && v >= (options.allowZero ? 0 : 1));
  if (n <= cores) return n;
  (options.onWarning ?? ((m: string) => void process.stderr.write(`covseg ${options.command}: warning: ${m}\n`)))(
    `--threads ${n} is more than the ${cores} core(s) of this machine (os.availableParallelism()); using ${cores}`,
  );
  return cores;
}

/** A flag's value as `util.parseArgs` gives it: absent, a switch, a string, or every string of a repeated flag. */
export type RawFlag = string | boolean | string[] | undefined;

/** What a flag's parser knows besides the value: the flag's name and the command's, for messages. */
export interface FlagContext {
  name: string;
  command: string;
}

/**
 * One row of a command's flag table: how the flag parses and checks, its default and its
 * --help text. The table generates both the `util.parseArgs` config and the Options section
 * of --help, so a default is written once, where it is applied.
 */
export interface Flag<T> {
  type: 'string' | 'boolean';
  /** Repeatable (--source A --source B): the value is every occurrence. */
  multiple?: boolean;
  /** The value's placeholder in --help ('N', 'DIR', 'a,b'); none for a switch. */
  arg?: string;
  /** The --help text, wrapped to the help's width; '\n' starts a new line. */
  help: string;
  /** The default as --help states it, appended as "(default …)"; absent: nothing is appended. */
  shownDefault?: string;
  /** Old names, still accepted, each with a one-line deprecation note on stderr. */
  aliases?: readonly string[];
  /** The given value (undefined when absent) to the command's value; throws UsageError naming the flag. */
  parse(raw: RawFlag, context: FlagContext): T;
}

export type FlagTable = Record<string, Flag<unknown>>;
export type FlagValues<T extends FlagTable> = { -readonly [K in keyof T]: T[K] extends Flag<infer V> ? V : never };

interface FlagText {
  /** The --help text; '\n' starts a new line. */
  help: string;
  /** Old names, still accepted with a deprecation note. */
  aliases?: readonly string[];
}

type Defaulted<D, V> = D extends undefined ? V | undefined : V;

/** The builders of flag-table rows; each parses with numberFlag/choiceFlag/threadsFlag above. */
export const flag = {
  /** A switch: true when given. */
  boolean(text: FlagText): Flag<boolean> {
    return { type: 'boolean', ...text, parse: (raw) => raw === true };
  },

  /** A string value, as given. */
  string<D extends string | undefined = undefined>(o: FlagText & { arg: string; default?: D; shownDefault?: string }): Flag<Defaulted<D, string>> {
    return {
      type: 'string', arg: o.arg, help: o.help, aliases: o.aliases,
      shownDefault: o.shownDefault ?? o.default,
      parse: (raw) => ((raw as string | undefined) ?? o.default) as Defaulted<D, string>,
    };
  },

  /** A repeatable string flag (--source A --source B): every value, in order; [] when absent. */
  repeated(o: FlagText & { arg: string }): Flag<string[]> {
    return { type: 'string', multiple: true, arg: o.arg, help: o.help, aliases: o.aliases, parse: (raw) => (raw as string[] | undefined) ?? [] };
  },

  /** A comma-separated list (--sources a,b); undefined when absent. */
  list(o: FlagText & { arg: string; shownDefault?: string }): Flag<string[] | undefined> {
    return { type: 'string', arg: o.arg, help: o.help, aliases: o.aliases, shownDefault: o.shownDefault, parse: (raw) => (raw === undefined ? undefined : (raw as string).split(',')) };
  },

  /** A number, checked by `check`; `default` when absent (undefined: the library's default, stated by `shownDefault`). */
  number<D extends number | undefined = undefined>(o: FlagText & { arg: string; default?: D; shownDefault?: string; check?: (n: number) => boolean }): Flag<Defaulted<D, number>> {
    return {
      type: 'string', arg: o.arg, help: o.help, aliases: o.aliases,
      shownDefault: o.shownDefault ?? (o.default === undefined ? undefined : String(o.default)),
      parse: (raw, { name }) => (raw === undefined ? o.default : numberFlag(name, raw as string, 0, o.check)) as Defaulted<D, number>,
    };
  },

  /** One of `choices`, listed in the error; `arg` defaults to 'a|b|c'. */
  choice<T extends string, D extends T | undefined = undefined>(o: FlagText & { choices: readonly T[]; arg?: string; default?: D; shownDefault?: string }): Flag<Defaulted<D, T>> {
    return {
      type: 'string', arg: o.arg ?? o.choices.join('|'), help: o.help, aliases: o.aliases,
      shownDefault: o.shownDefault ?? o.default,
      parse: (raw, { name }) => (raw === undefined ? o.default : choiceFlag(name, raw as string, o.choices, o.choices[0]!)) as Defaulted<D, T>,
    };
  },

  /** `--threads N`, bounded by the machine's cores (threadsFlag). */
  threads(o: FlagText & Pick<ThreadsFlagOptions, 'fallback' | 'allowZero'> & { shownDefault?: string }): Flag<number> {
    return {
      type: 'string', arg: 'N', help: o.help, aliases: o.aliases, shownDefault: o.shownDefault ?? String(o.fallback),
      parse: (raw, { command }) => threadsFlag(raw as string | undefined, { fallback: o.fallback, allowZero: o.allowZero ?? false, command }),
    };
  },

  /** `--max-voxels N`, the same row in every command that reads an image; `service`: serve's lower default. */
  maxVoxels(service = false): Flag<number> {
    const fallback = (service ? SERVICE_MAX_VOXELS : DEFAULT_MAX_VOXELS).toLocaleString('en-US');
    return {
      type: 'string', arg: 'N',
      help: service
        ? 'refuse a larger image, from its header, before decoding it; raise it for larger scans'
        : 'refuse a larger image, from its header, before decoding it; a slice is at most 8192 × 8192 whatever N',
      shownDefault: service ? `${fallback}, a 512 × 512 × 305 CT: what one segmentation process runs in 2 GiB` : `${fallback}, a 512 × 512 × 1220 CT, about 5 GB of memory`,
      parse: (raw) => maxVoxelsFlag(raw as string | undefined, service),
    };
  },

  /** `--lung-model NAME`: a name of the lung model registry (src/lungs/models.ts); check its weights with lungModelFlag. */
  lungModel(o: { help?: string; aliases?: readonly string[] } = {}): Flag<string> {
    return flag.choice({
      choices: Object.keys(LUNG_MODELS), arg: 'NAME', default: 'default', aliases: o.aliases,
      shownDefault: "default, covseg's models/lung-2d.onnx",
      help: o.help ?? `lung model: ${Object.keys(LUNG_MODELS).join(', ')} ('covseg lungs --help' tells each)`,
    });
  },

  /** `--lung-weights FILE`, the weights file of --lung-model. */
  lungWeights(o: { help?: string; aliases?: readonly string[] } = {}): Flag<string | undefined> {
    return flag.string({
      arg: 'FILE', aliases: o.aliases,
      help: o.help ?? "the lung model's weights: another lung ONNX for default, lungmask's .pth for its models, from\nhttps://github.com/JoHof/lungmask/releases/tag/v0.0",
    });
  },

  /** `--lobe-weights FILE`: lungmask's LTRCLobes weights, for the lobe scores (segment, and every job of serve). */
  lobeWeights(o: { help?: string } = {}): Flag<string | undefined> {
    return flag.string({
      arg: 'FILE',
      help: o.help ?? "lungmask's LTRCLobes weights (unet_ltrclobes-3a07043d.pth, from\nhttps://github.com/JoHof/lungmask/releases/tag/v0.0): the lobes, for the lobar\nTSS 0–20 and Pan 0–25 scores; HU volumes only",
    });
  },
};

/** Checks that `--lung-model NAME` has the `--lung-weights` it needs; returns the name. */
export function lungModelFlag(name: string | undefined, weights: string | undefined): string {
  const chosen = choiceFlag('lung-model', name, Object.keys(LUNG_MODELS), 'default');
  const model = lungModel(chosen);
  if (model.needsWeights && weights === undefined) throw new UsageError(`--lung-model ${chosen} needs --lung-weights FILE: ${model.weightsSource}`);
  return chosen;
}

export interface ParseCommandOptions {
  /** Positional arguments allowed. Defaults to true. */
  positionals?: boolean;
  /** Receives each deprecation note. Defaults to stderr ('covseg lungs: --model is now …'). */
  onNote?: (message: string) => void;
}

/**
 * Parses `argv` by the command's flag table: unknown flags are usage errors (exit 2), every
 * value is checked, and an old name (alias) works as the new one with a note on stderr.
 */
export function parseCommandLine<T extends FlagTable>(command: string, argv: string[], table: T, options: ParseCommandOptions = {}): { values: FlagValues<T>; positionals: string[] } {
  const config: Options = {};
  for (const [name, f] of Object.entries(table)) {
    for (const n of [name, ...(f.aliases ?? [])]) config[n] = { type: f.type, ...(f.multiple ? { multiple: true } : {}) };
  }
  const parsed = parseFlags(argv, config, options.positionals ?? true);
  const given = parsed.values as Record<string, RawFlag>;
  const note = options.onNote ?? ((m: string) => void process.stderr.write(`covseg ${command}: ${m}\n`));
  const values: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(table)) {
    let raw = given[name];
    for (const old of f.aliases ?? []) {
      if (given[old] === undefined) continue;
      if (raw !== undefined) throw new UsageError(`--${old} is the old name of --${name}; give only --${name}`);
      note(`--${old} is now --${name}; the old name still works`);
      raw = given[old];
    }
    values[name] = f.parse(raw, { name, command });
  }
  return { values: values as FlagValues<T>, positionals: parsed.positionals };
}

/** The width --help is wrapped to. */
const HELP_WIDTH = 90;
/** Flag labels longer than this put their text on the next line. */
const LABEL_MAX = 22;

/** Splits `text` into lines of at most `width` characters at spaces; '\n' forces a break. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(' ')) {
      if (line && line.length + 1 + word.length > width) {
        lines.push(line);
        line = word;
      } else {
        line = line ? `${line} ${word}` : word;
      }
    }
    lines.push(line);
  }
  return lines;
}

/**
 * "(default 42)", or "(default: the largest series)" for words; its first word is kept on
 * the line of "(default" (a no-break space that wrap() does not split at).
 */
function defaultText(shown: string): string {
  const words = shown.split(' ');
  const lead = /^[0-9]/.test(shown) || (words.length === 1 && shown !== 'default') ? '(default' : '(default:';
  return `${lead}\u00a0${words[0]}${words.length > 1 ? ' ' : ''}${words.slice(1).join(' ')})`;
}

/**
 * The Options section of --help, from the flag table: one entry per flag with its text and
 * "(default …)", then the old names still accepted.
 */
export function optionsHelp(table: FlagTable): string {
  const rows = Object.entries(table).map(([name, f]) => ({
    label: `--${name}${f.arg ? ` ${f.arg}` : ''}`,
    text: f.help + (f.shownDefault !== undefined ? ` ${defaultText(f.shownDefault)}` : ''),
  }));
  const labelWidth = Math.max(...rows.map((r) => r.label.length).filter((n) => n <= LABEL_MAX));
  const column = 2 + labelWidth + 2;
  const indent = ''.padEnd(column);
  const out: string[] = [];
  for (const { label, text } of rows) {
    const lines = wrap(text, HELP_WIDTH - column);
    if (label.length > labelWidth) out.push(`  ${label}`);
    else out.push(`  ${label.padEnd(labelWidth)}  ${lines.shift()}`);
    for (const l of lines) out.push(indent + l);
  }
  const renamed = Object.entries(table).flatMap(([name, f]) => (f.aliases ?? []).map((old) => `--${old} (now --${name})`));
  if (renamed.length) out.push(...wrap(`Old names, still accepted with a note on stderr: ${renamed.join(', ')}.`, HELP_WIDTH - 2).map((l) => `  ${l}`));
  return out.join('\n').replaceAll('\u00a0', ' ');
}
