/**
 * The subcommand registry. Commands load lazily so that, e.g., `covseg segment`
 * never loads the libtorch training addon.
 */
import type { Command } from '../command.js';

export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<Command>;
}

/** In pipeline order: read, build the databases, segment lungs, train, evaluate, segment new scans (one, or a batch and its workers), compare them, serve. */
export const COMMANDS: CommandEntry[] = [
  { name: 'info', summary: 'show format, geometry, intensities and HU check of an image or DICOM folder', load: async () => (await import('./info.js')).command },
  { name: 'build-db', summary: 'build the 3D and 2D training databases from the public datasets', load: async () => (await import('./build-db.js')).command },
  { name: 'pair-renderings', summary: "pair COVID-SemiSeg's unlabelled Zenodo renderings with zenodo-slices' masks (build-db's semiseg-pseudo source)", load: async () => (await import('./pair-renderings.js')).command },
  { name: 'lungs', summary: "segment the lungs of a CT (covseg's model, or lungmask's R231 / LTRCLobes / R231CovidWeb)", load: async () => (await import('./lungs.js')).command },
  { name: 'train', summary: 'train a 2D or 3D U-Net (lung-masked Dice loss) on a covseg database', load: async () => (await import('./train.js')).command },
  { name: 'pseudo-label', summary: "self-training: a teacher lesion model's masks for your own unlabelled slices or volumes (build-db's pseudo-labels source, train split only)", load: async () => (await import('./pseudo-label.js')).command },
  { name: 'evaluate', summary: 'score a model case by case on a database split or a folder of slices (Dice, Table 2, figures)', load: async () => (await import('./evaluate.js')).command },
  { name: 'segment', summary: 'segment lungs and lesions of a new CT and report the % of each lung affected', load: async () => (await import('./segment.js')).command },
  { name: 'batch', summary: 'segment many CTs (a list or a folder), resumable, here or on a BullMQ queue of workers; a summary table', load: async () => (await import('./batch.js')).command },
  { name: 'worker', summary: "take scans from the queue of 'covseg batch --redis' (any number of machines)", load: async () => (await import('./worker.js')).command },
  { name: 'compare', summary: 'follow-up: compare two or more segment results of one patient (changes, verdict, matched levels, trend)', load: async () => (await import('./compare.js')).command },
  { name: 'serve', summary: 'web page and API on 127.0.0.1: upload a CT, see lungs and lesions in 2D/3D, read the report', load: async () => (await import('./serve.js')).command },
];
