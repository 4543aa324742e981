/** The page's clinical cells (lesion types, zone and lobe scores) against report.json, for the chromium tests. */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { SegmentReport } from '../../src/segment/index.js';

/** Each cell of #clinical-table and #score-table as report.json's `clinical` block gives it (1 decimal, as report.html rounds). */
export async function checkClinicalCells(page: Page, report: SegmentReport): Promise<void> {
  const c = report.clinical!;
  const shown = (value: number | null, unit: string) => (value === null ? '–' : `${value.toFixed(1)}${unit}`);
  const t = c.total;
  const cells: [string, number | null, string][] = [
    ['#ggo-ml', t.groundGlass?.volumeMl ?? null, ' mL'],
    ['#ggo-percent', t.groundGlass?.percentOfLung ?? null, '%'],
    ['#consolidation-ml', t.consolidation?.volumeMl ?? null, ' mL'],
    ['#consolidation-percent', t.consolidation?.percentOfLung ?? null, '%'],
    ['#consolidation-share', t.consolidationPercentOfLesion, '%'],
  ];
  for (const [selector, value, unit] of cells) {
    assert.equal(await page.getAttribute(selector, 'data-value'), value === null ? '' : String(value), selector);
    assert.equal(await page.textContent(selector), shown(value, unit), selector);
  }
  const note = (await page.textContent('#density-note')) ?? '';
  if (c.density.available) assert.match(note, new RegExp(`below ${c.density.consolidationFrom} HU`));
  else assert.equal(note, `Ground glass / consolidation not available: ${c.density.reason}`);
  for (const key of ['zone', 'lobarTss', 'pan'] as const) {
    const s = c.scores[key];
    const row = `#score-table tr[data-score=${key}]`;
    assert.equal(await page.textContent(`${row} .total`), s.available ? `${s.total}/${s.max}` : 'n/a', key);
    assert.equal(await page.getAttribute(`${row} .total`, 'data-value'), s.available ? String(s.total) : '', key);
    const evidence = (await page.textContent(`${row} .evidence`)) ?? '';
    if (!s.available) assert.equal(evidence, c.scores.assessable ? s.reason : 'not scored: the scan is not graded (the reason is above)', key);
    else if ('zones' in s) assert.equal(evidence.split(', ').length, 6, key);
    else for (const l of s.lobes) assert.ok(evidence.includes(`${l.lobe} ${l.percentAffected.toFixed(1)}% → ${l.score}`), `${key}: ${l.lobe} in ${evidence}`);
  }
}
