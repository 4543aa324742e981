/**
 * gzip on all cores, pigz-style: the data is cut into chunks that are deflated in parallel
 * on libuv's thread pool, each ended with a sync flush (byte-aligned, not final) and the last
 * one finished, so their concatenation is one ordinary deflate stream. With the combined
 * CRC-32 and length this is a single standard gzip member that zlib, ITK, nibabel and
 * 3D Slicer read as usual. A 512×512×300 CT is written about twice as fast on 2 cores.
 */
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import { constants as zlibConstants, crc32, deflateRaw } from 'node:zlib';

const deflateRawAsync = promisify(deflateRaw);

/** Chunk size: large enough that restarting the 32 KB window costs nothing measurable. */
export const GZIP_CHUNK_BYTES = 4 * 1024 * 1024;

/** gzip header: magic, deflate, no flags, no mtime (reproducible files), unknown OS. */
const HEADER = Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);

/**
 * gzips the concatenation of `parts` (one gzip member), compressing chunks on up to
 * `availableParallelism()` threads, with zlib's `strategy` (default: Z_DEFAULT_STRATEGY).
 * Returns the pieces of the member, in order.
 */
export async function gzipParallel(parts: Uint8Array[], level: number, strategy: number = zlibConstants.Z_DEFAULT_STRATEGY): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (const part of parts) {
    length += part.length;
    for (let o = 0; o < part.length; o += GZIP_CHUNK_BYTES) chunks.push(part.subarray(o, Math.min(part.length, o + GZIP_CHUNK_BYTES)));
  }
  if (chunks.length === 0) chunks.push(new Uint8Array(0));
  const out = new Array<Uint8Array>(chunks.length);
  let next = 0;
  const worker = async () => {
    while (next < chunks.length) {
      const i = next++;
      const last = i === chunks.length - 1;
      out[i] = await deflateRawAsync(chunks[i]!, { level, strategy, finishFlush: last ? zlibConstants.Z_FINISH : zlibConstants.Z_SYNC_FLUSH });
    }
  };
  const deflated = Promise.all(Array.from({ length: Math.min(availableParallelism(), chunks.length) }, worker));
  // The CRC on this thread while the pool deflates (0.02 s for 78 MB).
  let crc = 0;
  for (const part of parts) crc = crc32(part, crc);
  await deflated;
  const trailer = new Uint8Array(8);
  const view = new DataView(trailer.buffer);
  view.setUint32(0, crc >>> 0, true);
  // ISIZE is the length modulo 2^32 (RFC 1952).
  view.setUint32(4, length % 0x100000000, true);
  return [HEADER, ...out, trailer];
}
