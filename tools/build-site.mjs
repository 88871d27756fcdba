// Builds dist/ from www/ and wasm-pack's pkg/ (called by `./build.sh build`):
//   dist/index.html, app.js, style.css, pkg/   the static site (the page fetches pkg/convscope_bg.wasm,
//                                              or pkg/convscope_relaxed_bg.wasm where relaxed SIMD validates)
//   dist/convscope.html                        one self-contained file that works from file://:
//                                              both wasm builds gzipped as base64, glue, app and CSS inlined.
// Both pages run the same app code: it takes the wasm bytes from the embedded base64 block
// when there is one, and fetches them otherwise (www/js/wasm.js). Each page carries a
// Content-Security-Policy that allows no other origin.

import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const www = path.join(root, 'www');
const pkg = path.join(root, 'pkg');
const dist = path.join(root, 'dist');
const GLUE = 'convscope.js';
const WASM = 'convscope_bg.wasm';
// The relaxed-SIMD build of the same crate (./build.sh build puts it beside the plain one).
const WASM_RELAXED = 'convscope_relaxed_bg.wasm';

function fail(message) {
  console.error(`build-site: ${message}`);
  process.exit(1);
}

for (const f of [GLUE, WASM, WASM_RELAXED]) {
  if (!fs.existsSync(path.join(pkg, f))) fail(`pkg/${f} is missing; run ./build.sh build.`);
}

const glue = fs.readFileSync(path.join(pkg, GLUE), 'utf8');
const wasm = fs.readFileSync(path.join(pkg, WASM));
const wasmRelaxed = fs.readFileSync(path.join(pkg, WASM_RELAXED));
// The chart library's own stylesheet comes first, so that ours can adjust it.
// Then style.css, then every other sheet of www/css/ in name order (a section's own sheet).
const sheets = ['style.css', ...fs.readdirSync(path.join(www, 'css')).filter((f) => f.endsWith('.css') && f !== 'style.css').sort()];
const css = [fs.readFileSync(path.join(root, 'node_modules', 'uplot', 'dist', 'uPlot.min.css'), 'utf8'), ...sheets.map((f) => fs.readFileSync(path.join(www, 'css', f), 'utf8'))].join('\n');
const template = fs.readFileSync(path.join(www, 'index.html'), 'utf8');

// One script with its imports, as a classic script's text. Minified: the single file carries
// two wasm builds and must stay under 2 MB (issue 6).
async function bundle(entry, define = {}) {
  const result = await build({
    entryPoints: [path.join(www, 'js', ...entry)],
    bundle: true,
    format: 'iife',
    target: 'chrome110',
    write: false,
    legalComments: 'none',
    minify: true,
    define,
    logLevel: 'warning',
  });
  return result.outputFiles[0].text;
}

// The training worker with its imports, inlined into the app as a string (see
// www/js/train/client.js: it runs after the wasm-bindgen glue, as a classic script).
const workerSource = await bundle(['train', 'worker.js']);
const app = await bundle(['main.js'], { __CONVSCOPE_WORKER_SOURCE__: JSON.stringify(workerSource) });

// Inline text must not be able to end its element early (or start an HTML comment state).
function assertInlinable(name, text, closing) {
  const lower = text.toLowerCase();
  if (lower.includes(closing)) fail(`${name} contains "${closing}" and cannot be inlined`);
  if (closing === '</script' && lower.includes('<!--')) fail(`${name} contains "<!--" and cannot be inlined in a script element`);
}
assertInlinable('pkg/convscope.js', glue, '</script');
assertInlinable('the app bundle', app, '</script');
assertInlinable('style.css', css, '</style');

const sha256 = (text) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
const csp = (directives) => `<meta http-equiv="Content-Security-Policy" content="${directives.join('; ')}">`;
const COMMON = ["default-src 'none'", "base-uri 'none'", "form-action 'none'", "object-src 'none'"];

function page({ policy, style, scripts }) {
  const parts = { '<!--CSP-->': csp(policy), '<!--STYLE-->': style, '<!--SCRIPTS-->': scripts };
  let html = template;
  for (const [marker, value] of Object.entries(parts)) {
    if (!html.includes(marker)) fail(`www/index.html has no ${marker} marker`);
    html = html.replace(marker, () => value);
  }
  return html;
}

fs.rmSync(dist, { recursive: true, force: true });
fs.mkdirSync(path.join(dist, 'pkg'), { recursive: true });

// The served site: everything from this origin.
fs.writeFileSync(path.join(dist, 'app.js'), app);
fs.writeFileSync(path.join(dist, 'style.css'), css);
fs.writeFileSync(path.join(dist, 'pkg', GLUE), glue);
fs.writeFileSync(path.join(dist, 'pkg', WASM), wasm);
fs.writeFileSync(path.join(dist, 'pkg', WASM_RELAXED), wasmRelaxed);
fs.writeFileSync(
  path.join(dist, 'index.html'),
  page({
    policy: [...COMMON, "script-src 'self' 'wasm-unsafe-eval'", "style-src 'self'", "img-src 'self' data: blob:", "connect-src 'self'", "worker-src 'self' blob:"],
    style: '<link rel="stylesheet" href="style.css">',
    scripts: `<script src="pkg/${GLUE}"></script>\n<script src="app.js"></script>`,
  }),
);

// The single file: inline scripts are allowed by their hashes only. The glue script keeps an
// id so that a Blob-URL worker can be started later from its text.
// Gzipped first: two builds as plain base64 would weigh 2.7x one wasm; the page inflates
// them with DecompressionStream.
const embed = (id, bytes) =>
  `<script id="${id}" type="application/octet-stream" data-encoding="gzip">${zlib.gzipSync(bytes, { level: 9 }).toString('base64')}</script>`;
fs.writeFileSync(
  path.join(dist, 'convscope.html'),
  page({
    policy: [...COMMON, `script-src ${sha256(glue)} ${sha256(app)} 'wasm-unsafe-eval'`, "style-src 'unsafe-inline'", 'img-src data: blob:', 'worker-src blob:'],
    style: `<style>\n${css}</style>`,
    scripts: [
      embed('convscope-wasm', wasm),
      embed('convscope-wasm-relaxed', wasmRelaxed),
      `<script id="convscope-glue">${glue}</script>`,
      `<script>${app}</script>`,
    ].join('\n'),
  }),
);

// The served site offers the converted ImageNet network (tools/imagenet/fetch_and_convert.py)
// for the page to fetch on demand; the single file cannot carry its 19 MB, and asks for it.
const IMAGENET = path.join(root, 'build', 'imagenet', 'efficientnet-lite0.safetensors');
if (fs.existsSync(IMAGENET)) {
  fs.mkdirSync(path.join(dist, 'models'), { recursive: true });
  fs.copyFileSync(IMAGENET, path.join(dist, 'models', 'efficientnet-lite0.safetensors'));
} else console.warn('build-site: no build/imagenet/efficientnet-lite0.safetensors: the served page cannot offer the ImageNet network (python3 tools/imagenet/fetch_and_convert.py makes it)');

const kb = (n) => `${Math.round(n / 1024)} KB`;
console.log(`build-site: dist/index.html (+ app.js ${kb(app.length)}, wasm ${kb(wasm.length)}, relaxed-SIMD wasm ${kb(wasmRelaxed.length)}), dist/convscope.html ${kb(fs.statSync(path.join(dist, 'convscope.html')).size)}`);
