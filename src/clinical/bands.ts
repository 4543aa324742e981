/**
 * Density bands of lung tissue in Hounsfield units, as 3D Slicer's Lung CT Analyzer
 * (Bumm et al., LCTA; its `defaultThresholds`) defines them: emphysema [−1050, −950),
 * inflated (normally aerated) [−950, −750), infiltrated [−750, −400), collapsed [−400, 0),
 * vessels [0, 3000). covseg opens the two outer ends (below −1050, above 3000 HU) so
 * that the bands of a lung add up to the whole lung.
 *
 * The same limits split a lesion: below −400 HU (aerated or infiltrated density, the model
 * calls it lesion) is ground glass, from −400 HU up (LCTA's collapsed band and denser) is
 * consolidation.
 */
import { Type } from '@sinclair/typebox';
import { CovsegError } from '../util/errors.js';
import type { Static } from '../util/schema.js';

export const BAND_NAMES = ['emphysema', 'aerated', 'infiltrated', 'collapsed', 'vessels'] as const;
export type BandName = (typeof BAND_NAMES)[number];

/** Upper limits (exclusive, HU) of the first four bands; the fifth has none. */
export const HuBandsSchema = Type.Object({
  /** Emphysema-range / aerated boundary. LCTA: −950. */
  emphysemaBelow: Type.Number(),
  /** Aerated / infiltrated boundary. LCTA: −750. */
  aeratedBelow: Type.Number(),
  /** Infiltrated / collapsed boundary, also the ground glass / consolidation split of a lesion. LCTA: −400. */
  infiltratedBelow: Type.Number(),
  /** Collapsed / vessels boundary. LCTA: 0. */
  collapsedBelow: Type.Number(),
});
export type HuBands = Static<typeof HuBandsSchema>;

export const LCTA_BANDS: Readonly<HuBands> = { emphysemaBelow: -950, aeratedBelow: -750, infiltratedBelow: -400, collapsedBelow: 0 };

/** What each band is, for tables and legends. */
export const BAND_LABELS: Readonly<Record<BandName, string>> = {
  emphysema: 'emphysema range',
  aerated: 'normally aerated',
  infiltrated: 'infiltrated',
  collapsed: 'collapsed',
  vessels: 'vessels / dense',
};

/** Throws unless the limits rise strictly. */
export function checkBands(bands: HuBands): void {
  const v = [bands.emphysemaBelow, bands.aeratedBelow, bands.infiltratedBelow, bands.collapsedBelow];
  if (!v.every(Number.isFinite) || !v.every((x, i) => i === 0 || x > v[i - 1]!)) {
    throw new CovsegError(`HU band limits must be finite and rise strictly (emphysema < aerated < infiltrated < collapsed), got [${v.join(', ')}]`);
  }
}

/** The limits of each band as text, e.g. '−950 to −750 HU'. */
export function bandRanges(bands: HuBands): Record<BandName, string> {
  const f = (x: number) => String(x).replace('-', '−');
  return {
    emphysema: `below ${f(bands.emphysemaBelow)} HU`,
    aerated: `${f(bands.emphysemaBelow)} to ${f(bands.aeratedBelow)} HU`,
    infiltrated: `${f(bands.aeratedBelow)} to ${f(bands.infiltratedBelow)} HU`,
    collapsed: `${f(bands.infiltratedBelow)} to ${f(bands.collapsedBelow)} HU`,
    vessels: `${f(bands.collapsedBelow)} HU and above`,
  };
}
