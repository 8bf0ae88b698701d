//! The portal (政务数据服务门户): a single-page application in
//! Simplified Chinese (English switchable) built from `portal/` by
//! `build.rs` and embedded here, so every node serves it at `/` with no
//! files beside the binary and no CDN.
//!
//! [`asset`] answers a request path: a built file, or `index.html` for any
//! other path, since the application routes in the browser.

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// One file of the portal.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    pub bytes: &'static [u8],
    pub content_type: &'static str,
    /// Vite names everything under `/assets/` by its content hash, so such a
    /// file never changes and may be cached for good; `index.html` must not be.
    pub immutable: bool,
}

/// The file for a request path: the built file itself, else the application
/// page (`index.html`) for paths that look like pages (no file extension).
pub fn asset(path: &str) -> Option<Asset> {
    let found = |wanted: &str| ASSETS.iter().find(|(path, _)| *path == wanted);
    let (path, bytes) = match found(path) {
        Some(file) => file,
        None if is_page(path) => found("/index.html")?,
        None => return None,
    };
    Some(Asset { bytes, content_type: content_type(path), immutable: path.starts_with("/assets/") })
}

fn is_page(path: &str) -> bool {
    !path.rsplit('/').next().unwrap_or_default().contains('.')
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, extension)| extension) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_fall_back_to_the_application() {
        let index = asset("/").expect("the portal has an index page");
        assert_eq!(index.content_type, "text/html; charset=utf-8");
        assert!(!index.immutable);
        let deep = asset("/catalog/entries/some-code").expect("deep links load the application");
        assert_eq!(deep.bytes, index.bytes);
        assert!(asset("/missing.js").is_none(), "a missing file is not answered with the page");
    }

    #[test]
    fn built_scripts_are_immutable() {
        let (path, _) =
            ASSETS.iter().find(|(path, _)| path.ends_with(".js")).expect("the build emits a script");
        let script = asset(path).expect("a built file is served");
        assert!(script.immutable && script.content_type.starts_with("text/javascript"));
    }
}
