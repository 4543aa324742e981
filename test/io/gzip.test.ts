import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
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

test('label maps (labels: true) are run-length deflated: one standard member that gunzip, itk-wasm and covseg read back, smaller than the default strategy', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'covseg-gzip-labels-'));
  // Two "lungs" as boxes of labels 1 and 2 with a speckled lesion-like label 3 inside: 5.2 MB, two chunks.
  const dims: [number, number, number] = [256, 256, 80];
  const rng = new Rng(9);
  const data = new Uint8Array(dims[0] * dims[1] * dims[2]);
  for (let z = 10; z < 70; z++) for (let y = 60; y < 200; y++) for (let x = 20; x < 236; x++) {
    data[x + dims[0] * (y + dims[1] * z)] = x < 128 ? 1 : 2;
    if (rng.next() < 0.05) data[x + dims[0] * (y + dims[1] * z)] = 3;
  }
  const vol = createVolume(data, dims, { spacingMm: [0.8, 0.8, 2] });
  const { readImageNode } = await import('@itk-wasm/image-io');
  const { statSync } = await import('node:fs');
  for (const name of ['labels.nii.gz', 'labels.nrrd', 'labels.seg.nrrd']) {
    const rle = join(dir, name);
    await writeVolume(rle, vol, { labels: true });
    assert.ok((await readVolume(rle)).data.every((v, i) => v === data[i]), `${name}: covseg voxels`);
    const itk = await readImageNode(rle);
    assert.ok((itk.data as Uint8Array).every((v, i) => v === data[i]), `${name}: itk-wasm voxels`);
    if (name === 'labels.nii.gz') {
      assert.deepEqual(new Uint8Array(gunzipSync(readFileSync(rle))).subarray(352), data, 'gunzip: the header, then the voxels');
      const plain = join(dir, `plain-${name}`);
      await writeVolume(plain, vol);
      assert.ok(statSync(rle).size < statSync(plain).size, `run-length ${statSync(rle).size} B < default ${statSync(plain).size} B`);
    }
  }
});
