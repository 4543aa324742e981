/**
 * The covseg page (browser code; compiled by tsc, served as /app.js): upload a CT or
 * run a sample or a study of the configured PACS (DICOMweb), follow the job, then show the CT with right lung, left lung and lesion
 * overlays in NiiVue beside the report. Talks only to the covseg service it came from.
 * In browser mode (browser-mode.ts) the models run on the page instead and the scan is
 * not uploaded.
 *
 * Finished jobs are remembered (localStorage, while the service keeps them) so that two
 * can be compared side by side (`GET /api/compare`, the follow-up of `covseg compare`);
 * `?compare=ID1,ID2[&force=1]` opens that comparison directly.
 *
 * For end-to-end tests it sets `document.body.dataset.state` ('starting' → 'ready' →
 * 'uploading' → 'running' → 'viewer-ready' | 'error'; 'comparing' → 'compare-ready') and
 * exposes `window.covseg`.
 */
import type { NVImage, Niivue as NiivueType } from '@niivue/niivue';
import type { CompareJson, JobJson, WebConfig } from '../server.js';
import type { SegmentReport } from '../../segment/index.js';
import { BROWSER_MODE_TEXT, BrowserSegmenter, IMAGE_FILE_RAS_AFFINE, browserFormat, describeProgress, labelOverlay, niivueInput, rasterInput, showGrey } from './browser-mode.js';

type NiivueModule = typeof import('@niivue/niivue');
type Layer = 'rightLung' | 'leftLung' | 'lesion';
/** 'service': the scan is uploaded to the covseg service; 'browser': the models run on this page. */
type RunMode = 'service' | 'browser';

/** Served by covseg from node_modules/@niivue/niivue/dist (no CDN: the page must work offline). */
const NIIVUE_URL = '/vendor/niivue/index.js';
const POLL_MS = 400;
/** Share of the progress bar given to the upload; the job's stages fill the rest. */
const UPLOAD_SHARE = 0.2;
/** Times a 429 (queue full) is retried after its Retry-After before giving up. */
const MAX_QUEUE_RETRIES = 20;

/** Where finished jobs are remembered for the comparison, and how many. */
const FINISHED_KEY = 'covseg.finishedJobs';
const MAX_REMEMBERED = 12;
/** Most jobs one comparison takes (the API's MAX_COMPARED_JOBS). */
const MAX_COMPARED = 6;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

/** The DICOMweb server `covseg serve --dicomweb` reads studies from, or null (the PACS controls stay hidden). */
let pacsServer: string | null = null;

interface ViewerState {
  nv: NiivueType;
  mod: NiivueModule;
  config: WebConfig;
  job?: JobJson;
  layers: Record<Layer, { on: boolean; opacity: number }>;
  mode: RunMode;
  segmenter: BrowserSegmenter;
  /** The last browser-mode result: its report and how long the run took on the page. */
  browserRun?: { inputName: string; report: SegmentReport; ms: number; slices: { lungs: number; lesions: number } };
}

declare global {
  interface Window { covseg?: ViewerState }
}

function setState(state: string): void {
  document.body.dataset['state'] = state;
}

function setProgress(fraction: number, text: string): void {
  $('bar-fill').style.width = `${Math.round(Math.max(0, Math.min(1, fraction)) * 100)}%`;
  $('status-text').textContent = text;
}

function showError(message: string | undefined): void {
  const box = $('error');
  box.hidden = !message;
  box.textContent = message ?? '';
  if (message) setState('error');
}

function rgbCss(rgb: readonly number[]): string {
  return `rgb(${rgb.join(',')})`;
}

function formatBytes(n: number): string {
  return n >= 1024 ** 2 ? `${(n / 1024 ** 2).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} kB`;
}

async function apiJson<T>(url: string, init?: RequestInit): Promise<T> {
  const response = await fetch(url, init);
  const body = await response.json().catch(() => ({ message: `${response.status} ${response.statusText}` }));
  if (!response.ok) throw new Error(body.message ?? `${response.status} ${response.statusText}`);
  return body as T;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Uploads `file` with progress (fetch cannot report upload progress, XHR can); retries while the queue is full. */
async function uploadFile(file: File, force: boolean): Promise<JobJson> {
  for (let attempt = 0; ; attempt++) {
    const { status, body, retryAfter } = await new Promise<{ status: number; body: { message?: string } & Partial<JobJson>; retryAfter: number }>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', `/api/jobs${force ? '?force=1' : ''}`);
      xhr.responseType = 'json';
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) setProgress(UPLOAD_SHARE * (e.loaded / e.total), `Uploading ${file.name}: ${formatBytes(e.loaded)} of ${formatBytes(e.total)}`);
      };
      xhr.onload = () => resolve({ status: xhr.status, body: xhr.response ?? {}, retryAfter: Number(xhr.getResponseHeader('retry-after') ?? 5) });
      xhr.onerror = () => reject(new Error('the upload failed: the covseg service did not answer (is it still running?)'));
      const form = new FormData();
      form.append('file', file, file.name);
      xhr.send(form);
    });
    if (status === 202) return body as JobJson;
    if (status === 429 && attempt < MAX_QUEUE_RETRIES) {
      setProgress(0, `The job queue is full; retrying in ${retryAfter} s…`);
      await sleep(retryAfter * 1000);
      continue;
    }
    throw new Error(body.message ?? `upload refused (HTTP ${status})`);
  }
}

function describeJob(job: JobJson): string {
  switch (job.status) {
    case 'queued': return job.queuePosition > 0 ? `Queued: ${job.queuePosition} job(s) ahead` : 'Queued';
    case 'running': return job.stage ? `Running: ${job.stage}${job.stageTotal > 1 ? ` ${job.stageDone}/${job.stageTotal}` : ''}` : 'Running: starting';
    case 'done': {
      const s = job.startedAt && job.finishedAt ? ` in ${((Date.parse(job.finishedAt) - Date.parse(job.startedAt)) / 1000).toFixed(1)} s` : '';
      return `Done${s}: ${job.inputName}`;
    }
    case 'failed': return `Failed: ${job.inputName}`;
  }
}

async function followJob(state: ViewerState, first: JobJson): Promise<void> {
  setState('running');
  let job = first;
  for (;;) {
    setProgress(UPLOAD_SHARE + (1 - UPLOAD_SHARE) * job.progress, describeJob(job));
    if (job.status === 'done' || job.status === 'failed') break;
    await sleep(POLL_MS);
    job = await apiJson<JobJson>(job.url);
  }
  state.job = job;
  if (job.status === 'failed') {
    showError(job.error ?? 'the job failed');
    return;
  }
  renderReport(job.report!);
  renderDownloads(job);
  rememberJob(job);
  await showVolumes(state, job);
  setState('viewer-ready');
}

interface FinishedJob { id: string; name: string; finishedAt: string }

function rememberedJobs(): FinishedJob[] {
  try {
    const list = JSON.parse(localStorage.getItem(FINISHED_KEY) ?? '[]') as unknown;
    return Array.isArray(list) ? list.filter((j): j is FinishedJob => typeof j?.id === 'string' && typeof j?.name === 'string') : [];
  } catch {
    // Storage off (private mode) or damaged: nothing remembered.
    return [];
  }
}

function saveRemembered(list: FinishedJob[]): void {
  try {
    localStorage.setItem(FINISHED_KEY, JSON.stringify(list.slice(-MAX_REMEMBERED)));
  } catch {
    // Storage off: the list lasts as long as the page.
  }
  renderCompareList(list.slice(-MAX_REMEMBERED));
}

function rememberJob(job: JobJson): void {
  saveRemembered([...rememberedJobs().filter((j) => j.id !== job.id), { id: job.id, name: job.inputName, finishedAt: job.finishedAt ?? new Date().toISOString() }]);
}

/** Drops remembered jobs the service no longer has (expired, or another service's). */
async function pruneRemembered(): Promise<void> {
  const kept: FinishedJob[] = [];
  for (const job of rememberedJobs()) {
    const response = await fetch(`/api/jobs/${job.id}`).catch(() => undefined);
    if (response?.ok && ((await response.json()) as JobJson).status === 'done') kept.push(job);
  }
  saveRemembered(kept);
}

function checkedJobs(): string[] {
  return [...document.querySelectorAll<HTMLInputElement>('#compare-jobs input[type=checkbox]:checked')].map((c) => c.value);
}

function renderCompareList(list: FinishedJob[]): void {
  const button = $<HTMLButtonElement>('compare');
  const update = () => {
    const n = checkedJobs().length;
    button.disabled = n < 2 || n > MAX_COMPARED;
  };
  if (list.length === 0) {
    $('compare-jobs').replaceChildren(Object.assign(document.createElement('li'), { className: 'muted', textContent: 'Scans finished on this service appear here: tick two of one patient to see them side by side.' }));
  } else {
    $('compare-jobs').replaceChildren(...list.map((job) => {
      const box = Object.assign(document.createElement('input'), { type: 'checkbox', value: job.id });
      box.addEventListener('change', update);
      const label = document.createElement('label');
      label.title = `${job.name}, finished ${job.finishedAt}`;
      label.append(box, ` ${job.name} `, Object.assign(document.createElement('span'), { className: 'muted', textContent: new Date(job.finishedAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) }));
      const li = document.createElement('li');
      li.append(label);
      return li;
    }));
  }
  update();
}

/** Asks the service to compare `ids` (in this order: earlier first, unless every scan has a study date) and shows the result in place of the viewer. */
async function openComparison(ids: string[], force: boolean): Promise<void> {
  setState('comparing');
  const query = `jobs=${ids.map(encodeURIComponent).join(',')}${force ? '&force=1' : ''}`;
  const result = await apiJson<CompareJson>(`/api/compare?${query}`);
  renderComparison(result);
  $('compare-view').hidden = false;
  document.body.dataset['view'] = 'compare';
  // The address names the comparison, so that it can be reopened or passed on while the jobs last.
  history.replaceState(null, '', `?compare=${ids.map(encodeURIComponent).join(',')}${force ? '&force=1' : ''}`);
  window.scrollTo(0, 0);
  setState('compare-ready');
}

function closeComparison(state: ViewerState): void {
  $('compare-view').hidden = true;
  delete document.body.dataset['view'];
  history.replaceState(null, '', location.pathname);
  setState(state.job || state.browserRun ? 'viewer-ready' : 'ready');
}

const fixed = (v: number | null | undefined, unit = '', digits = 1) => (v === null || v === undefined ? '–' : `${v.toFixed(digits)}${unit}`);
const signed = (v: number | null, unit = '', digits = 1) => (v === null ? '–' : `${v > 0 ? '+' : v < 0 ? '−' : '±'}${Math.abs(v).toFixed(digits)}${unit}`);

function cells(row: HTMLTableRowElement, values: (string | { text: string; value?: number | null })[]): void {
  for (const v of values) {
    const td = document.createElement('td');
    if (typeof v === 'string') td.textContent = v;
    else {
      td.textContent = v.text;
      td.dataset['value'] = v.value === null || v.value === undefined ? '' : String(v.value);
    }
    row.append(td);
  }
}

function headedRow(label: string): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.append(Object.assign(document.createElement('th'), { textContent: label }));
  return tr;
}

/** One scan's column: name, date, grade, lungs and lesions per side, consolidation share and the scores (the comparison's figures, from its masks). */
function comparisonColumn(job: CompareJson['jobs'][number], scan: CompareJson['comparison']['scans'][number], role: string): HTMLElement {
  const report = job.report!;
  const column = Object.assign(document.createElement('div'), { className: 'compare-column' });
  column.dataset['job'] = job.id;
  column.append(
    Object.assign(document.createElement('h3'), { textContent: `${role}: ${job.name}` }),
    Object.assign(document.createElement('p'), { className: 'muted', textContent: `${scan.date ? `study date ${scan.date}` : 'no study date (order as picked)'}${scan.patientId ? ` · patient ${scan.patientId}` : ''}` }),
  );
  const grade = document.createElement('p');
  grade.append(Object.assign(document.createElement('span'), { className: 'sev', textContent: report.severity.category ?? 'no grade' }), ` ${fixed(scan.percentAffected, '%')} of ${report.severity.category ? 'the lungs' : 'the lung in view'} affected`);
  column.append(grade);
  const table = document.createElement('table');
  table.append(Object.assign(document.createElement('thead'), { innerHTML: '<tr><th></th><th>lung volume</th><th>lesion volume</th><th>affected</th></tr>' }));
  const body = document.createElement('tbody');
  for (const [side, label] of [['right', 'right lung'], ['left', 'left lung'], ['total', 'both lungs']] as const) {
    const tr = headedRow(label);
    const pct = side === 'total' ? scan.percentAffected : scan[side];
    cells(tr, [fixed(report.lungs[side].volumeMl, ' mL'), fixed(report.lesions[side].volumeMl, ' mL'), { text: fixed(pct, '%'), value: pct }]);
    tr.dataset['side'] = side;
    body.append(tr);
  }
  table.append(body);
  column.append(table);
  const scores = [
    `consolidation ${fixed(scan.consolidationPercentOfLesion, '% of the lesion')}`,
    `zone score ${scan.zoneScore === null ? 'n/a' : `${scan.zoneScore}/24`}`,
    `lobar TSS ${scan.lobarTss === null ? 'n/a' : `${scan.lobarTss}/20`}`,
    `Pan ${scan.pan === null ? 'n/a' : `${scan.pan}/25`}`,
  ];
  column.append(Object.assign(document.createElement('p'), { className: 'muted', textContent: scores.join(' · ') }));
  const html = job.files.find((f) => f.kind === 'report-html');
  if (html) {
    const link = Object.assign(document.createElement('a'), { href: html.url, target: '_blank', textContent: 'full report' });
    link.style.color = '#8cf';
    column.append(link);
  }
  return column;
}

function renderComparison(c: CompareJson): void {
  const { comparison } = c;
  const overall = comparison.overall;
  const verdict = $('compare-verdict');
  verdict.textContent = overall.verdict;
  verdict.dataset['verdict'] = overall.verdict;
  $('compare-reason').textContent = `${overall.from} → ${overall.to}${overall.days === null ? '' : ` (${overall.days} days)`}: ${overall.reason}`;
  $('compare-rule').textContent = `Rule: ${comparison.rule.text}.`;
  const n = c.jobs.length;
  $('compare-columns').replaceChildren(...c.jobs.map((job, k) => comparisonColumn(job, comparison.scans[k]!, k === 0 ? 'earlier' : k === n - 1 ? 'later' : `scan ${k + 1}`)));

  const rows: [string, (side: 'right' | 'left' | 'total') => { from: number | null; to: number | null; change: number | null }, string, string][] = [
    ['% affected', (s) => overall[s].percentAffected, '%', ' points'],
    ['lesion volume', (s) => overall[s].lesionMl, ' mL', ' mL'],
    ['lung volume', (s) => overall[s].lungMl, ' mL', ' mL'],
    ['consolidation, % of lesion', (s) => overall[s].consolidationPercentOfLesion, '%', ' points'],
  ];
  $('compare-changes').querySelector('tbody')!.replaceChildren(...rows.map(([label, pick, unit, changeUnit]) => {
    const tr = headedRow(label);
    cells(tr, (['right', 'left', 'total'] as const).map((side) => {
      const ch = pick(side);
      return { text: `${fixed(ch.from, unit)} → ${fixed(ch.to, unit)} (${signed(ch.change, changeUnit)})`, value: ch.change };
    }));
    return tr;
  }));
  const scoreRows: [string, { from: number | null; to: number | null; change: number | null }][] = [
    ['zone score (0–24)', overall.scores.zone], ['lobar TSS (0–20)', overall.scores.lobarTss], ['Pan (0–25)', overall.scores.pan],
  ];
  $('compare-scores').querySelector('tbody')!.replaceChildren(...scoreRows.map(([label, ch]) => {
    const tr = headedRow(label);
    cells(tr, [fixed(ch.from, '', 0), fixed(ch.to, '', 0), { text: signed(ch.change, '', 0), value: ch.change }]);
    return tr;
  }));
  $('compare-notes').replaceChildren(...c.notes.map((note) => Object.assign(document.createElement('li'), { textContent: note })));
  $<HTMLImageElement>('compare-levels').src = c.pictures.levels;
  $<HTMLImageElement>('compare-trend').src = c.pictures.trend;
}

function setCell(id: string, value: number | null, unit: string): void {
  const cell = $(id);
  cell.dataset['value'] = value === null ? '' : String(value);
  cell.textContent = value === null ? '–' : `${value.toFixed(1)}${unit}`;
}

/** The report numbers, rounded as report.html rounds them (1 decimal); data-value holds report.json's number. */
function renderReport(report: SegmentReport): void {
  for (const side of ['right', 'left', 'total'] as const) {
    setCell(`lung-volume-${side}`, report.lungs[side].volumeMl, ' mL');
    setCell(`lesion-volume-${side}`, report.lesions[side].volumeMl, ' mL');
    setCell(`percent-${side}`, report.lesions[side].percentOfLung, '%');
  }
  // As segment/severity.ts's severityHeadline words it (the page cannot import from outside its folder).
  $('severity-category').textContent = report.severity.category ?? (report.quality.lungCoverage === 'none' ? 'no lungs in view' : 'no grade');
  $('severity-percent').textContent = report.quality.lungCoverage === 'none' ? '' : `${report.severity.percentAffected.toFixed(1)}% of ${report.severity.category ? 'lung' : 'the lung in view'} affected`;
  $('severity-percent').dataset['value'] = String(report.severity.percentAffected);
  $('severity-description').textContent = report.severity.description;
  const note = $('volume-note');
  note.hidden = report.input.spacingKnown;
  note.textContent = report.input.spacingKnown ? '' : 'An image file has no pixel size: volumes are not available, and the percentages are of lung area on this slice.';
  renderClinical(report);
  $('warnings').replaceChildren(...report.warnings.map((w) => Object.assign(document.createElement('li'), { textContent: w })));
  $('models').textContent = `Lung model: ${report.models.lung}. Lesion model: ${report.models.lesion}.${report.models.lobes ? ` Lobe model: ${report.models.lobes}.` : ''}`;
}

type Clinical = NonNullable<SegmentReport['clinical']>;

/** A score's evidence cell when the scan is not assessable. */
const NOT_GRADED = 'not scored: the scan is not graded (the reason is above)';

/** Ground glass vs consolidation of both lungs and the three scores, each total with its evidence, or why it is not given (as report.html words it). */
function renderClinical(report: SegmentReport): void {
  const c: Clinical | undefined = report.clinical;
  const t = c?.total;
  for (const [key, amount] of [['ggo', t?.groundGlass], ['consolidation', t?.consolidation]] as const) {
    setCell(`${key}-ml`, amount?.volumeMl ?? null, ' mL');
    setCell(`${key}-percent`, amount?.percentOfLung ?? null, '%');
    const share = amount && t ? (t.lesion.voxels ? (100 * amount.voxels) / t.lesion.voxels : 0) : null;
    setCell(`${key}-share`, key === 'consolidation' ? (t?.consolidationPercentOfLesion ?? null) : share, '%');
  }
  const note = $('density-note');
  note.textContent = !c ? 'This report has no clinical figures (an older covseg wrote it).' : c.density.available ? `Ground glass below ${c.density.consolidationFrom} HU, consolidation from it (Lung CT Analyzer's bands).` : `Ground glass / consolidation not available: ${c.density.reason}`;
  note.hidden = false;
  for (const key of ['zone', 'lobarTss', 'pan'] as const) {
    const row = document.querySelector<HTMLTableRowElement>(`#score-table tr[data-score=${key}]`)!;
    const s = c?.scores[key];
    const total = row.querySelector<HTMLElement>('.total')!;
    const evidence = row.querySelector<HTMLElement>('.evidence')!;
    total.dataset['value'] = s?.available ? String(s.total) : '';
    total.textContent = s?.available ? `${s.total}/${s.max}` : 'n/a';
    row.title = s?.available ? s.label : '';
    // Not assessable: each score's reason is the grade's, which the severity box already gives.
    evidence.textContent = !s ? '' : !s.available ? (c!.scores.assessable ? s.reason : NOT_GRADED)
      : 'zones' in s ? s.zones.map((z) => `${z.lung} ${z.zone} ${z.percentAffected.toFixed(1)}% → ${z.score}`).join(', ')
        : s.lobes.map((l) => `${l.lobe} ${l.percentAffected.toFixed(1)}% → ${l.score}`).join(', ');
  }
}

function renderDownloads(job: JobJson): void {
  const items = job.files.map((f) => {
    const li = document.createElement('li');
    const a = Object.assign(document.createElement('a'), { href: f.url, textContent: f.name });
    if (f.kind === 'report-html') a.target = '_blank';
    else a.download = f.name;
    li.append(a, ` (${formatBytes(f.bytes)})`);
    return li;
  });
  $('downloads').replaceChildren(...items);
  // A DICOM output (the SEG) can go to the PACS.
  $('pacs-send-row').hidden = pacsServer === null || !job.files.some((f) => f.name.endsWith('.dcm'));
  $('pacs-sent').textContent = '';
}

/** Where each overlay sits in `nv.volumes` (0 is the CT). The lung label map is shown twice, one side each, so each lung has its own opacity. */
const LAYER_INDEX: Record<Layer, number> = { rightLung: 1, leftLung: 2, lesion: 3 };

/** Volume opacity per overlay: NiiVue treats a label colour's alpha as on/off, so opacity must be the volume's. */
function applyLayers(state: ViewerState): void {
  const { nv, layers } = state;
  if (nv.volumes.length !== 4) return;
  for (const layer of Object.keys(LAYER_INDEX) as Layer[]) {
    nv.setOpacity(LAYER_INDEX[layer], layers[layer].on ? layers[layer].opacity : 0);
  }
}

const fileName = (url: string) => decodeURIComponent(url.slice(url.lastIndexOf('/') + 1));

/**
 * A label colour table over values 0…`maxLabel` showing only `label` (in `rgb`); every
 * other value is transparent. It must span every value the map holds: NiiVue paints a
 * value past the table's end in the last entry's colour.
 */
function singleLabel(label: number, maxLabel: number, rgb: readonly number[], name: string) {
  const I = Array.from({ length: maxLabel + 1 }, (_, i) => i);
  const pick = (channel: number) => I.map((i) => (i === label ? rgb[channel]! : 0));
  return { R: pick(0), G: pick(1), B: pick(2), A: I.map((i) => (i === label ? 255 : 0)), I, labels: I.map((i) => (i === label ? name : '')) };
}

/** The lesion-types map's colour table: 0 transparent, 1 ground glass, 2 consolidation. */
function typeLabels(config: WebConfig) {
  const { groundGlass: g, consolidation: c } = config.lesionTypeColors;
  return { R: [0, g[0], c[0]], G: [0, g[1], c[1]], B: [0, g[2], c[2]], A: [0, 255, 255], I: [0, 1, 2], labels: ['', 'ground glass', 'consolidation'] };
}

function swatch(rgb: readonly number[]): HTMLElement {
  const s = Object.assign(document.createElement('span'), { className: 'swatch' });
  s.style.background = rgbCss(rgb);
  return s;
}

async function showVolumes(state: ViewerState, job: JobJson): Promise<void> {
  const { nv, config } = state;
  const url = (kind: string) => job.files.find((f) => f.kind === kind)?.url;
  const ct = url('ct');
  const lungs = url('lungs');
  // HU input: the lesion by type (1 ground glass, 2 consolidation), in two colours; else the 0/1 mask.
  const lesions = url('lesion-types') ?? url('lesions');
  if (!ct || !lungs || !lesions) throw new Error(`job ${job.id} lacks a CT, lung or lesion file to show`);
  const report = job.report!;
  // Lung window (level −600 HU, width 1500) for CT in HU; other images keep NiiVue's robust range.
  const window = report.input.isHu ? { cal_min: -1350, cal_max: 150 } : {};
  await nv.loadVolumes([
    // NiiVue picks its reader from the name's extension, so names stay file names.
    { url: ct, name: fileName(ct), colormap: 'gray', ...window },
    { url: lungs, name: fileName(lungs) },
    { url: lesions, name: fileName(lesions) },
  ]);
  styleOverlays(state, report.input.dims[2] === 1, url('lesion-types') !== undefined);
}

/**
 * Given the CT, the lung label map and the lesion mask as nv.volumes 0–2: the lung map
 * is shown twice (one side each), every overlay gets its label colours and opacity.
 */
function styleOverlays(state: ViewerState, singleSlice: boolean, lesionTypes = false): void {
  const { nv, config } = state;
  const left = nv.volumes[1]!.clone();
  nv.addVolume(left);
  nv.setVolume(left, LAYER_INDEX.leftLung);
  // Loaded, the volumes take the names of what they show (NiiVue's location readout uses them).
  const names = ['CT', 'right lung', 'left lung', 'lesions'];
  nv.volumes.forEach((v, i) => { v.name = names[i]!; });
  // Lung label map: 1 right, 2 left; lesion mask: 0/1.
  nv.volumes[LAYER_INDEX.rightLung]!.setColormapLabel(singleLabel(1, 2, config.colors.rightLung, 'right lung'));
  nv.volumes[LAYER_INDEX.leftLung]!.setColormapLabel(singleLabel(2, 2, config.colors.leftLung, 'left lung'));
  nv.volumes[LAYER_INDEX.lesion]!.setColormapLabel(lesionTypes ? typeLabels(config) : singleLabel(1, 1, config.colors.lesion, 'lesion'));
  // The legend says which colour is which type; the lesion swatch stands for both otherwise.
  const legend = $('lesion-types-legend');
  legend.hidden = !lesionTypes;
  const { groundGlass, consolidation } = config.lesionTypeColors;
  legend.replaceChildren(...(lesionTypes ? [swatch(groundGlass), ' ground glass ', swatch(consolidation), ' consolidation'] : []));
  nv.updateGLVolume();
  applyLayers(state);
  // A single slice has no coronal or sagittal extent to show.
  selectView(state, singleSlice ? 0 : 3);
}

/**
 * Browser mode: NiiVue reads the file from memory, the worker segments it, the label
 * maps become overlays on NiiVue's own image. No request carries the scan anywhere.
 */
async function runInBrowser(state: ViewerState, file: File, force: boolean): Promise<void> {
  const { nv, mod } = state;
  const format = browserFormat(file.name);
  if (!format) throw new Error(`${file.name}: in-browser segmentation reads NIfTI (.nii, .nii.gz), NRRD (.nrrd) and PNG/JPEG slices; choose "on the covseg service" for DICOM, zip and MetaImage files`);
  setState('running');
  setProgress(0, `Reading ${file.name} in this browser`);
  const started = performance.now();
  // A blob: URL is read in-process; NiiVue picks its reader from the name's extension.
  const url = URL.createObjectURL(file);
  try {
    await nv.loadVolumes([{ url, name: file.name, colormap: 'gray' }]);
  } finally {
    URL.revokeObjectURL(url);
  }
  const ct = nv.volumes[0]!;
  const isImageFile = format === 'png' || format === 'jpeg';
  if (isImageFile) ct.setAffine(IMAGE_FILE_RAS_AFFINE);
  const input = isImageFile ? await rasterInput(file, format) : niivueInput(ct, file.name, format);
  const slices = { lungs: 0, lesions: 0 };
  const done = await state.segmenter.segment(input, force, (p) => {
    if (p.stage === 'lungs' || p.stage === 'lesions') slices[p.stage] = p.total;
    setProgress(...describeProgress(p, file.name));
  });
  const report = done.report;
  const ms = performance.now() - started;
  state.browserRun = { inputName: file.name, report, ms, slices };
  renderReport(report);
  renderBrowserDownloads(report, file.name);
  showGrey(ct as NVImage, done.grey);
  if (report.input.isHu) {
    // The lung window, as the service mode loads the CT with.
    ct.cal_min = -1350;
    ct.cal_max = 150;
  }
  nv.addVolume(labelOverlay(mod, ct as NVImage, done.lungs, 'lungs'));
  // HU input: the lesion by type (1 ground glass, 2 consolidation), in two colours, as the service mode shows a job's lesion-types.nii.gz.
  nv.addVolume(labelOverlay(mod, ct as NVImage, done.lesionTypes ?? done.lesions, 'lesions'));
  styleOverlays(state, report.input.dims[2] === 1, done.lesionTypes !== undefined);
  setProgress(1, `Done in ${(ms / 1000).toFixed(1)} s in this browser: ${file.name}`);
  setState('viewer-ready');
}

/** Browser mode makes no files; the report can still be saved, from memory. */
function renderBrowserDownloads(report: SegmentReport, inputName: string): void {
  const blob = new Blob([JSON.stringify(report, null, 2) + '\n'], { type: 'application/json' });
  const a = Object.assign(document.createElement('a'), { href: URL.createObjectURL(blob), textContent: 'report.json', download: 'report.json' });
  const li = document.createElement('li');
  li.append(a, ` (${formatBytes(blob.size)}, made in this browser for ${inputName}; the masks are shown, not saved)`);
  $('downloads').replaceChildren(li);
}

/** Switches where the models run; the badge says which mode is in use. */
function setMode(state: ViewerState, mode: RunMode): void {
  state.mode = mode;
  document.body.dataset['mode'] = mode;
  $('mode').textContent = mode === 'browser' ? BROWSER_MODE_TEXT : state.config.modeText;
  $('formats').textContent = mode === 'browser'
    ? 'NIfTI (.nii, .nii.gz), NRRD, a PNG/JPEG slice: read and segmented in this browser, nothing is uploaded'
    : 'NIfTI (.nii, .nii.gz), NRRD, MetaImage, a DICOM file or a .zip of one DICOM series, a PNG/JPEG slice';
  updateSampleButton(state, false);
}

/** The sample cases run on the service, so their button sleeps in browser mode (and while a scan runs). */
function updateSampleButton(state: ViewerState, busy: boolean): void {
  $<HTMLButtonElement>('sample').disabled = busy || state.mode === 'browser' || $<HTMLSelectElement>('sample-name').options.length === 0;
  $<HTMLButtonElement>('pacs-run').disabled = busy || state.mode === 'browser' || $<HTMLSelectElement>('pacs-study').options.length === 0;
}

function selectView(state: ViewerState, sliceType: number): void {
  state.nv.setSliceType(sliceType);
  document.querySelectorAll<HTMLElement>('[data-slice-type]').forEach((b) => b.classList.toggle('active', Number(b.dataset['sliceType']) === sliceType));
}

function bindControls(state: ViewerState): void {
  bindViewerControls(state);
  const runner = oneJobAtATime(state);
  bindUpload(state, runner);
  $<HTMLButtonElement>('compare').addEventListener('click', () => {
    void runner.run(() => openComparison(checkedJobs(), $<HTMLInputElement>('compare-force').checked));
  });
  $<HTMLButtonElement>('compare-close').addEventListener('click', () => closeComparison(state));
  bindSampleAndPacs(state, runner);
}

/** The view buttons and each layer's toggle and opacity. */
function bindViewerControls(state: ViewerState): void {
  for (const button of document.querySelectorAll<HTMLButtonElement>('[data-slice-type]')) {
    button.addEventListener('click', () => selectView(state, Number(button.dataset['sliceType'])));
  }
  for (const row of document.querySelectorAll<HTMLElement>('.layer')) {
    const layer = row.dataset['layer'] as Layer;
    const toggle = row.querySelector<HTMLInputElement>('input[type=checkbox]')!;
    const slider = row.querySelector<HTMLInputElement>('input[type=range]')!;
    row.querySelector<HTMLElement>('.swatch')!.style.background = rgbCss(state.config.colors[layer]);
    state.layers[layer] = { on: toggle.checked, opacity: Number(slider.value) / 100 };
    toggle.addEventListener('change', () => { state.layers[layer].on = toggle.checked; applyLayers(state); });
    slider.addEventListener('input', () => { state.layers[layer].opacity = Number(slider.value) / 100; applyLayers(state); });
  }
}

interface JobRunner {
  /** Runs `work` unless a job is already running; its error is shown on the page. */
  run: (work: () => Promise<void>) => Promise<void>;
  busy: () => boolean;
}

/** One job at a time per page: a second drop while one runs would interleave two viewers' loads. The inputs are disabled meanwhile. */
function oneJobAtATime(state: ViewerState): JobRunner {
  const input = $<HTMLInputElement>('file');
  const modeInputs = [...document.querySelectorAll<HTMLInputElement>('input[name=run-mode]')];
  for (const m of modeInputs) m.addEventListener('change', () => { if (m.checked) setMode(state, m.value as RunMode); });
  let busy = false;
  const run = async (work: () => Promise<void>) => {
    if (busy) return;
    busy = true;
    input.disabled = true;
    for (const m of modeInputs) m.disabled = true;
    updateSampleButton(state, true);
    showError(undefined);
    try {
      await work();
    } catch (err) {
      showError((err as Error).message);
    } finally {
      busy = false;
      input.disabled = false;
      for (const m of modeInputs) m.disabled = m.value === 'browser' && !state.config.browserMode.available;
      updateSampleButton(state, false);
    }
  };
  return { run, busy: () => busy };
}

const forceChecked = () => $<HTMLInputElement>('force').checked;

/** A file chosen, or dropped anywhere on the page: segmented here (browser mode) or uploaded as a job. */
function bindUpload(state: ViewerState, { run, busy }: JobRunner): void {
  const input = $<HTMLInputElement>('file');
  const uploadOne = (files: FileList | null | undefined) => {
    if (!files || files.length === 0 || busy()) return;
    if (files.length > 1) {
      showError(`${files.length} files were dropped: drop one file, or zip the DICOM series folder and drop the .zip`);
      return;
    }
    const file = files[0]!;
    if (state.mode === 'browser') {
      void run(() => runInBrowser(state, file, forceChecked()));
      return;
    }
    if (file.size > state.config.maxUploadBytes) {
      showError(`${file.name} is ${formatBytes(file.size)}, over this service's upload limit of ${formatBytes(state.config.maxUploadBytes)}`);
      return;
    }
    setState('uploading');
    void run(async () => followJob(state, await uploadFile(file, forceChecked())));
  };

  const drop = $('drop');
  drop.addEventListener('click', (e) => { if (e.target === drop) input.click(); });
  drop.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') input.click(); });
  input.addEventListener('change', () => { uploadOne(input.files); input.value = ''; });
  // A file dropped anywhere on the page is taken (rather than the browser navigating to it); drops on the zone bubble here.
  window.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  window.addEventListener('dragleave', () => drop.classList.remove('over'));
  window.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    uploadOne(e.dataTransfer?.files);
  });
}

/** The sample button, and the PACS row: run a study, send a job's results back. */
function bindSampleAndPacs(state: ViewerState, { run, busy }: JobRunner): void {
  const sampleSelect = $<HTMLSelectElement>('sample-name');
  $<HTMLButtonElement>('sample').addEventListener('click', () => {
    if (busy()) return;
    setState('uploading');
    setProgress(UPLOAD_SHARE, `Starting sample ${sampleSelect.value}`);
    void run(async () => followJob(state, await apiJson<JobJson>('/api/samples/jobs', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: sampleSelect.value, force: forceChecked() }),
    })));
  });

  const studySelect = $<HTMLSelectElement>('pacs-study');
  $<HTMLButtonElement>('pacs-run').addEventListener('click', () => {
    if (busy()) return;
    setState('uploading');
    setProgress(UPLOAD_SHARE / 2, `Fetching study ${studySelect.value} from ${pacsServer}`);
    void run(async () => followJob(state, await apiJson<JobJson>('/api/dicomweb/jobs', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ study: studySelect.value, force: forceChecked() }),
    })));
  });
  $<HTMLButtonElement>('pacs-send').addEventListener('click', () => {
    const job = state.job;
    if (!job) return;
    const button = $<HTMLButtonElement>('pacs-send');
    button.disabled = true;
    $('pacs-sent').textContent = 'sending…';
    apiJson<{ server: string; stored: string[] }>(`${job.url}/dicomweb`, { method: 'POST' }).then(
      (r) => { $('pacs-sent').textContent = `stored ${r.stored.join(', ')} in ${r.server}`; },
      (err: Error) => { $('pacs-sent').textContent = ''; showError(err.message); },
    ).finally(() => { button.disabled = false; });
  });
}

/** The configured PACS's studies (GET /api/dicomweb/studies); the row stays hidden without one. */
async function loadStudies(): Promise<void> {
  const { server, studies } = await apiJson<{ server: string | null; studies: { studyInstanceUid: string; patientId?: string; patientName?: string; studyDate?: string; description?: string; modalities: string[] }[] }>('/api/dicomweb/studies');
  pacsServer = server;
  const label = (s: (typeof studies)[number]) => [s.patientName ?? s.patientId, s.studyDate, s.description, s.modalities.join('/')].filter(Boolean).join(' · ') || s.studyInstanceUid;
  $<HTMLSelectElement>('pacs-study').replaceChildren(...studies.map((s) => Object.assign(document.createElement('option'), { value: s.studyInstanceUid, textContent: label(s), title: s.studyInstanceUid })));
  $('pacs-row').hidden = server === null;
}

async function loadSamples(): Promise<void> {
  const { samples, default: chosen } = await apiJson<{ samples: { name: string; format: string; bytes: number }[]; default: string | null }>('/api/samples');
  const select = $<HTMLSelectElement>('sample-name');
  select.replaceChildren(...samples.map((s) => Object.assign(document.createElement('option'), { value: s.name, textContent: `${s.name} (${s.format})`, selected: s.name === chosen })));
  select.hidden = samples.length === 0;
}

async function main(): Promise<void> {
  const config = await apiJson<WebConfig>('/api/config');
  $('mode').textContent = config.modeText;
  const mod = (await import(NIIVUE_URL)) as NiivueModule;
  const nv = new mod.Niivue({
    backColor: [0, 0, 0, 1],
    show3Dcrosshair: true,
    isOrientationTextVisible: true,
    isRadiologicalConvention: true,
    multiplanarShowRender: mod.SHOW_RENDER.ALWAYS,
    // 2×2: axial, coronal, sagittal and the 3D render, whatever the canvas's aspect.
    multiplanarLayout: mod.MULTIPLANAR_TYPE.GRID,
    dragAndDropEnabled: false,
    loadingText: 'drop a CT on the left, or run the sample case',
  });
  await nv.attachToCanvas($<HTMLCanvasElement>('gl'));
  nv.setSliceType(nv.sliceTypeMultiplanar);
  nv.onLocationChange = (location) => {
    const text = (location as { string?: string }).string;
    if (text) $('location').textContent = text;
  };
  const state: ViewerState = {
    nv, mod, config, layers: { rightLung: { on: true, opacity: 0.4 }, leftLung: { on: true, opacity: 0.4 }, lesion: { on: true, opacity: 0.8 } },
    mode: 'service', segmenter: new BrowserSegmenter(config.browserMode),
  };
  window.covseg = state;
  const browserChoice = document.querySelector<HTMLInputElement>('input[name=run-mode][value=browser]')!;
  browserChoice.disabled = !config.browserMode.available;
  if (config.browserMode.reason) browserChoice.parentElement!.title = config.browserMode.reason;
  bindControls(state);
  await loadSamples();
  // A PACS that does not answer must not keep the page from starting: say so, go on.
  await loadStudies().catch((err: Error) => showError(`the PACS studies could not be listed: ${err.message}`));
  renderCompareList(rememberedJobs());
  await pruneRemembered();
  setMode(state, document.querySelector<HTMLInputElement>('input[name=run-mode]:checked')?.value === 'browser' && config.browserMode.available ? 'browser' : 'service');
  setState('ready');
  const params = new URLSearchParams(location.search);
  const compare = params.get('compare');
  if (compare) {
    const force = params.get('force');
    await openComparison(compare.split(',').filter(Boolean), force === '1' || force === 'true').catch((err: Error) => showError(`the comparison could not be shown: ${err.message}`));
  }
}

main().catch((err: Error) => {
  showError(`the page could not start: ${err.message}`);
});
