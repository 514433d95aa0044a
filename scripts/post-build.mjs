// Trunk's post-build hook (Trunk.toml). Trunk starts hooks of one stage
// all at once, so the steps that must run in order are one hook: the room
// module's hashed name first, then compressed copies of every file.
import "./name-room.mjs";
import "./precompress.mjs";
