/**
 * The layering of src/, checked by `npm test` (dependency-cruiser; docs/design.md tells the
 * story). Each stage is a folder and imports only from the stages before it in STAGES,
 * type-only imports included: a stage can be read, tested and changed knowing only what
 * comes before it. No import cycles, not even inside a folder. The segmentation core and
 * the browser's code import no Node built-in (the browser bundle, built by esbuild for
 * the browser platform, checks what they reach).
 *
 * A new folder under src/ gets a place in STAGES; an import the rules refuse is either a
 * stage in the wrong place or code in the wrong stage.
 */

/** The pipeline's stages in the order of the story (README "Layout", docs/design.md). */
const STAGES = ['util', 'volume', 'io', 'figures', 'nn', 'datasets', 'preprocess', 'database', 'infer', 'metrics', 'train', 'lungs', 'eval', 'clinical', 'segment', 'dicomweb', 'batch', 'web', 'cli'];

const stageRules = STAGES.slice(0, -1).map((stage, i) => ({
  name: `stage-order-${stage}`,
  comment: `src/${stage}/ imports only from ${STAGES.slice(0, i).join(', ') || 'no other stage'} (earlier stages)`,
  severity: 'error',
  from: { path: `^src/${stage}/` },
  to: { path: `^src/(${STAGES.slice(i + 1).join('|')})/` },
}));

module.exports = {
  forbidden: [
    ...stageRules,
    {
      name: 'stage-unknown',
      comment: 'every folder under src/ is a stage with a place in STAGES (.dependency-cruiser.cjs)',
      severity: 'error',
      from: { path: '^src/', pathNot: `^src/(${STAGES.join('|')})/` },
      to: {},
    },
    {
      name: 'no-circular',
      comment: 'no module reaches itself through its imports',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'browser-node-free',
      comment: "the segmentation core and the browser's code run in a Web Worker too: no Node built-ins",
      severity: 'error',
      from: { path: ['^src/segment/pipeline\\.ts$', '^src/web/browser/'] },
      to: { dependencyTypes: ['core'] },
    },
  ],
  options: {
    // typescript 7 has no compiler API for dependency-cruiser to parse with; swc parses TypeScript.
    parser: 'swc',
    // Type-only imports count: a type from a later stage is as much a dependency as a value.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
  },
};
