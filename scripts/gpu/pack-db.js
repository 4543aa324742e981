#!/usr/bin/env node
// Packs the 2D part of a covseg database small enough to travel to the GPU machine (the
// device tool carries at most 64 MiB in all, Node included): CT slices as JPEG (quality 80, ~16 KB each;
// ~28 MB for the 1,754 slices) and masks as PNG, both at the lesion model's 256² input, manifest and splits as
// they are. `node scripts/gpu/pack-db.js unpack DIR` turns it back into a database the
// trainer reads (PNG; the trainer resizes to its input whatever the stored size).
//   node scripts/gpu/pack-db.js pack DB OUT_DIR [--sources a,b]
//   node scripts/gpu/pack-db.js unpack DIR
import { mkdir, readFile, readdir, writeFile, copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { decodePng, encodePng, rasterToGrey } from '../../dist/src/io/raster.js';
import { resizeSlice } from '../../dist/src/volume/index.js';

const SIDE = 256;
const [mode, a, b] = process.argv.slice(2);

async function pack(db, out) {
  await rm(out, { recursive: true, force: true });
  for (const d of ['images', 'lesions', 'lungs']) await mkdir(join(out, '2d', d), { recursive: true });
  await copyFile(join(db, 'manifest.json'), join(out, 'manifest.json'));
  await copyFile(join(db, 'splits.json'), join(out, 'splits.json'));
  for (const d of ['images', 'lesions', 'lungs']) {
    for (const name of await readdir(join(db, '2d', d))) {
      const img = decodePng(new Uint8Array(await readFile(join(db, '2d', d, name))));
      const grey = rasterToGrey(img);
      const isMask = d !== 'images';
      const small = resizeSlice(grey, img.width, img.height, SIDE, SIDE, { interpolation: isMask ? 'nearest' : 'bilinear' });
      const bytes = Uint8Array.from(small, (v) => Math.max(0, Math.min(255, Math.round(v))));
      if (isMask) await writeFile(join(out, '2d', d, name), encodePng({ width: SIDE, height: SIDE, channels: 1, data: bytes }));
      else {
        const rgba = new Uint8Array(SIDE * SIDE * 4);
        for (let i = 0; i < bytes.length; i++) rgba.fill(bytes[i], 4 * i, 4 * i + 3), (rgba[4 * i + 3] = 255);
        await writeFile(join(out, '2d', d, name.replace(/\.png$/, '.jpg')), jpeg.encode({ width: SIDE, height: SIDE, data: rgba }, 80).data);
      }
    }
  }
}

async function unpack(dir) {
  const images = join(dir, '2d', 'images');
  for (const name of await readdir(images)) {
    if (!name.endsWith('.jpg')) continue;
    const img = jpeg.decode(await readFile(join(images, name)), { useTArray: true });
    const grey = new Uint8Array(img.width * img.height);
    for (let i = 0; i < grey.length; i++) grey[i] = img.data[4 * i];
    await writeFile(join(images, name.replace(/\.jpg$/, '.png')), encodePng({ width: img.width, height: img.height, channels: 1, data: grey }));
    await rm(join(images, name));
  }
}

if (mode === 'pack' && a && b) await pack(a, b);
else if (mode === 'unpack' && a) await unpack(a);
else {
  console.error('usage: pack-db.js pack DB OUT_DIR | unpack DIR');
  process.exit(2);
}
