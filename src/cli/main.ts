#!/usr/bin/env node
import { COMMANDS } from './commands/index.js';
import { CovsegError, UsageError } from '../util/errors.js';
import { describeIoError } from '../util/output-target.js';

const USAGE = `covseg: COVID-19 lung lesion segmentation in chest CT

Usage: covseg <command> [options]      covseg <command> --help

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`).join('\n')}

Exit codes: 0 ok, 1 failure, 2 bad usage.`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE + '\n');
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    const { readFile } = await import('node:fs/promises');
    const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(pkg.version + '\n');
    return 0;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    process.stderr.write(`covseg: unknown command '${name}'\n\n${USAGE}\n`);
    return 2;
  }
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.help.trimEnd() + '\n');
    return 0;
  }
  try {
    await command.run(rest);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`covseg ${name}: ${err.message}\nRun 'covseg ${name} --help' for usage.\n`);
      return 2;
    }
    // File-system errors (read-only disk, full disk, a file where a folder should be) are the
    // user's to fix, so they get one line naming the path, not a stack trace.
    const known = err instanceof CovsegError ? err : describeIoError(err);
    if (known) {
      process.stderr.write(`covseg ${name}: error: ${known.message}\n`);
      return 1;
    }
    process.stderr.write(`covseg ${name}: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
