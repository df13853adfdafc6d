//! Media-core tests, one binary with a module per area.

mod audio;
mod corpus;
mod errors;
mod generated;
mod index;
mod remote;

use frameflow_media::{Frame, RenderOptions, Video};

/// Decodes the pattern index shown by a frame.
pub fn shown_index(frame: &Frame) -> u32 {
    frameflow_testkit::pattern::decode_pattern(&frame.image.data, frame.image.width, frame.image.height)
}

pub fn rgb(video: &mut Video, index: usize) -> Vec<u8> {
    video.frame(index, &RenderOptions::default()).expect("decode frame").image.data
}
