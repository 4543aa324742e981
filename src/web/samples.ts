/**
 * The bundled example cases (examples/) the page's "sample case" button runs. Only
 * entries whose content is a readable CT are offered, and a sample is looked up by its
 * exact listed name, so a request can never name a path outside the folder.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { detectFormat, scanDicomFolder, type ImageFormat } from '../io/index.js';
import { HttpError } from './http-error.js';

export interface Sample {
  /** File or folder name inside the examples folder. */
  name: string;
  format: ImageFormat;
  path: string;
  /** Size of the file, or of the DICOM files of a folder. */
  bytes: number;
}

/**
 * The examples in `dir`: each folder holding a DICOM series, each image file at the top,
 * and each image in a `ct/` folder one level down (the dataset layout of examples/
 * zenodo20-slices, whose `lungs/` and `covid/` masks are not cases). DICOM comes first
 * (real CT in Hounsfield units, what the pipeline is for), then by name. A missing folder
 * gives an empty list: the page then hides its button.
 */
export async function listSamples(dir: string): Promise<Sample[]> {
  const samples: Sample[] = [];
  const imageFile = async (name: string, path: string) => {
    const detected = await detectFormat(path).catch(() => undefined);
    if (detected && detected.format !== 'dicom') samples.push({ name, format: detected.format, path, bytes: (await stat(path)).size });
  };
  for (const top of await sortedEntries(dir)) {
    const path = join(dir, top);
    if (!(await stat(path)).isDirectory()) {
      await imageFile(top, path);
      continue;
    }
    const scan = await scanDicomFolder(path).catch(() => undefined);
    if (scan && scan.headers.length > 0) samples.push({ name: top, format: 'dicom', path, bytes: await folderBytes(scan.headers.map((h) => h.path)) });
    const ctDir = join(path, 'ct');
    for (const file of await sortedEntries(ctDir)) await imageFile(`${top}/ct/${file}`, join(ctDir, file));
  }
  return samples.sort((a, b) => Number(b.format === 'dicom') - Number(a.format === 'dicom') || a.name.localeCompare(b.name));
}

async function sortedEntries(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => !n.startsWith('.')).sort();
  } catch {
    return [];
  }
}

async function folderBytes(paths: string[]): Promise<number> {
  let total = 0;
  for (const p of paths) total += (await stat(p)).size;
  return total;
}

/** Sample `name` in `dir`; an HttpError 404 listing the valid names when there is none. */
export async function findSample(dir: string, name: string): Promise<Sample> {
  const samples = await listSamples(dir);
  const sample = samples.find((s) => s.name === name);
  if (!sample) {
    const valid = samples.map((s) => s.name).join(', ') || 'none: the examples folder is empty or missing';
    throw new HttpError(404, 'not-found', `no sample case '${name.slice(0, 64)}'; the samples are: ${valid}`);
  }
  return sample;
}
