import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { unzipSync, zipSync } from 'fflate';
import { parseStateDict, readStateDict, tensorToFloat32, unpickle, PyGlobal, PyObject, type TorchTensor } from '../../src/nn/torch-pth/index.js';
import { fixturePath } from '../lungs/fixtures.js';

interface Expected {
  dtype: string;
  shape: number[];
  values: (number | string)[];
}
const expected = JSON.parse(readFileSync(fixturePath('pth-cases.json'), 'utf8')) as Record<string, Expected>;

function values(t: TorchTensor): (number | string)[] {
  if (t.dtype === 'int64') return Array.from(t.data as BigInt64Array, (v) => v.toString());
  if (t.dtype === 'float16' || t.dtype === 'bfloat16') return Array.from(tensorToFloat32(t));
  return Array.from(t.data as ArrayLike<number>);
}

for (const file of ['pth-cases.pth', 'pth-cases-legacy.pth']) {
  test(`${file}: every dtype, stride, offset and shared storage reads as PyTorch wrote it`, async () => {
    const sd = await readStateDict(fixturePath(file));
    assert.deepEqual([...sd.keys()], Object.keys(expected), 'keys in file order');
    for (const [key, want] of Object.entries(expected)) {
      const t = sd.get(key)!;
      assert.equal(t.dtype, want.dtype, key);
      assert.deepEqual(t.shape, want.shape, key);
      assert.deepEqual(values(t), want.values, key);
    }
  });
}

test('the zip member prefix is the archive name, not always "archive"', () => {
  const names = Object.keys(unzipSync(new Uint8Array(readFileSync(fixturePath('r231-tiny.pth')))));
  assert.ok(names.includes('r231-tiny/data.pkl'));
  assert.equal(parseStateDict(new Uint8Array(readFileSync(fixturePath('r231-tiny.pth')))).size, 227);
});

test('the full R231 key set and dtypes read from both formats identically', async () => {
  const zip = await readStateDict(fixturePath('r231-tiny.pth'));
  const legacy = await readStateDict(fixturePath('r231-tiny-legacy.pth'));
  assert.deepEqual([...zip.keys()], [...legacy.keys()]);
  for (const [k, t] of zip) assert.deepEqual(legacy.get(k), t, k);
  assert.equal(zip.get('down_path.0.block.2.num_batches_tracked')!.dtype, 'int64');
  assert.deepEqual(zip.get('up_path.3.up.1.weight')!.shape, [2, 4, 1, 1]);
  assert.deepEqual(zip.get('down_path.4.residual_input_conv.weight')!.shape, [32, 16, 1, 1]);
});

test('a training checkpoint: the nested state_dict is found, or picked by `entry`', async () => {
  const auto = await readStateDict(fixturePath('pth-checkpoint.pth'));
  assert.deepEqual([...auto.keys()], ['w']);
  assert.deepEqual(Array.from(auto.get('w')!.data as Float32Array), [1, 1]);
  const picked = await readStateDict(fixturePath('pth-checkpoint.pth'), { entry: 'state_dict' });
  assert.deepEqual([...picked.keys()], ['w']);
  await assert.rejects(readStateDict(fixturePath('pth-checkpoint.pth'), { entry: 'model' }), /checkpoint has no dict entry 'model' \(keys: epoch, state_dict, lr\)/);
});

test('tensorToFloat32 decodes half, bfloat16, double and integer tensors', () => {
  const cases: [TorchTensor, number[]][] = [
    [{ dtype: 'float16', shape: [3], data: Uint16Array.from([0x3c00, 0xc000, 0x3555]) }, [1, -2, 0.333251953125]],
    [{ dtype: 'bfloat16', shape: [2], data: Uint16Array.from([0x3f80, 0xc049]) }, [1, -3.140625]],
    [{ dtype: 'float64', shape: [2], data: Float64Array.from([0.5, -1e-3]) }, [0.5, Math.fround(-1e-3)]],
    [{ dtype: 'int64', shape: [2], data: BigInt64Array.from([7n, -3n]) }, [7, -3]],
    [{ dtype: 'uint8', shape: [2], data: Uint8Array.from([0, 255]) }, [0, 255]],
  ];
  for (const [t, want] of cases) assert.deepEqual(Array.from(tensorToFloat32(t)), want, t.dtype);
});

const bytes = (s: string): Uint8Array<ArrayBuffer> => Uint8Array.from(s, (c) => c.charCodeAt(0));

test('pickle opcodes decode to the values Python would build', () => {
  const cases: [string, string, unknown][] = [
    ['BININT1', '\x80\x02K\x05.', 5],
    ['BININT (signed)', '\x80\x02J\xff\xff\xff\xff.', -1],
    ['BININT2', '\x80\x02M\x00\x01.', 256],
    ['LONG1 negative', '\x80\x02\x8a\x02\x00\x80.', -32768],
    ['LONG1 beyond 2^53', '\x80\x02\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x01.', 1n << 56n],
    ['BINFLOAT (big-endian)', '\x80\x02G?\xf8\x00\x00\x00\x00\x00\x00.', 1.5],
    ['BINUNICODE', '\x80\x02X\x02\x00\x00\x00hi.', 'hi'],
    ['SHORT_BINSTRING', '\x80\x02U\x03abc.', 'abc'],
    ['NEWTRUE NEWFALSE NONE TUPLE3', '\x80\x02\x88\x89N\x87.', [true, false, null]],
    ['MARK TUPLE', '\x80\x02(K\x01K\x02t.', [1, 2]],
    ['EMPTY_LIST APPENDS', '\x80\x02]q\x00(K\x01K\x02e.', [1, 2]],
    ['APPEND', '\x80\x02]K\x07a.', [7]],
    ['EMPTY_DICT SETITEMS', '\x80\x02}q\x00(X\x01\x00\x00\x00aK\x01X\x01\x00\x00\x00bK\x02u.', new Map([['a', 1], ['b', 2]])],
    ['SETITEM', '\x80\x02}X\x01\x00\x00\x00kNs.', new Map([['k', null]])],
    ['BINPUT BINGET', '\x80\x02K\x01K\x02\x86q\x00h\x00\x86.', [[1, 2], [1, 2]]],
    ['LONG_BINPUT LONG_BINGET', '\x80\x02K\x09r\x00\x01\x00\x00j\x00\x01\x00\x00\x86.', [9, 9]],
    ['TUPLE1 EMPTY_TUPLE', '\x80\x02)\x85.', [[]]],
    ['GLOBAL REDUCE OrderedDict', '\x80\x02ccollections\nOrderedDict\nq\x00)R.', new Map()],
  ];
  for (const [name, pickle, want] of cases) assert.deepEqual(unpickle(bytes(pickle)).value, want, name);
});

test('an unknown global is kept as data, never called', () => {
  const { value } = unpickle(bytes('\x80\x02cos\nsystem\nX\x02\x00\x00\x00ls\x85R}X\x01\x00\x00\x00aK\x01sb.'));
  assert.ok(value instanceof PyObject);
  assert.equal(value.callable, 'os.system');
  assert.deepEqual(value.args, ['ls']);
  assert.deepEqual(value.state, new Map([['a', 1]]));
  assert.ok(unpickle(bytes('\x80\x02cbuiltins\nprint\n.')).value instanceof PyGlobal);
});

test('an unsupported opcode is named with its byte position', () => {
  assert.throws(() => unpickle(bytes('\x80\x02K\x01\xff.'), { file: 'x.pth' }), /x\.pth: unsupported pickle opcode 0xff at byte 4/);
});

test('a truncated pickle is reported', () => {
  assert.throws(() => unpickle(bytes('\x80\x02X\x10\x00\x00\x00ab')), /truncated pickle \(needs 16 more bytes\) at byte 2/);
});

test('a persistent id without a storage loader is reported', () => {
  assert.throws(() => unpickle(bytes('\x80\x02K\x01Q.')), /persistent id \(BINPERSID\) without a storage loader/);
});

test('a file that is not a checkpoint is refused', () => {
  assert.throws(() => parseStateDict(bytes('\x89PNG\r\n'), { file: 'scan.png' }), /scan\.png: not a PyTorch checkpoint \(starts with 89 50 4e 47/);
  assert.throws(() => parseStateDict(new Uint8Array(0)), /not a PyTorch checkpoint \(starts with nothing/);
});

test('a legacy pickle without torch\'s magic number is refused', () => {
  assert.throws(() => parseStateDict(bytes('\x80\x02K\x05.')), /not a PyTorch checkpoint \(pickle without torch's magic number\)/);
});

test('a zip without data.pkl is refused', () => {
  const zip = zipSync({ 'weights/readme.txt': bytes('hello') }, { level: 0 });
  assert.throws(() => parseStateDict(zip, { file: 'w.zip' }), /w\.zip: not a PyTorch checkpoint \(zip without <name>\/data\.pkl\)/);
});

test('a legacy file cut short names the storage key', () => {
  const full = new Uint8Array(readFileSync(fixturePath('r231-tiny-legacy.pth')));
  assert.throws(() => parseStateDict(full.subarray(0, full.length - 10), { file: 'cut.pth' }), /cut\.pth: truncated storage for key \d+: needs \d+ bytes at byte \d+, the file has \d+/);
});

test('a zip storage shorter than its tensor names the key and the tensor', () => {
  const entries = unzipSync(new Uint8Array(readFileSync(fixturePath('pth-cases.pth'))));
  entries['pth-cases/data/0'] = entries['pth-cases/data/0']!.slice(0, 8);
  assert.throws(() => parseStateDict(zipSync(entries, { level: 0 })), /truncated storage for key 0: tensor 'conv\.weight' \[2, 1, 2, 3\] needs 48 bytes, the storage has 8/);
});

test('a pickle that is not a state_dict is refused', () => {
  const entries = unzipSync(new Uint8Array(readFileSync(fixturePath('pth-cases.pth'))));
  entries['pth-cases/data.pkl'] = bytes('\x80\x02K\x05.');
  assert.throws(() => parseStateDict(zipSync(entries, { level: 0 })), /no state_dict found \(the file holds number 5\)/);
});

test('a missing file is reported with its path', async () => {
  await assert.rejects(readStateDict('/nonexistent/unet.pth'), /\/nonexistent\/unet\.pth: cannot read the weights file/);
});
