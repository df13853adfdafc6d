//! The web viewer at `/`: one static page (`viewer.html`, HTML, CSS and plain JavaScript, no
//! build step) over the HTTP API: the videos (drag-and-drop upload with progress), a
//! scrubber that fetches the exact frame by index as PNG (neighbours prefetched, index, pts
//! and time shown, ←/→ and Shift for key frames), the optical flow of the current pair as
//! an overlay, the storyboard strip, the probe, and the server's errors in words.

use frameflow_guest::Reply;

const PAGE: &str = include_str!("viewer.html");

/// `GET /`: the viewer page.
pub fn page() -> Reply {
    Reply {
        status: 200,
        headers: vec![
            ("content-type".into(), "text/html; charset=utf-8".into()),
            // The page changes with the server: always revalidated.
            ("cache-control".into(), "no-cache".into()),
        ],
        body: PAGE.as_bytes().to_vec(),
        held: None,
    }
}
