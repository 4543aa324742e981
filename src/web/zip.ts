/**
 * Safe extraction of an uploaded zip (a DICOM series, usually). An upload is untrusted,
 * so before a byte is written the central directory is checked: no absolute names, no
 * '..', no names a file system refuses (a part over 255 bytes, a path over 1024 bytes or
 * 32 folders deep), no file where another entry needs a folder, no symlinks or device
 * entries, no encryption, no ZIP64, at most `maxEntries`
 * entries and at most `maxUncompressedBytes` declared in total. Entries are then inflated
 * (node:zlib) as a stream while counting, so an entry that inflates to more than its
 * header declares (a lying zip bomb) is stopped within one output chunk, and memory stays
 * bounded. Why not yauzl: measured in README.md (it misses 7 of the 34 hostile archives).
 */
import { createWriteStream } from 'node:fs';
import { open, mkdir, rm, type FileHandle } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createInflateRaw } from 'node:zlib';
import { join, resolve, sep } from 'node:path';
import { CovsegError } from '../util/errors.js';

export interface ExtractZipOptions {
  /** Most entries (files and folders) the archive may hold. Defaults to 10,000 (a long CT series has ~2,000 slices). */
  maxEntries?: number;
  /** Most bytes all entries may inflate to, together. Defaults to 2 GiB. */
  maxUncompressedBytes?: number;
  /**
   * Called with the bytes the entries declare, once the central directory is checked and
   * before anything is written; throwing refuses the archive. The inflated bytes never pass
   * the declared ones: an entry inflating past its header's size is stopped.
   */
  beforeWrite?: (declaredBytes: number) => void;
}

export interface ExtractZipResult {
  /** Extracted regular files, relative to the destination folder, '/'-separated, in archive order. */
  files: string[];
  /** Bytes written. */
  uncompressedBytes: number;
}

/** Why an archive was refused; `reason` is a stable code for the HTTP layer. */
export class UnsafeZipError extends CovsegError {
  constructor(
    readonly reason: 'not-zip' | 'corrupt' | 'unsupported' | 'unsafe-path' | 'symlink' | 'too-many-entries' | 'too-large',
    message: string,
    file: string,
  ) {
    super(message, { file });
    this.name = 'UnsafeZipError';
  }
}

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_MIN = 22;
const MAX_COMMENT = 0xffff;
/** Compressed bytes read at a time. */
const PUSH_BYTES = 16 * 1024;
const HOST_UNIX = 3;
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
/** Longest file or folder name (bytes): NAME_MAX of Linux and macOS, and Windows' limit. */
const MAX_NAME_PART_BYTES = 255;
/** Longest entry path (bytes): far below PATH_MAX (4096), which the job folder's path adds to. */
const MAX_PATH_BYTES = 1024;
/** Deepest folder nesting: a DICOM export nests patient/study/series, a handful of levels. */
const MAX_DEPTH = 32;

/** `PK\x03\x04` (an archive with entries) or `PK\x05\x06` (an empty one). */
export function isZip(bytes: Uint8Array): boolean {
  if (bytes.length < 4 || bytes[0] !== 0x50 || bytes[1] !== 0x4b) return false;
  return (bytes[2] === 0x03 && bytes[3] === 0x04) || (bytes[2] === 0x05 && bytes[3] === 0x06);
}

interface Entry {
  name: string;
  /** Path segments after validation; empty for the archive root. */
  segments: string[];
  directory: boolean;
  method: number;
  crc: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

/**
 * The validated path segments of an entry name, or an UnsafeZipError. Backslashes count
 * as separators (Windows zippers write them), so `..\\x` is caught as well as `../x`.
 */
export function entrySegments(name: string, file = 'zip'): string[] {
  const unsafe = (why: string) => new UnsafeZipError('unsafe-path', `entry '${shown(name)}' ${why}; re-create the zip from inside the series folder`, file);
  if (name.includes('\0')) throw unsafe('contains a NUL byte');
  const normalised = name.replace(/\\/g, '/');
  if (normalised.startsWith('/')) throw unsafe('is an absolute path');
  if (/^[A-Za-z]:/.test(normalised)) throw unsafe('starts with a drive letter');
  const segments = normalised.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) throw unsafe("climbs out of the archive with '..'");
  // What the file system would refuse with ENAMETOOLONG (a server error) is refused here, as the bad upload it is.
  const longest = Math.max(0, ...segments.map((s) => Buffer.byteLength(s)));
  if (longest > MAX_NAME_PART_BYTES) throw unsafe(`has a name part of ${longest} bytes, more than the ${MAX_NAME_PART_BYTES} a file system allows`);
  const bytes = Buffer.byteLength(segments.join('/'));
  if (bytes > MAX_PATH_BYTES) throw unsafe(`is ${bytes} bytes long, more than the ${MAX_PATH_BYTES} allowed`);
  if (segments.length - 1 > MAX_DEPTH) throw unsafe(`is nested ${segments.length - 1} folders deep, more than the ${MAX_DEPTH} allowed`);
  return segments;
}

/** An entry name for a message: long ones cut to 57 characters and '…'. */
function shown(name: string): string {
  return name.length > 60 ? `${name.slice(0, 57)}…` : name;
}

/**
 * Refuses an archive where one entry is a file and others lie inside a folder of the same
 * name ('a' and 'a/b.dcm'): the second could not be written (ENOTDIR, EEXIST).
 */
function checkFilesAndFolders(entries: Entry[], file: string): void {
  const folders = new Set<string>();
  for (const entry of entries) {
    const parents = entry.directory ? entry.segments.length : entry.segments.length - 1;
    for (let i = 1; i <= parents; i++) folders.add(entry.segments.slice(0, i).join('/'));
  }
  const clash = entries.find((e) => !e.directory && folders.has(e.segments.join('/')));
  if (clash) {
    throw new UnsafeZipError('unsafe-path', `entry '${shown(clash.name)}' is a file, and other entries are inside a folder of that name; re-create the zip from inside the series folder`, file);
  }
}

function readCentralDirectory(buf: Buffer, count: number, file: string, maxBytes: number): Entry[] {
  const corrupt = (what: string) => new UnsafeZipError('corrupt', `${what}; the zip is damaged, re-create it`, file);
  const entries: Entry[] = [];
  const seen = new Set<string>();
  let declared = 0;
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== CENTRAL_SIGNATURE) throw corrupt(`central directory entry ${i + 1} of ${count} is missing`);
    const madeBy = buf.readUInt16LE(p + 4);
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    const compressedSize = buf.readUInt32LE(p + 20);
    const uncompressedSize = buf.readUInt32LE(p + 24);
    const nameLength = buf.readUInt16LE(p + 28);
    const extraLength = buf.readUInt16LE(p + 30);
    const commentLength = buf.readUInt16LE(p + 32);
    const externalAttributes = buf.readUInt32LE(p + 38);
    const localHeaderOffset = buf.readUInt32LE(p + 42);
    if (p + 46 + nameLength > buf.length) throw corrupt(`central directory entry ${i + 1} runs past the end`);
    // Bit 11: the name is UTF-8; otherwise CP437, whose ASCII part (all that the checks need) latin1 reads the same.
    const name = buf.toString(flags & 0x800 ? 'utf8' : 'latin1', p + 46, p + 46 + nameLength);
    p += 46 + nameLength + extraLength + commentLength;

    const segments = entrySegments(name, file);
    const mode = externalAttributes >>> 16;
    const type = mode & S_IFMT;
    if (madeBy >> 8 === HOST_UNIX && type !== 0 && type !== S_IFREG && type !== S_IFDIR) {
      const what = type === 0o120000 ? 'a symbolic link' : 'not a regular file';
      throw new UnsafeZipError('symlink', `entry '${shown(name)}' is ${what}; zip the files themselves (zip without -y)`, file);
    }
    const directory = name.endsWith('/') || name.endsWith('\\') || type === S_IFDIR;
    if (flags & 0x1) throw new UnsafeZipError('unsupported', `entry '${shown(name)}' is encrypted; upload an archive without a password`, file);
    if (compressedSize === 0xffffffff || uncompressedSize === 0xffffffff || localHeaderOffset === 0xffffffff) {
      throw new UnsafeZipError('unsupported', `entry '${shown(name)}' needs ZIP64 (over 4 GiB); upload the series in smaller archives`, file);
    }
    if (!directory && method !== 0 && method !== 8) {
      throw new UnsafeZipError('unsupported', `entry '${shown(name)}' uses compression method ${method}; re-create the zip with deflate (the default of zip tools)`, file);
    }
    if (!directory) {
      if (segments.length === 0) throw new UnsafeZipError('unsafe-path', `an entry has an empty name; re-create the zip`, file);
      const key = segments.join('/');
      if (seen.has(key)) throw new UnsafeZipError('unsafe-path', `entry '${shown(name)}' appears twice; re-create the zip`, file);
      seen.add(key);
      declared += uncompressedSize;
      if (declared > maxBytes) {
        throw new UnsafeZipError('too-large', `the entries inflate to more than ${maxBytes} bytes, the limit for one job (covseg serve --max-unzipped-mb); upload fewer slices at a time`, file);
      }
    }
    entries.push({ name, segments, directory, method, crc, compressedSize, uncompressedSize, localHeaderOffset });
  }
  checkFilesAndFolders(entries, file);
  return entries;
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await fh.read(buf, 0, length, position);
  return buf.subarray(0, bytesRead);
}

/**
 * Extracts `zipPath` into the folder `destDir` (created), refusing unsafe archives with
 * an {@link UnsafeZipError} before anything is written where possible, and removing what
 * was written when a check fails during inflation.
 */
export async function extractZip(zipPath: string, destDir: string, options: ExtractZipOptions = {}): Promise<ExtractZipResult> {
  const maxEntries = options.maxEntries ?? 10_000;
  const maxBytes = options.maxUncompressedBytes ?? 2 * 1024 ** 3;
  const root = resolve(destDir);
  const fh = await open(zipPath, 'r');
  try {
    const size = (await fh.stat()).size;
    const tailLength = Math.min(size, EOCD_MIN + MAX_COMMENT);
    const tail = await readAt(fh, size - tailLength, tailLength);
    let eocd = -1;
    for (let p = tail.length - EOCD_MIN; p >= 0; p--) {
      if (tail.readUInt32LE(p) === EOCD_SIGNATURE) { eocd = p; break; }
    }
    if (eocd < 0) throw new UnsafeZipError('not-zip', 'no zip end-of-central-directory record (truncated upload or not a zip)', zipPath);
    const diskNumber = tail.readUInt16LE(eocd + 4);
    const entriesTotal = tail.readUInt16LE(eocd + 10);
    const centralSize = tail.readUInt32LE(eocd + 12);
    const centralOffset = tail.readUInt32LE(eocd + 16);
    if (diskNumber !== 0) throw new UnsafeZipError('unsupported', 'a multi-part (split) zip; upload a single-file archive', zipPath);
    if (entriesTotal === 0xffff || centralOffset === 0xffffffff) {
      throw new UnsafeZipError('unsupported', 'a ZIP64 archive; upload the series in smaller archives', zipPath);
    }
    if (entriesTotal > maxEntries) {
      throw new UnsafeZipError('too-many-entries', `${entriesTotal} entries, more than the server's limit of ${maxEntries}; upload fewer files at a time`, zipPath);
    }
    if (centralOffset + centralSize > size) throw new UnsafeZipError('corrupt', 'the central directory lies past the end of the file; the upload is truncated', zipPath);
    const central = await readAt(fh, centralOffset, centralSize);
    const entries = readCentralDirectory(central, entriesTotal, zipPath, maxBytes);
    options.beforeWrite?.(entries.reduce((sum, e) => sum + (e.directory ? 0 : e.uncompressedSize), 0));

    await mkdir(root, { recursive: true });
    const files: string[] = [];
    let written = 0;
    try {
      for (const entry of entries) {
        const target = resolve(root, ...entry.segments);
        // Belt and braces over entrySegments: the resolved path must stay inside the folder.
        if (target !== root && !target.startsWith(root + sep)) {
          throw new UnsafeZipError('unsafe-path', `entry '${shown(entry.name)}' resolves outside the extraction folder`, zipPath);
        }
        if (entry.directory) {
          await mkdir(target, { recursive: true });
          continue;
        }
        await mkdir(join(target, '..'), { recursive: true });
        written += await extractEntry(fh, entry, target, zipPath);
        files.push(entry.segments.join('/'));
      }
    } catch (err) {
      await rm(root, { recursive: true, force: true });
      throw err;
    }
    return { files, uncompressedBytes: written };
  } finally {
    await fh.close();
  }
}

/**
 * Inflates one entry to `target`; returns the bytes written. Stopping at the declared
 * size also keeps the total within the limit, since the declared sizes were summed.
 * node:zlib inflates (native, off the event loop; fflate's JavaScript inflate took 1.5×
 * the CPU on an uncompressed DICOM series, see README.md) as a stream whose 16 KiB output
 * chunks are counted as they come, so a lying zip bomb is stopped within one chunk and
 * memory stays bounded.
 */
async function extractEntry(fh: FileHandle, entry: Entry, target: string, zipPath: string): Promise<number> {
  const local = await readAt(fh, entry.localHeaderOffset, 30);
  if (local.length < 30 || local.readUInt32LE(0) !== LOCAL_SIGNATURE) {
    throw new UnsafeZipError('corrupt', `entry '${shown(entry.name)}' has no local header where the directory points`, zipPath);
  }
  const start = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  const end = start + entry.compressedSize;
  async function* compressed() {
    for (let position = start; position < end;) {
      const chunk = await readAt(fh, position, Math.min(PUSH_BYTES, end - position));
      if (chunk.length === 0) throw new UnsafeZipError('corrupt', `entry '${shown(entry.name)}' is cut off; the upload is truncated`, zipPath);
      position += chunk.length;
      yield chunk;
    }
  }
  let produced = 0;
  let crc = 0;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      produced += chunk.length;
      if (produced > entry.uncompressedSize) {
        return done(new UnsafeZipError('too-large', `entry '${shown(entry.name)}' inflates to more than the ${entry.uncompressedSize} bytes its header declares (a zip bomb or a damaged zip)`, zipPath));
      }
      crc = crc32(chunk, crc);
      done(null, chunk);
    },
  });
  try {
    const out = createWriteStream(target, { flags: 'wx' });
    if (entry.method === 8) await pipeline(compressed, createInflateRaw(), count, out);
    else await pipeline(compressed, count, out);
  } catch (err) {
    // zlib's errors carry its Z_ codes (Z_DATA_ERROR, Z_BUF_ERROR for a stream that stops early).
    if (!String((err as { code?: unknown }).code).startsWith('Z_')) throw err;
    throw new UnsafeZipError('corrupt', `entry '${shown(entry.name)}' does not inflate (${(err as Error).message}); the zip is damaged`, zipPath);
  }
  if (produced !== entry.uncompressedSize) {
    throw new UnsafeZipError('corrupt', `entry '${shown(entry.name)}' inflates to ${produced} bytes, not the ${entry.uncompressedSize} its header declares; the zip is damaged`, zipPath);
  }
  if ((crc >>> 0) !== entry.crc) throw new UnsafeZipError('corrupt', `entry '${shown(entry.name)}' fails its CRC-32 check; the zip is damaged`, zipPath);
  return produced;
}
