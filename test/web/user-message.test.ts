/** Pipeline messages in the web's terms: the uploaded file's name, force=1 and the page's checkbox for --force. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FORCE_CHECKBOX_LABEL, namedAsUploaded, webForceHint } from '../../src/web/user-message.js';
import { segmentInBrowser } from '../../src/web/browser/segment-in-browser.js';
import type { Mat3, Vec3 } from '../../src/volume/volume.js';
import { PROJECT_ROOT } from '../helpers/shared-data.js';

test('webForceHint: a service job says force=1 and the checkbox; the browser mode, the checkbox', async () => {
  const tiny = { data: new Int16Array(16 * 16).fill(-1000), dims: [16, 16, 1] as Vec3, spacingMm: [1, 1, 1] as Vec3, origin: [0, 0, 0] as Vec3, direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] as Mat3 };
  const err = await segmentInBrowser(tiny, { format: 'nifti', path: 'tiny.nii', warnings: [] }, async () => { throw new Error('not reached'); }).catch((e: Error) => e);
  assert.ok(err instanceof Error);
  assert.equal(webForceHint(err.message, 'browser'), "tiny.nii: the image is only 16×16 pixels, too small for a CT slice; tick 'segment even if the input checks fail' and run it again to segment it anyway");
  assert.equal(webForceHint(err.message, 'service'), "tiny.nii: the image is only 16×16 pixels, too small for a CT slice; upload it again with force=1 (on the page: tick 'segment even if the input checks fail') to segment it anyway");
  assert.equal(webForceHint('no hint here', 'service'), 'no hint here');
});

test('the checkbox the messages name is the page\'s', async () => {
  const html = await readFile(join(PROJECT_ROOT, 'src/web/page/index.html'), 'utf8');
  assert.ok(html.includes(`<input type="checkbox" id="force"> ${FORCE_CHECKBOX_LABEL}</label>`), FORCE_CHECKBOX_LABEL);
});

test('namedAsUploaded: every mention of the server\'s path becomes the user\'s file name', () => {
  assert.equal(namedAsUploaded('/w/j1/input: cannot read /w/j1/input/IM1', '/w/j1/input', 'series.zip'), 'series.zip: cannot read series.zip/IM1');
});
