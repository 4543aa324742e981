/**
 * Zenodo 3757476, "COVID-19 CT Lung and Infection Segmentation Dataset" (Ma et al.,
 * CC BY 4.0): 20 CT volumes, 10 from coronacases.org (HU) and 10 from Radiopaedia
 * (windowed to 0–255 before publication, so not HU: `isHu: false`, recorded, not an error).
 * Two published layouts are read:
 * - Zenodo: `COVID-19-CT-Seg_20cases/*.nii.gz`, `Infection_Mask/`, `Lung_Mask/`
 *   (left and right lung as two labels), `Lung_and_Infection_Mask/` (lungs + 3 infection);
 * - its Kaggle copy ("covid19-ct-scans"): `ct_scans/*.nii`, `infection_mask/`, `lung_mask/`,
 *   `lung_and_infection_mask/`, `metadata.csv` (one row of four paths per scan).
 * Image and mask names differ: `coronacases_org_001` ↔ `coronacases_001`,
 * `radiopaedia_org_covid-19-pneumonia-4_85506_1-dcm` ↔ `radiopaedia_4_85506_1`.
 */
import { basename, join } from 'node:path';
import { CovsegError } from '../util/errors.js';
import { isDirectory, isFile, listFiles, naturalCompare, readCsv, requireRoot } from './files.js';
import { loadCaseFiles } from './load-case.js';
import { coronacasesGroup, radiopaediaGroup } from './patient-groups.js';
import type { CaseRef, DatasetAdapter, SourceScan } from './types.js';

const LAYOUT = 'COVID-19-CT-Seg_20cases/, Infection_Mask/, Lung_Mask/ (Zenodo) or ct_scans/, infection_mask/, lung_mask/, metadata.csv (Kaggle)';
const NIFTI = /\.nii(\.gz)?$/;

/** The folder names of one published layout. */
interface ZenodoLayout {
  name: 'zenodo' | 'kaggle';
  images: string;
  infection: string;
  lung: string;
  combined: string;
}
const LAYOUTS: ZenodoLayout[] = [
  { name: 'zenodo', images: 'COVID-19-CT-Seg_20cases', infection: 'Infection_Mask', lung: 'Lung_Mask', combined: 'Lung_and_Infection_Mask' },
  { name: 'kaggle', images: 'ct_scans', infection: 'infection_mask', lung: 'lung_mask', combined: 'lung_and_infection_mask' },
];

function stem(name: string): string {
  return name.replace(NIFTI, '');
}

/** The masks' name for an image file stem, and the patient group it belongs to. */
export function zenodoCaseName(imageStem: string): { maskStem: string; patientGroup: string } {
  const corona = imageStem.match(/^coronacases_org_(\d+)$/);
  if (corona) return { maskStem: `coronacases_${corona[1]}`, patientGroup: coronacasesGroup(Number(corona[1])) };
  const rp = imageStem.match(/^radiopaedia_org_covid-19-pneumonia-(\d+)_(\d+)_(\d+)-dcm$/);
  if (rp) return { maskStem: `radiopaedia_${rp[1]}_${rp[2]}_${rp[3]}`, patientGroup: radiopaediaGroup(rp[1]!) };
  return { maskStem: imageStem, patientGroup: `zenodo:${imageStem}` };
}

/**
 * The patient group of the Zenodo 3757476 scan whose name `fileName` carries
 * (`Data-1_coronacases_org_001_100.jpg`, COVID-SemiSeg's rendering of coronacases_org_001 →
 * coronacases:001; `…radiopaedia_org_covid-19-pneumonia-10_85902_3-dcm_…` → radiopaedia-case:10),
 * as the zenodo source names it; undefined when it carries none.
 */
export function zenodoGroupInName(fileName: string): string | undefined {
  const m = fileName.match(/coronacases_org_\d+|radiopaedia_org_covid-19-pneumonia-\d+_\d+_\d+-dcm/);
  return m ? zenodoCaseName(m[0]).patientGroup : undefined;
}

/** Kaggle's metadata.csv: image file name → mask file names (its paths point into Kaggle's /input). */
async function readMetadata(path: string): Promise<Map<string, { infection?: string; lung?: string; combined?: string }>> {
  const map = new Map<string, { infection?: string; lung?: string; combined?: string }>();
  for (const row of await readCsv(path, ['ct_scan', 'infection_mask'])) {
    const name = (column: string) => (row[column] ? basename(row[column]!) : undefined);
    const image = name('ct_scan');
    if (!image) continue;
    const entry: { infection?: string; lung?: string; combined?: string } = {};
    const infection = name('infection_mask');
    const lung = name('lung_mask');
    const combined = name('lung_and_infection_mask');
    if (infection) entry.infection = infection;
    if (lung) entry.lung = lung;
    if (combined) entry.combined = combined;
    map.set(image, entry);
  }
  return map;
}

export async function scanZenodo(root: string): Promise<SourceScan> {
  await requireRoot(root, 'zenodo', LAYOUT);
  let layout: ZenodoLayout | undefined;
  for (const l of LAYOUTS) if (await isDirectory(join(root, l.images))) layout = l;
  if (!layout) throw new CovsegError(`neither COVID-19-CT-Seg_20cases/ nor ct_scans/ found; expected ${LAYOUT}`, { file: root });
  const notes: string[] = [`${layout.name === 'zenodo' ? 'Zenodo' : 'Kaggle'} layout (${layout.images}/)`];
  const listing = async (dir: string) => ((await isDirectory(join(root, dir))) ? await listFiles(join(root, dir), NIFTI) : []);
  const byStem = (names: string[]) => new Map(names.map((n) => [stem(n), n]));
  const infection = byStem(await listing(layout.infection));
  const lung = byStem(await listing(layout.lung));
  const combined = byStem(await listing(layout.combined));
  const metadataPath = join(root, 'metadata.csv');
  const metadata = layout.name === 'kaggle' && (await isFile(metadataPath)) ? await readMetadata(metadataPath) : undefined;
  if (metadata) notes.push('pairs taken from metadata.csv');
  const cases: CaseRef[] = [];
  for (const name of await listFiles(join(root, layout.images), NIFTI)) {
    const { maskStem, patientGroup } = zenodoCaseName(stem(name));
    const meta = metadata?.get(name);
    const infectionName = meta?.infection ?? infection.get(maskStem) ?? `${maskStem}${name.match(NIFTI)![0]}`;
    const lungName = meta?.lung ?? lung.get(maskStem);
    const combinedName = meta?.combined ?? combined.get(maskStem);
    const files: CaseRef['files'] = { image: join(root, layout.images, name), lesion: join(root, layout.infection, infectionName) };
    if (lungName && lung.has(stem(lungName))) files.lung = join(root, layout.lung, lungName);
    else if (combinedName && combined.has(stem(combinedName))) files.lung = join(root, layout.combined, combinedName);
    cases.push({ source: 'zenodo', originalId: maskStem, kind: 'volume', patientGroup, files });
  }
  cases.sort((a, b) => naturalCompare(a.originalId, b.originalId));
  const withoutLung = cases.filter((c) => !c.files.lung).length;
  if (withoutLung > 0) notes.push(`${withoutLung} scans without a lung mask in ${layout.lung}/ or ${layout.combined}/`);
  return { source: 'zenodo', root, cases, notes };
}

export const zenodo: DatasetAdapter = {
  source: 'zenodo',
  kind: 'volume',
  layout: LAYOUT,
  scan: scanZenodo,
  load: (ref) => {
    const fromCombined = ref.files.lung !== undefined && /lung_and_infection_mask/i.test(ref.files.lung);
    // The combined mask labels infection 3; the lungs are its other labels.
    return loadCaseFiles(ref, { lesionLabels: 'nonzero', ...(fromCombined ? { lungFileNonLungValues: [3] } : {}) });
  },
};
