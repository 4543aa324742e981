/**
 * Per-epoch training history: `history.csv` (what dashboards read) and a PNG plot of
 * train/validation loss and Dice (what people look at).
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic-write.js';
import { CovsegError } from '../util/errors.js';

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainDice: number;
  valLoss: number;
  valDice: number;
  lr: number;
  seconds: number;
}

const COLUMNS = ['epoch', 'train_loss', 'train_dice', 'val_loss', 'val_dice', 'lr', 'seconds'] as const;

export function historyToCsv(history: EpochRecord[]): string {
  // Full precision (shortest exact form): a resumed run rebuilds its history from this file.
  const rows = history.map((h) => [h.epoch, h.trainLoss, h.trainDice, h.valLoss, h.valDice, h.lr, h.seconds].map(String).join(','));
  return [COLUMNS.join(','), ...rows].join('\n') + '\n';
}

export async function writeHistory(path: string, history: EpochRecord[]): Promise<void> {
  await writeFileAtomic(path, historyToCsv(history));
}

/**
 * The history a run wrote. A resumed run carries it on, so a damaged file (a cut line, a
 * cell that is not a number, epochs out of order) is an error naming the line, not NaNs
 * in the next plot. (A cell may be NaN where the run wrote NaN: no validation Dice yet.)
 */
export async function readHistory(path: string): Promise<EpochRecord[]> {
  if (!existsSync(path)) return [];
  const lines = (await readFile(path, 'utf8')).trim().split('\n');
  const header = lines.shift()?.split(',') ?? [];
  if (COLUMNS.some((c, i) => header[i] !== c)) throw new CovsegError(`unexpected header, expected ${COLUMNS.join(',')}`, { file: path });
  const damaged = (k: number, what: string) => new CovsegError(`line ${k + 2}: ${what}; the run folder is damaged: train into another --out`, { file: path });
  return lines.map((line, k) => {
    const cells = line.split(',');
    if (cells.length !== COLUMNS.length) throw damaged(k, `${cells.length} cells, expected ${COLUMNS.length}`);
    const v = cells.map((c, i) => {
      const n = Number(c);
      if (c.trim() === '' || (Number.isNaN(n) && c !== 'NaN')) throw damaged(k, `${COLUMNS[i]} '${c}' is not a number`);
      return n;
    });
    if (v[0] !== k + 1) throw damaged(k, `epoch ${cells[0]}, expected ${k + 1}`);
    return { epoch: v[0]!, trainLoss: v[1]!, trainDice: v[2]!, valLoss: v[3]!, valDice: v[4]!, lr: v[5]!, seconds: v[6]! };
  });
}
