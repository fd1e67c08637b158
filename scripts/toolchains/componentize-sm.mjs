// Builds a JavaScript generator with componentize-js (StarlingMonkey engine).
//
// usage: node scripts/toolchains/componentize-sm.mjs NPM_PREFIX WIT_DIR WORLD SOURCE.js OUT.wasm
//   NPM_PREFIX: the folder printed by `bash scripts/toolchains/js.sh starlingmonkey`.
//
// Why a script rather than `jco componentize`: (1) preview2-shim >= 0.26
// starts with no filesystem preopens, and componentize-js' own wasm tools
// then cannot read the WIT ("failed to get path metadata"), so we preopen
// "/" first; (2) StarlingMonkey's `http` and `fetch-event` features must be
// disabled, or the component imports wasi:http, which the wasmpush host
// does not provide; (3) the API is 3-6x faster than the jco CLI here.
import { readFile, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [prefix, wit, world, source, out] = process.argv.slice(2);
if (!out) {
    console.error("usage: node componentize-sm.mjs NPM_PREFIX WIT_DIR WORLD SOURCE.js OUT.wasm");
    process.exit(2);
}
const scope = join(resolve(prefix), "node_modules", "@bytecodealliance");
const fs = await import(pathToFileURL(join(scope, "preview2-shim", "dist", "nodejs", "filesystem.js")));
fs._setPreopens({ "/": "/" });
const { componentize } = await import(pathToFileURL(join(scope, "componentize-js", "src", "componentize.js")));

const sourcePath = resolve(source);
process.chdir(dirname(sourcePath));
const { component } = await componentize(await readFile(sourcePath, "utf8"), {
    sourceName: basename(sourcePath),
    witPath: resolve(wit),
    worldName: world,
    disableFeatures: ["http", "fetch-event"],
});
await writeFile(resolve(out), component);
