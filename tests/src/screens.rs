//! Screenshots for people to look at: PNG files under
//! `target/screenshots/`, at a given viewport and colour scheme.

use std::path::PathBuf;

use fantoccini::Client;
use serde_json::json;

use crate::axe::{emulate_color_scheme, ColorScheme};
use crate::browser::cdp;

/// A viewport to show a page in.
#[derive(Debug, Clone, Copy)]
pub struct Viewport {
    /// A name for file names.
    pub name: &'static str,
    /// CSS pixels.
    pub width: u32,
    /// CSS pixels.
    pub height: u32,
    /// A phone (touch, mobile layout rules).
    pub mobile: bool,
}

/// A desktop browser window.
pub const DESKTOP: Viewport = Viewport {
    name: "desktop",
    width: 1280,
    height: 800,
    mobile: false,
};

/// A phone held upright.
pub const PHONE: Viewport = Viewport {
    name: "phone",
    width: 390,
    height: 844,
    mobile: true,
};

/// Where screenshots go: `target/screenshots/` (or under
/// `CARGO_TARGET_DIR`).
pub fn dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::root().join("target"));
    target.join("screenshots")
}

/// Shows the page at `view` (through chromedriver's DevTools endpoint,
/// `Emulation.setDeviceMetricsOverride`, so the viewport is exact).
pub async fn set_viewport(c: &Client, view: Viewport) {
    cdp(
        c,
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": view.width, "height": view.height,
            "deviceScaleFactor": 1, "mobile": view.mobile }),
    )
    .await;
}

/// Saves the page as `{name}-{view}-{scheme}.png` for every viewport and
/// scheme given, and returns the files written. `prepare` (JavaScript,
/// e.g. scrolling to what the picture is about) runs after each change
/// of viewport. The page is left in the last of them.
pub async fn capture(
    c: &Client,
    name: &str,
    views: &[Viewport],
    schemes: &[ColorScheme],
    prepare: &str,
) -> Vec<PathBuf> {
    let dir = dir();
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let mut written = Vec::new();
    for view in views {
        set_viewport(c, *view).await;
        c.execute(prepare, vec![])
            .await
            .expect("prepare the screenshot");
        for scheme in schemes {
            emulate_color_scheme(c, *scheme).await;
            let png = c.screenshot().await.expect("take a screenshot");
            assert!(png.starts_with(b"\x89PNG"), "the screenshot is not a PNG");
            let scheme = match scheme {
                ColorScheme::Light => "light",
                ColorScheme::Dark => "dark",
            };
            let path = dir.join(format!("{name}-{}-{scheme}.png", view.name));
            std::fs::write(&path, &png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            written.push(path);
        }
    }
    written
}
