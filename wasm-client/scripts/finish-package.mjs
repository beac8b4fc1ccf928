// Finishes the npm package that `wasm-pack build wasm-client --release --target web`
// wrote to wasm-client/pkg:
//   - re-exports the `ValvError` class (defined in a wasm-bindgen snippet) from the
//     package entry, so `import { ValvError } from "valv-client"` works;
//   - drops the Rust examples from the models' doc comments (the declarations are made from
//     valv-psd2's Rust types, whose docs carry doctests) and Rust link brackets;
//   - minifies the generated JavaScript (esbuild from PATH; the docs are in the `.d.ts`);
//   - completes package.json (`exports`, `files`, `sideEffects`, `types`, …);
//   - copies the package to www/pkg/ for the demo app (`--www`).
// Usage: node wasm-client/scripts/finish-package.mjs [--www]
import { readFileSync, writeFileSync, existsSync, rmSync, cpSync, readdirSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const crate = join(dirname(fileURLToPath(import.meta.url)), "..");
const pkg = join(crate, "pkg");
const entry = join(pkg, "valv_client.js");
const types = join(pkg, "valv_client.d.ts");

function fail(message) {
  console.error(`finish-package: ${message}`);
  process.exit(1);
}

if (!existsSync(entry)) fail(`${entry} is missing: run wasm-pack build wasm-client --release --target web first`);

// 1. ValvError re-export.
let js = readFileSync(entry, "utf8");
const snippet = js.match(/from ['"](\.\/snippets\/[^'"]+\/js\/valv\.js)['"]/);
if (!snippet) fail("the valv.js snippet import was not found in valv_client.js");
const reexport = `export { ValvError } from '${snippet[1]}';\n`;
if (!js.includes(reexport)) {
  js = js.replace(/(\n)?$/, `\n${reexport}`);
  writeFileSync(entry, js);
}
let dts = readFileSync(types, "utf8");
if (!dts.includes("export class ValvError extends Error")) fail("valv_client.d.ts lacks the ValvError declaration");

// 2. Rust examples and link brackets out of the doc comments.
const kept = [];
let inExample = false;
for (const line of dts.split("\n")) {
  if (/^\s*\* ```/.test(line)) {
    inExample = !inExample;
    continue;
  }
  if (!inExample) kept.push(line.replace(/\[`([^`\]]+)`\](\([^)]*\))?/g, "`$1`"));
}
if (inExample) fail("valv_client.d.ts has a doc example that does not end");
const cleaned = kept.join("\n").replace(/(\n\s*\*)+\n(\s*\*\/)/g, "\n$2");
if (cleaned !== dts) {
  dts = cleaned;
  writeFileSync(types, dts);
}

// 3. The glue and the snippets minified, in place.
const scripts = [entry];
const snippetDir = join(pkg, "snippets");
for (const d of readdirSync(snippetDir, { recursive: true })) if (String(d).endsWith(".js")) scripts.push(join(snippetDir, String(d)));
for (const file of scripts) {
  const before = readFileSync(file, "utf8");
  if (before.startsWith("// minified by finish-package\n")) continue;
  try {
    const out = execFileSync("esbuild", [file, "--minify", "--format=esm", "--log-level=error"], { encoding: "utf8" });
    writeFileSync(file, `// minified by finish-package\n${out}`);
  } catch (e) {
    fail(`esbuild could not minify ${file}: ${e.message} (is esbuild on PATH? cargo xtask wasm installs it)`);
  }
}

// 4. package.json.
const manifestPath = join(pkg, "package.json");
const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
const files = new Set(manifest.files ?? []);
for (const f of ["valv_client_bg.wasm", "valv_client_bg.wasm.d.ts", "valv_client.js", "valv_client.d.ts", "snippets", "README.md"]) files.add(f);
Object.assign(manifest, {
  name: "valv-client",
  type: "module",
  main: "valv_client.js",
  module: "valv_client.js",
  types: "valv_client.d.ts",
  files: [...files],
  exports: {
    ".": { types: "./valv_client.d.ts", default: "./valv_client.js" },
    "./valv_client_bg.wasm": "./valv_client_bg.wasm",
    "./package.json": "./package.json",
  },
  // Only the snippets run code on import (they define ValvError and helpers).
  sideEffects: ["./snippets/*"],
  browser: "valv_client.js",
});
if (!manifest.version) fail("package.json has no version");
if (!manifest.license) fail("package.json has no license");
writeFileSync(manifestPath, JSON.stringify(manifest, null, 2) + "\n");
if (!existsSync(join(pkg, "README.md"))) cpSync(join(crate, "README.md"), join(pkg, "README.md"));

// 5. The demo's copy.
if (process.argv.includes("--www")) {
  const www = join(crate, "..", "www", "pkg");
  rmSync(www, { recursive: true, force: true });
  cpSync(pkg, www, { recursive: true, filter: (src) => !src.endsWith(".gitignore") });
  console.log(`finish-package: copied the package to ${www}`);
}
console.log(`finish-package: ${manifest.name}@${manifest.version} ready in ${pkg}`);
