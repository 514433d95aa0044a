// Trunk pre-build hook (Trunk.toml): bundles client/js/media.js with
// livekit-client into one ES module, and LiveKit's E2EE worker, into
// target/media/, which index.html copies to dist/media/. Both come from
// node_modules (package-lock.json): nothing is fetched. The wasm client
// imports /media/media.js only when someone enters a room with media, so
// the first page load never carries it.
import { build } from "esbuild";
import { mkdirSync } from "node:fs";

const out = "target/media";
mkdirSync(out, { recursive: true });
const common = { bundle: true, format: "esm", minify: true, target: "es2022", legalComments: "none", logLevel: "warning" };
await build({ ...common, entryPoints: ["client/js/media.js"], outfile: `${out}/media.js` });
await build({
  ...common,
  entryPoints: ["node_modules/livekit-client/dist/livekit-client.e2ee.worker.mjs"],
  outfile: `${out}/e2ee-worker.js`,
});
