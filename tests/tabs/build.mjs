// Bundles what the test pages load into build/: tabs.js (page.mjs with clients/js/dist and the
// SDK) and worker.js (clients/js's SharedWorker entry with the SDK), as an app's bundler would.
// The SDK is resolved from clients/js/node_modules, so both bundles hold the same copy.
import { build } from 'esbuild';

const common = { bundle: true, format: 'esm', target: 'es2020', platform: 'browser', logLevel: 'warning' };
await build({ ...common, entryPoints: ['page.mjs'], outfile: 'build/tabs.js' });
await build({ ...common, entryPoints: ['../../clients/js/dist/worker.js'], outfile: 'build/worker.js' });
console.log('built build/tabs.js and build/worker.js');
