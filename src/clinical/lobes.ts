/**
 * Lung lobes as lungmask's LTRCLobes model labels them (src/lungs/models.ts lists the same
 * classes: 1 left upper, 2 left lower, 3 right upper, 4 right middle, 5 right lower lobe),
 * here in the order radiologists read them: right lung top to bottom, then left.
 */
export const LOBE_KEYS = ['RUL', 'RML', 'RLL', 'LUL', 'LLL'] as const;
export type LobeKey = (typeof LOBE_KEYS)[number];

export interface Lobe {
  key: LobeKey;
  /** The LTRCLobes label value. */
  label: number;
  name: string;
  lung: 'right' | 'left';
}

export const LOBES: readonly Lobe[] = [
  { key: 'RUL', label: 3, name: 'right upper lobe', lung: 'right' },
  { key: 'RML', label: 4, name: 'right middle lobe', lung: 'right' },
  { key: 'RLL', label: 5, name: 'right lower lobe', lung: 'right' },
  { key: 'LUL', label: 1, name: 'left upper lobe', lung: 'left' },
  { key: 'LLL', label: 2, name: 'left lower lobe', lung: 'left' },
];

/** Largest LTRCLobes label. */
export const MAX_LOBE_LABEL = 5;

/**
 * Whether a model's classes (label names by value) are the LTRCLobes lobes above, so that
 * its labels can be read as lobes: lungmask's LTRCLobes, or any model that labels the same.
 */
export function labelsLobes(classes: readonly string[]): boolean {
  return classes.length === MAX_LOBE_LABEL + 1 && LOBES.every((lobe) => classes[lobe.label] === lobe.name);
}
