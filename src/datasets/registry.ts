/** All adapters by source name, and the one entry point that loads any case. */
import { medseg100 } from './medseg100.js';
import { medseg9 } from './medseg9.js';
import { mosmed } from './mosmed.js';
import { semiseg } from './semiseg.js';
import { zenodoSliceStacks } from './zenodo-slice-stacks.js';
import { semisegPseudo } from './semiseg-pseudo.js';
import { pseudoLabels } from './pseudo-labels.js';
import { zenodoSlices } from './zenodo-slices.js';
import { zenodo } from './zenodo.js';
import { sourceName, type CaseRef, type DatasetAdapter, type LoadedCase, type SourceName } from './types.js';

export const ADAPTERS: Readonly<Record<SourceName, DatasetAdapter>> = {
  mosmed,
  medseg100,
  medseg9,
  zenodo,
  'zenodo-slices': zenodoSlices,
  'zenodo-slice-stacks': zenodoSliceStacks,
  semiseg,
  'semiseg-pseudo': semisegPseudo,
  'pseudo-labels': pseudoLabels,
};

/** Why `source`'s cases may only train (DatasetAdapter.trainOnly), or undefined for an expert-labelled source. */
export function trainOnlyReason(source: SourceName): string | undefined {
  return ADAPTERS[source].trainOnly;
}

/** The adapter of `source`; the error lists the valid names. */
export function adapterFor(source: string): DatasetAdapter {
  return ADAPTERS[sourceName(source)];
}

/** Reads and harmonises one case found by any adapter. */
export function loadCase(ref: CaseRef): Promise<LoadedCase> {
  return adapterFor(ref.source).load(ref);
}
