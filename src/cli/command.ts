import { availableParallelism } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../util/errors.js';
import { LUNG_MODELS, lungModel } from '../lungs/models.js';
import { DEFAULT_MAX_VOXELS, SERVICE_MAX_VOXELS } from '../io/limits.js';

/** One `covseg` subcommand. The CLI is a thin layer: parse flags, call a library function, print. */
export interface Command {
  name: string;
  /** One line for `covseg --help`. */
  summary: string;
  /** Full help text for `covseg <name> --help`: usage, options with defaults, what is written where. */
  help: string;
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

/** The --help lines of `--max-voxels`, the text starting at `column` (where the command's other options' text starts). */
export function maxVoxelsHelp(column: number, service = false): string {
  const indent = ''.padEnd(column);
  const fallback = service ? SERVICE_MAX_VOXELS : DEFAULT_MAX_VOXELS;
  return [
    `${'  --max-voxels N'.padEnd(column - 1)} refuse a larger image, from its header, before decoding`,
    service
      ? `${indent}it (default ${fallback.toLocaleString('en-US')}, a 512 × 512 × 305 CT: what one`
      : `${indent}it (default ${fallback.toLocaleString('en-US')}, a 512 × 512 × 1220 CT, about`,
    service
      ? `${indent}segmentation process runs in 2 GiB); raise it for larger scans`
      : `${indent}5 GB of memory); a slice is at most 8192 × 8192 whatever N`,
  ].join('\n');
}

/** Parses `--max-voxels N` (a positive integer; 2e8 is accepted). */
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

/** `--lung-model NAME [--lung-weights PATH]` of segment and serve: a name of the lung model registry, with the weights it needs. */
export function lungModelFlag(name: string | undefined, weights: string | undefined): string {
  const chosen = choiceFlag('lung-model', name, Object.keys(LUNG_MODELS), 'default');
  const model = lungModel(chosen);
  if (model.needsWeights && weights === undefined) throw new UsageError(`--lung-model ${chosen} needs --lung-weights FILE: ${model.weightsSource}`);
  return chosen;
}

/** The --help lines of `--lung-model` and `--lung-weights`, from the registry. */
export const LUNG_MODEL_HELP = `  --lung-model NAME       lung model: ${Object.keys(LUNG_MODELS).join(', ')} (default: default,
                          covseg's models/lung-2d.onnx; 'covseg lungs --help' tells each)
  --lung-weights FILE     the lung model's weights: lungmask's .pth for its models (download
                          from https://github.com/JoHof/lungmask/releases/tag/v0.0), another
                          lung ONNX for default`;
