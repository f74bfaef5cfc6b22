// Build the dashboard's vendored assets: one minified IIFE (global `d3`) with only the d3 functions
// in d3-subset.js, plus the licence of every package bundled into it. Output is committed under
// ../static/vendor so that neither users nor tests need npm or the network at run time.
import {build} from "esbuild";
import {copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync} from "node:fs";
import {dirname, join} from "node:path";
import {fileURLToPath} from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "static", "vendor");
rmSync(join(out, "licenses"), {recursive: true, force: true}); // no stale licences
mkdirSync(join(out, "licenses"), {recursive: true});

const result = await build({
  entryPoints: [join(here, "d3-subset.js")],
  bundle: true, minify: true, format: "iife", globalName: "d3",
  outfile: join(out, "d3.min.js"), metafile: true, legalComments: "none", target: "es2019",
});

// Every package that contributed code to the bundle ships its licence next to it.
const packages = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (m) packages.add(m[1]);
}
const lines = [];
for (const name of [...packages].sort()) {
  const dir = join(here, "node_modules", name);
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  copyFileSync(join(dir, "LICENSE"), join(out, "licenses", `${name.replace("/", "__")}.LICENSE`));
  lines.push(`${name} ${pkg.version} (${pkg.license})`);
}
writeFileSync(join(out, "VENDORED.txt"),
  "Built by src/idpkit/dashboard/web/build.mjs (make dashboard-assets); do not edit.\n" +
  "d3.min.js bundles:\n" + lines.map((l) => `  ${l}\n`).join(""));
console.log(`d3.min.js: ${packages.size} packages, licences in vendor/licenses`);
