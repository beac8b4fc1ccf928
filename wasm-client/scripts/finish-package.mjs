// Finishes the npm package that `wasm-pack build wasm-client --release --target web`
// wrote to wasm-client/pkg:
//   - re-exports the `ValvError` class (defined in a wasm-bindgen snippet) from the
//     package entry, so `import { ValvError } from "valv-client"` works;
//   - drops the Rust examples from the models' doc comments (the declarations are made from
//     valv-psd2's Rust types, whose docs carry doctests) and Rust link brackets;
//   - gives the wasm's imports and exports short names (binaryen's wasm-opt from PATH;
//     wasm-bindgen's carry hashes and Rust paths) and makes the glue use them;
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

// The mark of a glue this script has finished (renamed and minified, step 4): steps 1 and 3
// then have nothing left to do.
const MINIFIED = "// minified by finish-package\n";

// 1. ValvError re-export.
let js = readFileSync(entry, "utf8");
const finished = js.startsWith(MINIFIED);
const snippet = js.match(/from\s*['"](\.\/snippets\/[^'"]+\/js\/valv\.js)['"]/);
if (!snippet) fail("the valv.js snippet import was not found in valv_client.js");
const reexport = `export { ValvError } from '${snippet[1]}';\n`;
if (!finished && !js.includes(reexport)) {
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

// 3. Short import and export names. wasm-bindgen names each import after its Rust path with a
// hash (`__wbg_set_7923e5ea63b41e6b`) and some exports after a whole closure type: kilobytes
// that neither gzip nor esbuild can shrink. binaryen renames them in the wasm and prints the
// mapping; the glue's import object and its `wasm.*` calls are rewritten to follow it, and
// the result is checked against the renamed module's own import and export lists. Done once,
// before the glue is minified.
const wasmFile = join(pkg, "valv_client_bg.wasm");
const wasmTypes = join(pkg, "valv_client_bg.wasm.d.ts");
if (!finished) {
  const renamed = join(pkg, "valv_client_bg.renamed.wasm");
  const features = ["bulk-memory", "nontrapping-float-to-int", "sign-ext", "mutable-globals", "reference-types", "multivalue"];
  let printed;
  try {
    printed = execFileSync(
      "wasm-opt",
      // -Oz once more after the renaming: the shorter names let it lay the module out smaller.
      // The target-features section is for linkers; a browser does not read it.
      [wasmFile, ...features.map((f) => `--enable-${f}`), "--minify-imports-and-exports-and-modules", "-Oz", "--strip-target-features", "-o", renamed],
      { encoding: "utf8" },
    );
  } catch (e) {
    fail(`wasm-opt could not rename the imports and exports: ${e.message} (is wasm-opt on PATH? cargo xtask wasm installs it)`);
  }
  // binaryen prints the mapping as JSON with trailing commas.
  const map = JSON.parse(printed.slice(printed.indexOf("{")).replace(/,(\s*[\]}])/g, "$1"));
  const module = new WebAssembly.Module(readFileSync(renamed));
  const modules = [...new Set(WebAssembly.Module.imports(module).map((i) => i.module))];
  if (modules.length !== 1) fail(`the renamed wasm imports from ${modules.length} modules, expected 1`);
  const escape = (s) => s.replace(/[$]/g, "\\$&");
  const once = (text, pattern, replacement, what) => {
    const found = text.match(new RegExp(pattern.source, "g"));
    if (!found || found.length !== 1) fail(`valv_client.js: ${what} found ${found ? found.length : 0} times, expected once`);
    return text.replace(pattern, () => replacement);
  };
  const fromSnippets = [];
  for (const [from, name, short] of map.imports) {
    if (from === "./valv_client_bg.js") {
      js = once(js, new RegExp(`(?<=\\n\\s+)${escape(name)}: function`), `${JSON.stringify(short)}: function`, `import ${name}`);
    } else {
      const ns = js.match(new RegExp(`import \\* as (\\w+) from ["']${escape(from).replace(/[.]/g, "\\.")}["']`));
      if (!ns) fail(`valv_client.js does not import ${from} as a namespace`);
      fromSnippets.push(`${JSON.stringify(short)}: ${ns[1]}.${name}`);
    }
  }
  js = once(
    js,
    /return \{\s*__proto__: null,\s*"\.\/valv_client_bg\.js": import0,[^}]*\};/,
    `return { __proto__: null, ${JSON.stringify(modules[0])}: Object.assign(import0, { ${fromSnippets.join(", ")} }) };`,
    "the import object",
  );
  let wasmDts = existsSync(wasmTypes) ? readFileSync(wasmTypes, "utf8") : null;
  for (const [name, short] of map.exports) {
    js = js.replace(new RegExp(`\\bwasm\\.${escape(name)}\\b`, "g"), () => `wasm[${JSON.stringify(short)}]`);
    if (wasmDts !== null) wasmDts = wasmDts.replace(new RegExp(`(?<=export const )${escape(name)}:`), () => `${short}:`);
  }
  const left = js.match(/\bwasm\.\w+/);
  if (left) fail(`valv_client.js still calls ${left[0]}, which the renamed wasm does not export`);
  const exported = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  for (const [, short] of map.exports) if (!exported.has(short)) fail(`the renamed wasm lacks the export ${short}`);
  writeFileSync(entry, js);
  if (wasmDts !== null) writeFileSync(wasmTypes, wasmDts);
  cpSync(renamed, wasmFile);
  rmSync(renamed);
}

// 4. The glue and the snippets minified, in place.
const scripts = [entry];
const snippetDir = join(pkg, "snippets");
for (const d of readdirSync(snippetDir, { recursive: true })) if (String(d).endsWith(".js")) scripts.push(join(snippetDir, String(d)));
for (const file of scripts) {
  const before = readFileSync(file, "utf8");
  if (before.startsWith(MINIFIED)) continue;
  try {
    const out = execFileSync("esbuild", [file, "--minify", "--format=esm", "--log-level=error"], { encoding: "utf8" });
    writeFileSync(file, `${MINIFIED}${out}`);
  } catch (e) {
    fail(`esbuild could not minify ${file}: ${e.message} (is esbuild on PATH? cargo xtask wasm installs it)`);
  }
}

// 5. package.json.
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

// 6. The demo's copy.
if (process.argv.includes("--www")) {
  const www = join(crate, "..", "www", "pkg");
  rmSync(www, { recursive: true, force: true });
  cpSync(pkg, www, { recursive: true, filter: (src) => !src.endsWith(".gitignore") });
  console.log(`finish-package: copied the package to ${www}`);
}
console.log(`finish-package: ${manifest.name}@${manifest.version} ready in ${pkg}`);
