import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GZIP_CHUNK_BYTES, gzipParallel } from '../../src/io/gzip.js';
import { readVolume, writeVolume } from '../../src/io/index.js';
import { Rng } from '../../src/util/random.js';
import { createVolume } from '../../src/volume/volume.js';

function noise(n: number, seed: number): Uint8Array {
  const rng = new Rng(seed);
  return Uint8Array.from({ length: n }, () => (rng.next() < 0.5 ? 0 : rng.int(256)));
}

test('parallel gzip is one standard member: gunzip gives back the concatenated parts', async () => {
  const cases: { name: string; parts: Uint8Array[] }[] = [
    { name: 'empty', parts: [] },
    { name: 'one small part', parts: [Uint8Array.from([1, 2, 3])] },
    { name: 'header + data across two chunks', parts: [noise(352, 1), noise(GZIP_CHUNK_BYTES + 1000, 2)] },
    { name: 'exactly one chunk', parts: [noise(GZIP_CHUNK_BYTES, 3)] },
  ];
  for (const c of cases) {
    const member = Buffer.concat(await gzipParallel(c.parts, 1));
    assert.deepEqual(member.subarray(0, 3), Buffer.from([0x1f, 0x8b, 8]), c.name);
    assert.deepEqual(new Uint8Array(gunzipSync(member)), new Uint8Array(Buffer.concat(c.parts)), c.name);
    // One member: the trailer's ISIZE is the total length.
    assert.equal(member.readUInt32LE(member.length - 4), c.parts.reduce((s, p) => s + p.length, 0), c.name);
  }
});

test('itk-wasm reads a multi-chunk .nii.gz and .nrrd written in parallel', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'covseg-gzip-'));
  const dims: [number, number, number] = [256, 256, 40]; // 5.2 MB of int16: two chunks
  const rng = new Rng(5);
  const vol = createVolume(Int16Array.from({ length: dims[0] * dims[1] * dims[2] }, () => Math.round(rng.normal() * 300)), dims, { spacingMm: [0.8, 0.8, 2] });
  const { readImageNode } = await import('@itk-wasm/image-io');
  for (const name of ['big.nii.gz', 'big.nrrd']) {
    await writeVolume(join(dir, name), vol);
    const itk = await readImageNode(join(dir, name));
    assert.deepEqual(itk.size, dims, name);
    assert.ok((itk.data as Int16Array).every((v, i) => v === vol.data[i]), `${name}: itk-wasm voxels`);
    assert.ok((await readVolume(join(dir, name))).data.every((v, i) => v === vol.data[i]), `${name}: covseg voxels`);
  }
});
