/**
 * Safe zip extraction: archives built with fflate, then patched byte by byte to make
 * each kind of hostile or damaged archive; every refusal is checked to write nothing
 * outside the destination folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync, type Zippable } from 'fflate';
import { entrySegments, extractZip, isZip, UnsafeZipError } from '../../src/web/zip.js';

const enc = (s: string) => new TextEncoder().encode(s);

/** Offsets of the end record and of the n-th central directory entry of a comment-less zip. */
function layout(zip: Uint8Array): { eocd: number; central: number[] } {
  const view = Buffer.from(zip.buffer, zip.byteOffset, zip.byteLength);
  const eocd = zip.length - 22;
  assert.equal(view.readUInt32LE(eocd), 0x06054b50);
  const count = view.readUInt16LE(eocd + 10);
  let p = view.readUInt32LE(eocd + 16);
  const central: number[] = [];
  for (let i = 0; i < count; i++) {
    central.push(p);
    p += 46 + view.readUInt16LE(p + 28) + view.readUInt16LE(p + 30) + view.readUInt16LE(p + 32);
  }
  return { eocd, central };
}

/** A copy of `zip` with `patch` applied to a Buffer view of it. */
function patched(zip: Uint8Array, patch: (b: Buffer, l: ReturnType<typeof layout>) => void): Uint8Array {
  const copy = Buffer.from(zip);
  patch(copy, layout(copy));
  return copy;
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'covseg-zip-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('isZip: local-header and empty-archive signatures only', () => {
  const cases: [number[], boolean][] = [
    [[0x50, 0x4b, 0x03, 0x04], true],
    [[0x50, 0x4b, 0x05, 0x06], true],
    [[0x50, 0x4b, 0x07, 0x08], false],
    [[0x1f, 0x8b, 0x08, 0x00], false],
    [[0x50, 0x4b], false],
  ];
  for (const [bytes, expected] of cases) assert.equal(isZip(new Uint8Array(bytes)), expected, bytes.join(','));
});

test('entrySegments: safe names become segments; unsafe ones are refused', () => {
  const safe: [string, string[]][] = [
    ['series/0001.dcm', ['series', '0001.dcm']],
    ['./a/./b.dcm', ['a', 'b.dcm']],
    ['a//b', ['a', 'b']],
    ['win\\dir\\c.dcm', ['win', 'dir', 'c.dcm']],
    ['..hidden/x..y', ['..hidden', 'x..y']],
  ];
  for (const [name, expected] of safe) assert.deepEqual(entrySegments(name), expected, name);
  const unsafe: [string, RegExp][] = [
    ['../evil.txt', /climbs out of the archive/],
    ['a/../../evil.txt', /climbs out of the archive/],
    ['..\\evil.txt', /climbs out of the archive/],
    ['/etc/evil', /is an absolute path/],
    ['\\\\server\\share\\evil', /is an absolute path/],
    ['C:/evil.txt', /starts with a drive letter/],
    ['a\0b', /contains a NUL byte/],
  ];
  for (const [name, message] of unsafe) {
    assert.throws(() => entrySegments(name, 'up.zip'), (err: unknown) => err instanceof UnsafeZipError && err.reason === 'unsafe-path' && message.test(err.message) && err.message.startsWith('up.zip: '), name);
  }
});

test('extractZip: nested folders, stored and deflated entries, bytes and CRCs intact', async () => {
  await withDir(async (dir) => {
    const big = new Uint8Array(200_000).map((_, i) => (i * 7) % 251);
    const files: Zippable = {
      'series/': {},
      'series/0001.dcm': [enc('first slice'), { level: 0 }],
      'series/sub/0002.dcm': [big, { level: 6 }],
      'empty.txt': new Uint8Array(0),
    };
    await writeFile(join(dir, 'in.zip'), zipSync(files));
    const result = await extractZip(join(dir, 'in.zip'), join(dir, 'out'));
    assert.deepEqual(result.files, ['series/0001.dcm', 'series/sub/0002.dcm', 'empty.txt']);
    assert.equal(result.uncompressedBytes, 11 + 200_000);
    assert.equal(await readFile(join(dir, 'out/series/0001.dcm'), 'utf8'), 'first slice');
    assert.deepEqual(new Uint8Array(await readFile(join(dir, 'out/series/sub/0002.dcm'))), big);
    assert.equal((await readFile(join(dir, 'out/empty.txt'))).length, 0);
  });
});

test('extractZip: beforeWrite gets the declared total before anything is written; throwing refuses the archive', async () => {
  await withDir(async (dir) => {
    await writeFile(join(dir, 'in.zip'), zipSync({ 'a/': {}, 'a/1.dcm': [new Uint8Array(70_000), { level: 9 }], 'b.dcm': enc('12345') }));
    const seen: number[] = [];
    const refused = extractZip(join(dir, 'in.zip'), join(dir, 'out'), { beforeWrite: (bytes) => { seen.push(bytes); throw new Error('no room'); } });
    await assert.rejects(refused, /^Error: no room$/);
    assert.deepEqual(seen, [70_005]);
    assert.equal(existsSync(join(dir, 'out')), false, 'nothing was written');
  });
});

/** An archive that must be refused, the reason and message expected, and the limits to use. */
interface RefusalCase {
  what: string;
  zip: () => Uint8Array;
  reason: UnsafeZipError['reason'];
  message: RegExp;
  limits?: { maxEntries?: number; maxUncompressedBytes?: number };
}

const plain = () => zipSync({ 'a.dcm': enc('slice a'), 'b.dcm': enc('slice b') });
const deflated = () => zipSync({ 'a.dcm': [new Uint8Array(5000).fill(7), { level: 9 }] });
const stored = () => zipSync({ 'a.dcm': [enc('stored bytes'), { level: 0 }] });

const REFUSALS: RefusalCase[] = [
  { what: "zip-slip with '..'", zip: () => zipSync({ '../evil.txt': enc('x') }), reason: 'unsafe-path', message: /'\.\.\/evil\.txt' climbs out of the archive/ },
  { what: 'zip-slip with an absolute path', zip: () => zipSync({ '/tmp/evil.txt': enc('x') }), reason: 'unsafe-path', message: /is an absolute path/ },
  { what: 'zip-slip after a safe entry', zip: () => zipSync({ 'ok.dcm': enc('x'), 'a/../../evil.txt': enc('x') }), reason: 'unsafe-path', message: /climbs out/ },
  { what: 'symbolic link', zip: () => zipSync({ 'link': [enc('/etc/passwd'), { os: 3, attrs: 0o120777 << 16 }] }), reason: 'symlink', message: /'link' is a symbolic link/ },
  { what: 'character device', zip: () => zipSync({ 'dev': [enc(''), { os: 3, attrs: 0o020644 << 16 }] }), reason: 'symlink', message: /'dev' is not a regular file/ },
  { what: 'duplicate names', zip: () => zipSync({ 'a/x.dcm': enc('1'), 'a/./x.dcm': enc('2') }), reason: 'unsafe-path', message: /appears twice/ },
  { what: 'an entry named "."', zip: () => zipSync({ '.': enc('x') }), reason: 'unsafe-path', message: /an entry has an empty name/ },
  { what: 'a name part over 255 bytes', zip: () => zipSync({ [`series/${'x'.repeat(300)}.dcm`]: enc('x') }), reason: 'unsafe-path', message: /^\S+: entry 'series\/x{50}…' has a name part of 304 bytes, more than the 255 a file system allows/ },
  { what: 'a name part over 255 bytes in UTF-8', zip: () => zipSync({ [`${'é'.repeat(130)}.dcm`]: enc('x') }), reason: 'unsafe-path', message: /has a name part of 264 bytes, more than the 255/ },
  { what: 'a path over 1024 bytes', zip: () => zipSync({ [Array.from({ length: 6 }, () => 'd'.repeat(200)).join('/') + '/x.dcm']: enc('x') }), reason: 'unsafe-path', message: /' is 1211 bytes long, more than the 1024 allowed/ },
  { what: 'folders nested over 32 deep', zip: () => zipSync({ [Array.from({ length: 40 }, () => 'd').join('/') + '/x.dcm']: enc('x') }), reason: 'unsafe-path', message: /' is nested 40 folders deep, more than the 32 allowed/ },
  { what: "a file 'a' beside 'a/b.dcm'", zip: () => zipSync({ 'a': enc('file'), 'a/b.dcm': enc('x') }), reason: 'unsafe-path', message: /entry 'a' is a file, and other entries are inside a folder of that name/ },
  { what: "'a/b.dcm' before a file 'a'", zip: () => zipSync({ 's/a/b.dcm': enc('x'), 's/a': enc('file') }), reason: 'unsafe-path', message: /entry 's\/a' is a file, and other entries are inside a folder of that name/ },
  { what: "a folder entry 'a/' and a file 'a'", zip: () => zipSync({ 'a/': {}, 'a': enc('file') }), reason: 'unsafe-path', message: /entry 'a' is a file, and other entries are inside a folder of that name/ },
  { what: 'too many entries (end record)', zip: () => zipSync(Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`s${i}.dcm`, enc('x')]))), reason: 'too-many-entries', message: /12 entries, more than the server's limit of 10/, limits: { maxEntries: 10 } },
  { what: 'zip bomb by declared size', zip: () => zipSync({ 'zeros.dcm': [new Uint8Array(3_000_000), { level: 9 }] }), reason: 'too-large', message: /inflate to more than 1000000 bytes/, limits: { maxUncompressedBytes: 1_000_000 } },
  {
    what: 'zip bomb that lies about its size',
    zip: () => patched(zipSync({ 'zeros.dcm': [new Uint8Array(3_000_000), { level: 9 }] }), (b, l) => b.writeUInt32LE(1000, l.central[0]! + 24)),
    reason: 'too-large', message: /inflates to more than the 1000 bytes its header declares/,
  },
  {
    what: 'entries each under the limit, together over it',
    zip: () => zipSync({ 'a.dcm': [new Uint8Array(600_000), { level: 9 }], 'b.dcm': [new Uint8Array(600_000), { level: 9 }] }),
    reason: 'too-large', message: /inflate to more than 1000000 bytes/, limits: { maxUncompressedBytes: 1_000_000 },
  },
  { what: 'truncated upload', zip: () => plain().subarray(0, 60), reason: 'not-zip', message: /no zip end-of-central-directory record/ },
  { what: 'not a zip at all', zip: () => enc('PK\x03\x04 but then plain text, no directory'), reason: 'not-zip', message: /no zip end-of-central-directory record/ },
  { what: 'encrypted entry', zip: () => patched(plain(), (b, l) => b.writeUInt16LE(b.readUInt16LE(l.central[0]! + 8) | 1, l.central[0]! + 8)), reason: 'unsupported', message: /'a\.dcm' is encrypted/ },
  { what: 'unknown compression', zip: () => patched(plain(), (b, l) => b.writeUInt16LE(12, l.central[0]! + 10)), reason: 'unsupported', message: /compression method 12/ },
  { what: 'ZIP64 entry', zip: () => patched(plain(), (b, l) => b.writeUInt32LE(0xffffffff, l.central[1]! + 20)), reason: 'unsupported', message: /'b\.dcm' needs ZIP64/ },
  { what: 'ZIP64 end record', zip: () => patched(plain(), (b, l) => b.writeUInt16LE(0xffff, l.eocd + 10)), reason: 'unsupported', message: /a ZIP64 archive/ },
  { what: 'split archive', zip: () => patched(plain(), (b, l) => b.writeUInt16LE(1, l.eocd + 4)), reason: 'unsupported', message: /multi-part \(split\) zip/ },
  { what: 'directory past the end', zip: () => patched(plain(), (b, l) => b.writeUInt32LE(b.length, l.eocd + 16)), reason: 'corrupt', message: /central directory lies past the end/ },
  { what: 'fewer directory entries than counted', zip: () => patched(plain(), (b, l) => { b.writeUInt16LE(3, l.eocd + 8); b.writeUInt16LE(3, l.eocd + 10); }), reason: 'corrupt', message: /central directory entry 3 of 3 is missing/ },
  { what: 'entry name past the directory', zip: () => patched(plain(), (b, l) => b.writeUInt16LE(5000, l.central[1]! + 28)), reason: 'corrupt', message: /central directory entry 2 runs past the end/ },
  { what: 'directory points at no local header', zip: () => patched(plain(), (b, l) => b.writeUInt32LE(3, l.central[1]! + 42)), reason: 'corrupt', message: /'b\.dcm' has no local header/ },
  { what: 'damaged deflate data', zip: () => patched(deflated(), (b) => b.fill(0xff, 30 + 5, 30 + 5 + 8)), reason: 'corrupt', message: /'a\.dcm' does not inflate/ },
  { what: 'CRC mismatch', zip: () => patched(plain(), (b, l) => b.writeUInt32LE(b.readUInt32LE(l.central[0]! + 16) ^ 1, l.central[0]! + 16)), reason: 'corrupt', message: /'a\.dcm' fails its CRC-32 check/ },
  { what: 'shorter than declared', zip: () => patched(plain(), (b, l) => b.writeUInt32LE(99, l.central[0]! + 24)), reason: 'corrupt', message: /'a\.dcm' inflates to 7 bytes, not the 99/ },
  {
    what: 'entry data cut off',
    zip: () => patched(stored(), (b, l) => { b.writeUInt32LE(10_000, l.central[0]! + 20); b.writeUInt32LE(10_000, l.central[0]! + 24); }),
    reason: 'corrupt', message: /'a\.dcm' is cut off/,
  },
];

for (const c of REFUSALS) {
  test(`extractZip refuses: ${c.what}`, async () => {
    await withDir(async (dir) => {
      const zipPath = join(dir, 'up.zip');
      await writeFile(zipPath, c.zip());
      const dest = join(dir, 'jobs', 'job1', 'input');
      await assert.rejects(extractZip(zipPath, dest, c.limits), (err: unknown) => {
        assert.ok(err instanceof UnsafeZipError, String(err));
        assert.equal(err.reason, c.reason, err.message);
        assert.match(err.message, c.message);
        assert.ok(err.message.startsWith(`${zipPath}: `), err.message);
        return true;
      });
      // Nothing may be left in or beside the destination.
      assert.equal(existsSync(dest), false, 'the destination was removed');
      assert.deepEqual((await readdir(dir)).sort(), existsSync(join(dir, 'jobs')) ? ['jobs', 'up.zip'] : ['up.zip']);
      if (existsSync(join(dir, 'jobs'))) assert.deepEqual(await readdir(join(dir, 'jobs')), ['job1']);
      if (existsSync(join(dir, 'jobs/job1'))) assert.deepEqual(await readdir(join(dir, 'jobs/job1')), []);
    });
  });
}
