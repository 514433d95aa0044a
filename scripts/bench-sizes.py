#!/usr/bin/env python3
"""What a browser downloads, brotli-compressed (quality 11, as a server
would precompress): the first page load (everything in dist/ but the
room module and the media module), the room module (fetched once the
pre-join page shows), and the media module with its E2EE worker, fetched
only on entering a room with media. Run after `trunk build --release`:
`.tools/venv/bin/python scripts/bench-sizes.py [dist]` (first
`.tools/venv/bin/pip install brotli==1.1.0`). With a second
dist directory (e.g. a build of an earlier commit) it prints both and the
ratio of the first loads."""
import pathlib
import sys

import brotli


def br(path: pathlib.Path) -> int:
    return len(brotli.compress(path.read_bytes(), quality=11))


def measure(dist: pathlib.Path) -> dict:
    files = [p for p in dist.rglob("*") if p.is_file() and "media" not in p.relative_to(dist).parts
             and p.suffix in {".html", ".js", ".wasm", ".css", ".svg"}]
    first = [p for p in files if not p.name.startswith("quorum-room-")]
    room = [p for p in files if p.name.startswith("quorum-room-")]
    media = room + [dist / "media" / "media.js", dist / "media" / "e2ee-worker.js"]
    return {
        "first": sum(br(p) for p in first),
        "first_raw": sum(p.stat().st_size for p in first),
        "media": {p.name: br(p) for p in media if p.exists()},
    }


def show(name: str, m: dict) -> None:
    print(f"{name}: first load {m['first'] / 1000:.1f} kB brotli ({m['first_raw'] / 1000:.1f} kB raw)")
    for file, size in m["media"].items():
        print(f"{name}:   lazy {file}: {size / 1000:.1f} kB brotli")
    if m["media"]:
        print(f"{name}:   lazy total: {sum(m['media'].values()) / 1000:.1f} kB brotli")


if __name__ == "__main__":
    now = measure(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "dist"))
    show("now", now)
    if len(sys.argv) > 2:
        before = measure(pathlib.Path(sys.argv[2]))
        show("before", before)
        print(f"first load, now / before: {now['first'] / before['first']:.3f}")
