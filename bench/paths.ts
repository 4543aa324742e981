/** The project root, for benchmarks that read bundled files (benchmarks run from dist/bench/). */
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

export const PROJECT_ROOT_DIR = resolve(fileURLToPath(new URL('../../', import.meta.url)));
