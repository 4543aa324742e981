/**
 * report.html: one self-contained page (styles inline, pictures as data URIs) that a
 * clinician can open or attach anywhere.
 */
import type { SegmentReport } from './report.js';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The volume, or the voxel count when the voxel size is unknown. */
function ml(n: { volumeMl: number | null; voxels: number }): string {
  return n.volumeMl === null ? `${n.voxels} voxels` : `${n.volumeMl.toFixed(1)} mL`;
}

export function renderReportHtml(report: SegmentReport, overlays: { png: Uint8Array; caption: string }[]): string {
  const r = report;
  const rows = (['right', 'left', 'total'] as const).map((side) => `<tr><th>${side === 'total' ? 'both lungs' : `${side} lung`}</th><td>${ml(r.lungs[side])}</td><td>${ml(r.lesions[side])}</td><td><b>${r.lesions[side].percentOfLung.toFixed(1)}%</b></td></tr>`).join('\n');
  const pictures = overlays.map((o) => `<figure><img alt="${escape(o.caption)}" src="data:image/png;base64,${Buffer.from(o.png).toString('base64')}"><figcaption>${escape(o.caption)}</figcaption></figure>`).join('\n');
  const warnings = r.warnings.length ? `<section class="warn"><h2>Warnings</h2><ul>${r.warnings.map((w) => `<li>${escape(w)}</li>`).join('')}</ul></section>` : '';
  const timings = Object.entries(r.timingsMs).map(([k, v]) => `${escape(k)} ${(v / 1000).toFixed(2)} s`).join(' · ');
  const spacing = r.input.spacingKnown ? `${r.input.spacingMm.map((s) => s.toFixed(3)).join(' × ')} mm` : r.input.format === 'png' || r.input.format === 'jpeg' ? 'unknown (image file): volumes not available, percentages are of lung area' : 'unknown (not in the file): volumes not available, percentages are of lung voxels';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>covseg report: ${escape(r.severity.category)}</title>
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
<p><span class="sev">${escape(r.severity.category)}: ${r.severity.percentAffected.toFixed(1)}% of lung affected</span> <span class="meta">${escape(r.severity.description)} (MosMedData CT-0…CT-4 scale)</span></p>
<table><tr><th></th><th>lung volume</th><th>lesion volume</th><th>affected</th></tr>
${rows}
</table>
${warnings}
<h2>Representative slices</h2>
<p class="legend"><span style="background:#e62828"></span>right lung<span style="background:#28c83c"></span>left lung<span style="background:#ffaa00"></span>lesion (ground-glass opacity or consolidation) — radiological view: patient's right on the left</p>
${pictures}
<h2>How this was made</h2>
<p class="meta">Lung model: ${escape(r.models.lung)}<br>Lesion model: ${escape(r.models.lesion)}<br>Time: ${escape(timings)}<br>Created ${escape(r.createdAt)} by covseg. Research software: not a medical device; every finding needs a radiologist's review.</p>
</body></html>
`;
}
