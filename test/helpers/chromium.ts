/** Debian's chromium for the end-to-end page tests (playwright-core drives it headless). */
import { existsSync } from 'node:fs';

export const CHROMIUM = '/usr/bin/chromium';

/** The flags measured to work headless on these machines (docs/measured-stack.md): software WebGL for NiiVue, no network chatter. */
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
  '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** `skip` value for tests that need chromium: false when it is installed, else how to install it. */
export function needsChromium(): false | string {
  return existsSync(CHROMIUM) ? false : `needs Debian's chromium at ${CHROMIUM} (apt-get install chromium; scripts/setup.sh installs it in CI)`;
}
