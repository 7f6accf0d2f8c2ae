//! The demo pages and their scripts, served from the binary (embedded by `build.rs` from
//! `crates/duplex-cli/demo/`), or from a folder named by `DUPLEX_DEMO_DIR` so that someone
//! editing a page sees the change on reload without rebuilding.
//!
//! `/` is `index.html`; `/chat` is `chat.html`, and so for every page; every file is also at
//! `/demo/<path>` (`/demo/vendor/centrifuge.js`).

use std::path::{Component, Path, PathBuf};

use axum::body::Body;
use axum::extract::Path as UrlPath;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;

include!(concat!(env!("OUT_DIR"), "/demo_files.rs"));

/// The environment variable naming a folder to serve the pages from instead of the binary.
pub const DIR_ENV: &str = "DUPLEX_DEMO_DIR";

/// Where the pages come from: the binary, or a folder on disk.
#[derive(Debug, Clone)]
pub enum Pages {
    Embedded,
    Folder(PathBuf),
}

impl Pages {
    /// The folder in `DUPLEX_DEMO_DIR`, else the embedded files.
    pub fn from_env() -> Pages {
        match std::env::var_os(DIR_ENV) {
            Some(folder) if !folder.is_empty() => Pages::Folder(PathBuf::from(folder)),
            _ => Pages::Embedded,
        }
    }

    /// The routes: `/`, one per page (`/chat` for `chat.html`), and `/demo/{*path}`.
    pub fn router(self) -> Router {
        let mut router = Router::new();
        for name in page_names() {
            let url = if name == "index" {
                "/".to_owned()
            } else {
                format!("/{name}")
            };
            let pages = self.clone();
            let file = format!("{name}.html");
            router = router.route(
                &url,
                get(move || {
                    let pages = pages.clone();
                    let file = file.clone();
                    async move { pages.respond(&file) }
                }),
            );
        }
        router.route(
            "/demo/{*path}",
            get(move |UrlPath(path): UrlPath<String>| {
                let pages = self.clone();
                async move { pages.respond(&path) }
            }),
        )
    }

    /// The file at `path` (relative to the demo folder), or 404.
    fn respond(&self, path: &str) -> Response {
        let Some(bytes) = self.read(path) else {
            return (StatusCode::NOT_FOUND, "no such demo file\n").into_response();
        };
        let mut response = Response::new(Body::from(bytes));
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type(path)),
        );
        // Small files, and a demo edited while it runs: always ask again.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        response
    }

    /// The file's bytes: the binary's own, not a copy, when embedded.
    fn read(&self, path: &str) -> Option<Bytes> {
        match self {
            Pages::Embedded => DEMO_FILES
                .iter()
                .find(|(name, _)| *name == path)
                .map(|(_, bytes)| Bytes::from_static(bytes)),
            Pages::Folder(folder) => {
                let relative = Path::new(path);
                // Only plain names below the folder: no `..`, no absolute path, no tools.
                let plain = relative
                    .components()
                    .all(|part| matches!(part, Component::Normal(_)));
                if !plain || relative.starts_with("tools") {
                    return None;
                }
                std::fs::read(folder.join(relative)).ok().map(Bytes::from)
            }
        }
    }
}

/// The pages: each `.html` file at the top of the demo folder, by name without extension.
fn page_names() -> impl Iterator<Item = &'static str> {
    DEMO_FILES
        .iter()
        .filter_map(|(name, _)| name.strip_suffix(".html"))
        .filter(|name| !name.contains('/'))
}

/// The media type of a demo file, from its extension.
fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, extension)| extension) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("md" | "txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_and_the_scripts_are_embedded() {
        let pages: Vec<_> = page_names().collect();
        assert!(pages.contains(&"index"), "{pages:?}");
        assert!(DEMO_FILES
            .iter()
            .any(|(name, _)| name.starts_with("vendor/")));
        assert!(DEMO_FILES
            .iter()
            .all(|(name, _)| !name.starts_with("tools/")));
    }

    #[test]
    fn a_folder_serves_nothing_outside_it() {
        let pages = Pages::Folder(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("demo"));
        assert!(pages.read("../Cargo.toml").is_none());
        assert!(pages.read("/etc/passwd").is_none());
        assert!(pages.read("tools/package.json").is_none());
        assert!(pages.read("index.html").is_some());
    }

    #[test]
    fn scripts_are_served_as_javascript() {
        assert_eq!(
            content_type("vendor/centrifuge.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
    }
}
