/** The flag tables: one per command, generating both the parser and the Options section of --help. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { flag, optionsHelp, parseCommandLine } from '../../src/cli/command.js';
import { UsageError } from '../../src/util/errors.js';
import { runCovseg } from '../helpers/run-cli.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PROJECT_ROOT } from '../helpers/shared-data.js';

/** The help with its line breaks and indentation folded into single spaces. */
const flat = (text: string) => text.replace(/\s+/g, ' ');

test('every command has a flag table, and its --help names every flag with its default', async () => {
  for (const entry of COMMANDS) {
    const command = await entry.load();
    assert.ok(command.flags, `${entry.name} has a flag table`);
    assert.equal(command.name, entry.name, `${entry.name}: the registry loads the command of that name`);
    const help = flat(command.help);
    assert.ok(help.includes(flat(optionsHelp(command.flags))), `${entry.name}: the Options section is the table's`);
    for (const [name, f] of Object.entries(command.flags)) {
      assert.match(command.help, new RegExp(`^  --${name}\\b`, 'm'), `${entry.name} --help lists --${name}`);
      if (f.shownDefault !== undefined) {
        assert.ok(help.includes(flat(`(default ${f.shownDefault})`)) || help.includes(flat(`(default: ${f.shownDefault})`)), `${entry.name} --${name}: default ${f.shownDefault}`);
      }
      for (const old of f.aliases ?? []) assert.ok(help.includes(`--${old} (now --${name})`), `${entry.name}: old name --${old}`);
    }
  }
});

test('every command refuses an unknown flag as bad usage (exit 2), naming it', async () => {
  for (const entry of COMMANDS) {
    const command = await entry.load();
    await assert.rejects(command.run(['--no-such-flag']), (err: Error) => err instanceof UsageError && /'--no-such-flag'/.test(err.message), entry.name);
  }
  const r = runCovseg(['info', '--no-such-flag', 'x.nii.gz']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^covseg info: Unknown option '--no-such-flag'/);
});

test('segment --model, the old name of --lesion-model, still picks the lesion model, with a note', () => {
  const dir = mkdtempSync(join(tmpdir(), 'covseg-flags-'));
  const r = runCovseg(['segment', resolve(PROJECT_ROOT, 'examples/zenodo20-slices/ct/1397.png'), '--out', join(dir, 'out'), '--model', join(dir, 'no-such-lesion-model.onnx')]);
  rmSync(dir, { recursive: true, force: true });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^covseg segment: --model is now --lesion-model; the old name still works\n.*no-such-lesion-model\.onnx/s);
});

const TABLE = {
  out: flag.string({ arg: 'DIR', help: 'output folder' }),
  seed: flag.number({ arg: 'N', default: 42, check: Number.isInteger, help: 'seed' }),
  mode: flag.choice({ choices: ['a', 'b'] as const, default: 'a', help: 'mode' }),
  'lung-model': flag.string({ arg: 'NAME', default: 'default', aliases: ['model'], help: 'lung model' }),
  overwrite: flag.boolean({ aliases: ['force'], help: 'replace the outputs' }),
  source: flag.repeated({ arg: 'S', help: 'sources' }),
};

test('parseCommandLine: defaults, checks naming the flag, repeated flags', () => {
  const none = parseCommandLine('x', [], TABLE);
  assert.deepEqual(none.values, { out: undefined, seed: 42, mode: 'a', 'lung-model': 'default', overwrite: false, source: [] });
  const some = parseCommandLine('x', ['in', '--seed', '7', '--mode', 'b', '--source', 's1', '--source', 's2', '--overwrite'], TABLE);
  assert.deepEqual(some.values, { out: undefined, seed: 7, mode: 'b', 'lung-model': 'default', overwrite: true, source: ['s1', 's2'] });
  assert.deepEqual(some.positionals, ['in']);
  assert.throws(() => parseCommandLine('x', ['--seed', '1.5'], TABLE), (e: Error) => e instanceof UsageError && e.message === "--seed: invalid value '1.5'");
  assert.throws(() => parseCommandLine('x', ['--mode', 'c'], TABLE), /--mode: 'c' is not one of a, b/);
  assert.throws(() => parseCommandLine('x', ['--seed'], TABLE), UsageError);
});

test('parseCommandLine: an old name works as the new one, with a one-line note; both at once is bad usage', () => {
  const notes: string[] = [];
  const onNote = (m: string) => notes.push(m);
  const { values } = parseCommandLine('lungs', ['--model', 'r231', '--force'], TABLE, { onNote });
  assert.equal(values['lung-model'], 'r231');
  assert.equal(values.overwrite, true);
  assert.deepEqual(notes, ['--model is now --lung-model; the old name still works', '--force is now --overwrite; the old name still works']);
  assert.throws(() => parseCommandLine('lungs', ['--model', 'a', '--lung-model', 'b'], TABLE, { onNote }), /--model is the old name of --lung-model; give only --lung-model/);
});

test('optionsHelp: aligned, wrapped to 90 columns, defaults stated, old names listed', () => {
  const text = optionsHelp(TABLE);
  for (const line of text.split('\n')) assert.ok(line.length <= 90, line);
  assert.match(text, /^ {2}--seed N +seed \(default 42\)$/m);
  assert.match(text, /^ {2}--lung-model NAME +lung model \(default: default\)$/m);
  assert.match(flat(text), /Old names, still accepted with a note on stderr: --model \(now --lung-model\), --force \(now --overwrite\)\./);
});
