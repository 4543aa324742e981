/** Learning-rate schedules, as a pure function of the epoch (so a resumed run continues exactly). */
export type LrSchedule =
  /** the same rate every epoch (the method) */
  | 'constant'
  /** cosine decay from lr to lr/100 over the epoch cap */
  | 'cosine'
  /** ×0.1 at 50% and 75% of the epoch cap */
  | 'step'
  /** linear warm-up over the first 5 epochs, then cosine */
  | 'warmup-cosine';

export const LR_SCHEDULES: readonly LrSchedule[] = ['constant', 'cosine', 'step', 'warmup-cosine'];

/** Learning rate for 1-based `epoch` out of `epochs`. */
export function learningRate(schedule: LrSchedule, baseLr: number, epoch: number, epochs: number): number {
  const t = Math.min(1, (epoch - 1) / Math.max(1, epochs - 1));
  const cosine = (u: number) => baseLr / 100 + (baseLr - baseLr / 100) * 0.5 * (1 + Math.cos(Math.PI * u));
  switch (schedule) {
    case 'constant':
      return baseLr;
    case 'cosine':
      return cosine(t);
    case 'step':
      return baseLr * (t >= 0.75 ? 0.01 : t >= 0.5 ? 0.1 : 1);
    case 'warmup-cosine': {
      const warm = 5;
      if (epoch <= warm) return (baseLr * epoch) / warm;
      return cosine((epoch - warm - 1) / Math.max(1, epochs - warm - 1));
    }
  }
}
