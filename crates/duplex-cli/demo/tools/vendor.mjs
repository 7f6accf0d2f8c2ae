// Regenerates ../vendor/ (what the demo pages load) from the pinned packages in node_modules here
// and from the repository's clients/js (@duplex/shared-centrifuge), which it builds first:
//   cd crates/duplex-cli/demo/tools && npm ci && node vendor.mjs
// With --check it writes nothing into vendor/: it builds into a temporary folder and fails,
// naming the files, if vendor/ differs (tests/demo/setup.sh runs this, so a change to clients/js
// that the demo's copy lacks is caught).
// The files are copied as the packages ship them (not minified) so that a reader can open them;
// only the SharedWorker script is bundled, because import maps do not apply inside workers.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const vendored = join(here, '..', 'vendor');
const check = process.argv.includes('--check');
const vendor = check ? mkdtempSync(join(tmpdir(), 'duplex-demo-vendor-')) : vendored;
const FILES = ['centrifuge.js', 'uPlot.esm.js', 'uPlot.min.css', 'shared-centrifuge.js', 'shared-centrifuge-worker.js'];
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
// (--check leaves clients/js's node_modules as they are, when there are any.)
let installed = false;
try { installed = check && readFileSync(join(clientJs, 'node_modules', '.package-lock.json')).length > 0; } catch {}
if (!installed) execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: clientJs, stdio: 'inherit' });
execFileSync('npm', ['run', '--silent', 'build'], { cwd: clientJs, stdio: check ? 'ignore' : 'inherit' });
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

if (check) {
  const stale = FILES.filter((name) => {
    try {
      return !readFileSync(join(vendor, name)).equals(readFileSync(join(vendored, name)));
    } catch {
      return true;
    }
  });
  rmSync(vendor, { recursive: true, force: true });
  if (stale.length) {
    console.error(`crates/duplex-cli/demo/vendor/ is stale (${stale.join(', ')}): run \`node vendor.mjs\` in crates/duplex-cli/demo/tools and commit the result`);
    process.exit(1);
  }
  console.log(`vendor/ is current: ${FILES.join(', ')}`);
} else {
  console.log(`vendor/: ${FILES.join(', ')}`);
}
