// Trunk pre-build hook (Trunk.toml): joins the stylesheets in assets/
// (one per page or component, kept apart for editing) into one file,
// target/styles/quorum.css, which index.html links. A first visit then
// fetches one stylesheet instead of twelve: a new browser opens six
// connections per server, and twelve render-blocking requests queued the
// client's own script and wasm behind them.
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";

// base.css first: the theme's custom properties and the reset that the
// rest builds on; then in the order they used to be linked.
const ORDER = [
  "base", "pages", "room", "header", "participants", "chat", "chat-group", "unread",
  "notices", "toasts", "e2ee", "moderation", "media", "phone",
];
const present = readdirSync("assets").filter((f) => f.endsWith(".css")).map((f) => f.slice(0, -4));
const unlisted = present.filter((f) => !ORDER.includes(f));
if (unlisted.length) {
  console.error(`bundle-css: add ${unlisted.join(", ")} to ORDER in scripts/bundle-css.mjs`);
  process.exit(1);
}
const out = "target/styles";
mkdirSync(out, { recursive: true });
const css = ORDER.map((name) => `/* assets/${name}.css */\n${readFileSync(`assets/${name}.css`, "utf8")}`).join("\n");
writeFileSync(`${out}/quorum.css`, css);
console.log(`bundle-css: ${ORDER.length} stylesheets in ${out}/quorum.css`);
