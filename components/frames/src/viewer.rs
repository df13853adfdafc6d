//! The web viewer at `/`: one static page (`viewer.html`, HTML, CSS and plain JavaScript, no
//! build step) over the HTTP API: the videos (drag-and-drop upload with progress), a
//! scrubber that fetches the exact frame by index as PNG (neighbours prefetched, index, pts
//! and time shown, ←/→ and Shift for key frames), the optical flow of the current pair as
//! an overlay, the storyboard strip, the probe, a cut form (clips, GIF, thumbnail), a
//! sampling-job form watched live with its outputs as a gallery, and the server's errors in
//! words.
//!
//! Also the API's description: `GET /v1/openapi.json` (OpenAPI 3.1, written by
//! `scripts/gen-openapi.py`, checked against the live routes by `tests/e2e/openapi.rs`) and
//! `GET /docs`, a page that renders it.

use frameflow_guest::Reply;

const PAGE: &str = include_str!("viewer.html");
const DOCS: &str = include_str!("docs.html");
const OPENAPI: &str = include_str!("openapi.json");

fn asset(content_type: &str, body: &str) -> Reply {
    Reply {
        status: 200,
        headers: vec![
            ("content-type".into(), content_type.into()),
            // These change with the server: always revalidated.
            ("cache-control".into(), "no-cache".into()),
        ],
        body: body.as_bytes().to_vec(),
        held: None,
    }
}

/// `GET /`: the viewer page.
pub fn page() -> Reply {
    asset("text/html; charset=utf-8", PAGE)
}

/// `GET /docs`: the API reference, rendered from the document.
pub fn docs() -> Reply {
    asset("text/html; charset=utf-8", DOCS)
}

/// `GET /v1/openapi.json`.
pub fn openapi() -> Reply {
    asset("application/json", OPENAPI)
}
