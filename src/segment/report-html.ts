/**
 * report.html: one self-contained page (styles inline, pictures as data URIs) that a
 * clinician can open or attach anywhere.
 */
import type { SegmentReport } from './report.js';
import { BAND_LABELS, BAND_NAMES, REGION_NAMES, type Amount, type ClinicalFigures, type LobeScore, type Unavailable, type ZoneScore } from '../clinical/index.js';
import { severityHeadline } from './severity.js';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The volume, or the voxel count when the voxel size is unknown. */
function ml(n: { volumeMl: number | null; voxels: number }): string {
  return n.volumeMl === null ? `${n.voxels} voxels` : `${n.volumeMl.toFixed(1)} mL`;
}

/** The grade, or plainly why there is none; the percentage always says what it is of. */
function severityLine(r: SegmentReport): string {
  const s = r.severity;
  if (s.category) return `<p><span class="sev">${escape(s.category)}: ${s.percentAffected.toFixed(1)}% of lung affected</span> <span class="meta">${escape(s.description)} (MosMedData CT-0…CT-4 scale)</span></p>`;
  if (r.quality.lungCoverage === 'none') return '<p><span class="sev">No lungs in view</span> <span class="meta">no severity grade can be given</span></p>';
  return `<p><span class="sev">No severity grade: ${s.percentAffected.toFixed(1)}% of the lung in view affected</span> <span class="meta">${escape(s.reason ?? '')}. The MosMedData CT-0…CT-4 grade is of both lungs whole.</span></p>`;
}

/** A picture as an inline <figure>. */
function figure(o: { png: Uint8Array; caption: string }): string {
  return `<figure><img alt="${escape(o.caption)}" src="data:image/png;base64,${Buffer.from(o.png).toString('base64')}"><figcaption>${escape(o.caption)}</figcaption></figure>`;
}

/** `clinicalPictures`: the clinical section's pictures, [distribution, lesion types] as `clinicalReportParts` makes them, shown when the report has a clinical block. */
export function renderReportHtml(report: SegmentReport, overlays: { png: Uint8Array; caption: string }[], clinicalPictures: { png: Uint8Array; caption: string }[] = []): string {
  const r = report;
  const spread = r.lesionSpread;
  // With test-time flips: the lowest–highest over the mirrors, beside each figure.
  const range = (i: [number, number] | null | undefined, unit: string) => (i ? ` <small>(${i[0].toFixed(1)}–${i[1].toFixed(1)}${unit})</small>` : '');
  const rows = (['right', 'left', 'total'] as const).map((side) => `<tr><th>${side === 'total' ? 'both lungs' : `${side} lung`}</th><td>${ml(r.lungs[side])}</td><td>${ml(r.lesions[side])}${range(spread?.[side].volumeMl, ' mL')}</td><td><b>${r.lesions[side].percentOfLung.toFixed(1)}%</b>${range(spread?.[side].percentOfLung, '%')}</td></tr>`).join('\n');
  const pictures = overlays.map(figure).join('\n');
  const warnings = r.warnings.length ? `<section class="warn"><h2>Warnings</h2><ul>${r.warnings.map((w) => `<li>${escape(w)}</li>`).join('')}</ul></section>` : '';
  const timings = Object.entries(r.timingsMs).map(([k, v]) => `${escape(k)} ${(v / 1000).toFixed(2)} s`).join(' · ');
  const spacing = r.input.spacingKnown ? `${r.input.spacingMm.map((s) => s.toFixed(3)).join(' × ')} mm` : r.input.format === 'png' || r.input.format === 'jpeg' ? 'unknown (image file): volumes not available, percentages are of lung area' : 'unknown (not in the file): volumes not available, percentages are of lung voxels';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>covseg report: ${escape(severityHeadline(r.severity))}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.5rem;margin-bottom:.2rem} h2{font-size:1.1rem;margin-top:1.6rem}
.sev{display:inline-block;padding:.4rem .8rem;border-radius:.4rem;background:#fff3d6;border:1px solid #e5a400;font-size:1.2rem}
table{border-collapse:collapse;margin-top:.5rem} th,td{border:1px solid #ccc;padding:.35rem .7rem;text-align:right} th{text-align:left;background:#f6f6f6}
figure{display:inline-block;margin:.4rem} img{max-width:100%;image-rendering:pixelated} figcaption{font-size:.85rem;color:#555}
.warn{background:#fff0f0;border:1px solid #d88;padding:.3rem 1rem} .meta{color:#555;font-size:.9rem} .legend span{display:inline-block;width:.9em;height:.9em;margin:0 .3em 0 .8em;vertical-align:middle}
</style></head><body>
<h1>COVID-19 lung involvement</h1>
<p class="meta">${escape(r.input.path)} · ${escape(r.input.format)} · ${r.input.dims.join(' × ')} voxels · spacing ${escape(spacing)}${r.input.modality ? ` · ${escape(r.input.modality)}` : ''}</p>
${severityLine(r)}
<p class="meta">Lung coverage: ${escape(r.quality.lungCoverage)} · lung mask ${r.quality.assessable ? 'plausible' : '<b>not plausible</b>'}${r.quality.warnings.length ? `</p><ul class="meta">${r.quality.warnings.map((w) => `<li>${escape(w)}</li>`).join('')}</ul>` : '</p>'}
<table><tr><th></th><th>lung volume</th><th>lesion volume</th><th>affected${r.severity.category ? '' : ' (of the lung in view)'}</th></tr>
${rows}
</table>
${spread ? `<p class="meta">In brackets: lowest–highest over the lesion model run on the ${spread.members} mirrors of each slice (test-time flips); the figures are from their mean.</p>` : ''}
${warnings}
${r.clinical ? clinicalSection(r.clinical, clinicalPictures) : ''}
<h2>Representative slices</h2>
<p class="legend"><span style="background:#e62828"></span>right lung<span style="background:#28c83c"></span>left lung<span style="background:#ffaa00"></span>lesion (ground-glass opacity or consolidation) — radiological view: patient's right on the left</p>
${pictures}
<h2>How this was made</h2>
<p class="meta">Lung model: ${escape(r.models.lung)}<br>Lesion model: ${escape(r.models.lesion)}<br>${r.models.lobes ? `Lobe model: ${escape(r.models.lobes)}<br>` : ''}Time: ${escape(timings)}<br>Created ${escape(r.createdAt)} by covseg. Research software: not a medical device; every finding needs a radiologist's review.</p>
</body></html>
`;
}

const SIDES = [['right', 'right lung'], ['left', 'left lung'], ['total', 'both lungs']] as const;

function amount(a: Amount | null | undefined): string {
  if (!a) return '–';
  return `${a.volumeMl === null ? `${a.voxels} voxels` : `${a.volumeMl.toFixed(1)} mL`} (${a.percentOfLung.toFixed(1)}%)`;
}

function scoreBlock(name: string, s: ZoneScore | LobeScore | Unavailable): string {
  if (!s.available) return `<p><b>${escape(name)}</b>: not available — ${escape(s.reason)}</p>`;
  const parts = 'zones' in s ? s.zones.map((z) => `${z.lung} ${z.zone} ${z.percentAffected.toFixed(1)}% → ${z.score}`) : s.lobes.map((l) => `${l.lobe} ${l.percentAffected.toFixed(1)}% → ${l.score}`);
  return `<p><b>${escape(name)}: ${s.total}/${s.max}</b> <span class="meta">${escape(s.label)}</span><br><span class="meta">${escape(parts.join(' · '))}</span></p>`;
}

/** The lobe scores' evidence: each lobe's volume, lesion, share affected and the two scores (– where a score is not given). */
function lobeTable(c: ClinicalFigures): string {
  if (!c.lobes) return '';
  const score = (s: LobeScore | Unavailable, key: string) => (s.available ? String(s.lobes.find((l) => l.lobe === key)?.score ?? '–') : '–');
  const rows = c.lobes.map((l) => `<tr><th>${escape(l.name)} (${l.lobe})</th><td>${ml(l)}</td><td>${ml({ voxels: l.lesionVoxels, volumeMl: l.lesionMl })}</td><td>${l.percentAffected.toFixed(1)}%</td><td>${score(c.scores.lobarTss, l.lobe)}</td><td>${score(c.scores.pan, l.lobe)}</td></tr>`);
  return `<table><tr><th>lobe</th><th>volume</th><th>lesion</th><th>affected</th><th>lobar TSS (0–4)</th><th>Pan (0–5)</th></tr>
${rows.join('\n')}
</table>
<p class="meta">Lobes: lungmask's LTRCLobes labels, counted inside the lung mask.</p>`;
}

/** The clinical figures (src/clinical): lesion types, the lung's composition and bands, where the disease is, the scores. */
function clinicalSection(c: ClinicalFigures, pictures: { png: Uint8Array; caption: string }[]): string {
  const head = `<tr><th></th>${SIDES.map(([, label]) => `<th>${label}</th>`).join('')}</tr>`;
  const row = (label: string, cell: (side: 'right' | 'left' | 'total') => string) => `<tr><th>${escape(label)}</th>${SIDES.map(([side]) => `<td>${cell(side)}</td>`).join('')}</tr>`;
  const density = c.density.available
    ? `<table>${head}
${row('ground glass', (s) => amount(c[s].groundGlass))}
${row('consolidation', (s) => amount(c[s].consolidation))}
${row('consolidation, % of lesion', (s) => `${c[s].consolidationPercentOfLesion?.toFixed(1) ?? '–'}%`)}
${row('affected (lesion)', (s) => amount(c[s].composition?.affected))}
${row('functional (aerated, no lesion)', (s) => amount(c[s].composition?.functional))}
${row('emphysema range (no lesion)', (s) => amount(c[s].composition?.emphysemaRange))}
${row('other (denser, no lesion)', (s) => amount(c[s].composition?.other))}
</table>
<p class="meta">Ground glass: lesion below ${c.density.consolidationFrom} HU; consolidation: lesion from ${c.density.consolidationFrom} HU (3D Slicer Lung CT Analyzer's bands). Lung density bands, lesion or not: ${BAND_NAMES.map((b) => `${escape(BAND_LABELS[b])} ${escape(c.density.available ? c.density.ranges[b] : '')} ${c.total.bands?.[b].percentOfLung.toFixed(1) ?? '–'}%`).join(' · ')}.</p>`
    : `<p>Ground glass vs consolidation: not available — ${escape(c.density.reason)}</p>`;
  const regions = `<table><tr><th>% affected</th><th>right lung</th><th>left lung</th></tr>
${REGION_NAMES.map((name) => `<tr><th>${name}</th>${(['right', 'left'] as const).map((s) => `<td>${c[s].regions[name] ? `${c[s].regions[name]!.percentAffected.toFixed(1)}%` : '–'}</td>`).join('')}</tr>`).join('\n')}
</table>
<p class="meta">${escape([c.regionRules.thirds, c.regionRules.halves, c.regionRules.depth, ...c.regionRules.notes].join('; '))}.</p>`;
  const scores = [scoreBlock('Zone score', c.scores.zone), scoreBlock('Lobar total severity score', c.scores.lobarTss), scoreBlock('Pan et al. score', c.scores.pan), lobeTable(c)].join('\n');
  return `<h2>Lesion types</h2>
${density}
${pictures.slice(1).map(figure).join('\n')}
<h2>Where the disease is</h2>
${regions}
${pictures.slice(0, 1).map(figure).join('\n')}
<h2>CT scores</h2>
${scores}`;
}
