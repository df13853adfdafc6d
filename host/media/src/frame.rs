//! How a frame is named: [`FrameSelector`] (by index, pts or time) and [`FrameId`] (all
//! three ids of a frame and its key flag). A leaf: the index, the decoder and `Video` all
//! speak in these.

use serde::{Deserialize, Serialize};

/// Which frame: by 0-based presentation index, by exact pts, or by time (`ffmpeg -ss`
/// rule). The one selector type of frameflow, shared with the CLI, routes and components.
pub use frameflow_selector::FrameSelector;

/// A frame's identity: every frame carries all three ids and whether it is a key frame.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameId {
    pub index: usize,
    pub pts: i64,
    pub seconds: f64,
    pub key: bool,
}
