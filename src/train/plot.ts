/** The training-curves figure: loss and Dice per epoch, best epoch marked. */
import { linePlot, grid, saveFigure } from '../figures/index.js';
import type { EpochRecord } from './history.js';

export async function writeTrainingPlot(path: string, history: EpochRecord[], bestEpoch: number, title: string): Promise<void> {
  if (history.length === 0) return;
  const x = history.map((h) => h.epoch);
  const markers = bestEpoch > 0 ? [{ x: bestEpoch, label: `best (epoch ${bestEpoch})` }] : [];
  const loss = linePlot({
    title: `${title}: loss`, xLabel: 'epoch', yLabel: 'loss (−Dice)', x, markers, width: 800, height: 420,
    series: [{ name: 'train', values: history.map((h) => h.trainLoss) }, { name: 'validation', values: history.map((h) => h.valLoss) }],
  });
  const dice = linePlot({
    title: `${title}: Dice (threshold 0.5)`, xLabel: 'epoch', yLabel: 'Dice', x, markers, yRange: [0, 1], width: 800, height: 420,
    series: [{ name: 'train', values: history.map((h) => h.trainDice) }, { name: 'validation', values: history.map((h) => h.valDice) }],
  });
  await saveFigure(path, grid([loss, dice], { columns: 1, gap: 8 }));
}
