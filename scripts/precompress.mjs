// Trunk post-build hook (Trunk.toml): writes a brotli (`.br`, quality 11)
// and a gzip (`.gz`, level 9) copy beside every compressible file of the
// build, so the server sends them by content negotiation without
// compressing anything per request. Node's own zlib: nothing to install.
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.env.TRUNK_STAGING_DIR || process.argv[2] || "dist";
const COMPRESSIBLE = /\.(wasm|js|mjs|css|html|svg|json|txt|map)$/;
// Below this, headers outweigh the saving.
const MIN_BYTES = 512;

function* files(d) {
  for (const name of readdirSync(d)) {
    const path = join(d, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else yield path;
  }
}

let count = 0;
for (const path of files(dir)) {
  if (!COMPRESSIBLE.test(path)) continue;
  const data = readFileSync(path);
  if (data.length < MIN_BYTES) continue;
  const br = brotliCompressSync(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    },
  });
  const gz = gzipSync(data, { level: 9 });
  // A copy that isn't smaller is never worth sending.
  if (br.length < data.length) writeFileSync(`${path}.br`, br);
  if (gz.length < data.length) writeFileSync(`${path}.gz`, gz);
  count += 1;
}
console.log(`precompress: ${count} files in ${dir}`);
