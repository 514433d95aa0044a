// Trunk post-build hook (Trunk.toml), before precompress.mjs: gives the
// room module (binary `quorum-room`, built by Trunk as an unstarted ES
// module under its plain name) a content-hashed name like the shell's, so
// the server can send it with a year's `immutable` caching, and tells the
// shell where it is with `<meta name="quorum-room">` in index.html.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.env.TRUNK_STAGING_DIR || process.argv[2] || "dist";
const NAME = "quorum-room";
const js = join(dir, `${NAME}.js`);
const wasm = join(dir, `${NAME}_bg.wasm`);
if (!existsSync(js) || !existsSync(wasm)) {
  console.error(`name-room: ${js} or ${wasm} is missing`);
  process.exit(1);
}

const hash = createHash("sha256")
  .update(readFileSync(wasm))
  .update(readFileSync(js))
  .digest("hex")
  .slice(0, 16);
const base = `${NAME}-${hash}`;
// The glue finds its wasm beside itself by this name.
const glue = readFileSync(js, "utf8");
if (!glue.includes(`${NAME}_bg.wasm`)) {
  console.error(`name-room: ${js} does not name ${NAME}_bg.wasm`);
  process.exit(1);
}
writeFileSync(join(dir, `${base}.js`), glue.replaceAll(`${NAME}_bg.wasm`, `${base}_bg.wasm`));
renameSync(wasm, join(dir, `${base}_bg.wasm`));
// The plain-named glue must not stay: it would be served uncached.
rmSync(js);

const index = join(dir, "index.html");
const html = readFileSync(index, "utf8");
const meta = `<meta name="${NAME}" content="/${base}.js">`;
if (!html.includes("</head>")) {
  console.error("name-room: index.html has no </head>");
  process.exit(1);
}
writeFileSync(index, html.replace("</head>", `${meta}</head>`));
console.log(`name-room: ${base}.js`);
