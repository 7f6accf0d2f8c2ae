// Builds the package (dist/: ESM with centrifuge left as an import, and .d.ts from tsc), or with
// --size prints what it adds to an app: each entry bundled and minified as an app's bundler
// would (centrifuge excluded: the app has it anyway), raw and gzipped.
//   npm run build      npm run size
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const common = {
  bundle: true,
  format: 'esm',
  target: 'es2020',
  platform: 'browser',
  external: ['centrifuge'],
  logLevel: 'warning',
};
const entries = { index: 'src/index.ts', worker: 'src/worker.ts' };

if (process.argv.includes('--size')) {
  for (const [name, entry] of Object.entries(entries)) {
    const out = await build({ ...common, entryPoints: [entry], minify: true, write: false });
    const code = out.outputFiles[0].contents;
    const gz = gzipSync(code, { level: 9 });
    console.log(`${name}: ${code.length} bytes minified, ${gz.length} bytes gzipped (without centrifuge)`);
  }
} else {
  rmSync('dist', { recursive: true, force: true });
  await build({ ...common, entryPoints: entries, outdir: 'dist', sourcemap: true });
  execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
  console.log('built dist/index.js, dist/worker.js and their .d.ts');
}
