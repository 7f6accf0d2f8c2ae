// Regenerates ../vendor/ (what the demo pages load) from the pinned packages in node_modules here
// and from the repository's clients/js (@duplex/shared-centrifuge), which it builds first:
//   cd crates/duplex-cli/demo/tools && npm ci && node vendor.mjs
// The files are copied as the packages ship them (not minified) so that a reader can open them;
// only the SharedWorker script is bundled, because import maps do not apply inside workers.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const vendor = join(here, '..', 'vendor');
const modules = join(here, 'node_modules');
const clientJs = join(here, '..', '..', '..', '..', 'clients', 'js');
const sdk = join(modules, 'centrifuge', 'build', 'index.mjs');

mkdirSync(vendor, { recursive: true });

// The centrifuge SDK's own ESM build (its `events` dependency is already inlined).
copyFileSync(sdk, join(vendor, 'centrifuge.js'));

// uPlot's ESM build and its stylesheet.
copyFileSync(join(modules, 'uplot', 'dist', 'uPlot.esm.js'), join(vendor, 'uPlot.esm.js'));
copyFileSync(join(modules, 'uplot', 'dist', 'uPlot.min.css'), join(vendor, 'uPlot.min.css'));

// @duplex/shared-centrifuge, built by its own script (dist/index.js imports 'centrifuge', which
// the pages' import map resolves to vendor/centrifuge.js).
execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: clientJs, stdio: 'inherit' });
execFileSync('npm', ['run', 'build'], { cwd: clientJs, stdio: 'inherit' });
const index = readFileSync(join(clientJs, 'dist', 'index.js'), 'utf8')
  .replace(/\n\/\/# sourceMappingURL=.*\n?$/, '\n'); // the map is not vendored
writeFileSync(join(vendor, 'shared-centrifuge.js'), index);

// Its SharedWorker entry, bundled with the same SDK file as the pages load.
await build({
  entryPoints: [join(clientJs, 'dist', 'worker.js')],
  outfile: join(vendor, 'shared-centrifuge-worker.js'),
  bundle: true,
  format: 'esm',
  target: 'es2020',
  platform: 'browser',
  logLevel: 'warning',
  plugins: [{
    name: 'centrifuge-from-tools',
    setup(b) {
      b.onResolve({ filter: /^centrifuge$/ }, () => ({ path: sdk }));
    },
  }],
});

console.log('vendor/: centrifuge.js, uPlot.esm.js, uPlot.min.css, shared-centrifuge.js, shared-centrifuge-worker.js');
