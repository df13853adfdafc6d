//! The packet index: serializable, reusable, and checked against the file it describes.

use frameflow_media::{FrameIndex, MediaError, OpenOptions, Video};
use frameflow_testkit::pattern::pattern_video;

use crate::rgb;

#[test]
fn index_round_trips_and_opens_without_rescanning() {
    let pv = pattern_video("h264_bframes_gop250.mp4");
    let mut scanned = Video::open(&pv.path).unwrap();
    let json = scanned.index().to_json();
    let index = FrameIndex::from_json(&json).unwrap();
    assert_eq!(&index, scanned.index());
    let mut cached = Video::open_with(&pv.path, OpenOptions { index: Some(index.into()), ..Default::default() }).unwrap();
    assert_eq!(cached.info(), scanned.info());
    for i in [0, 149, 299, 3] {
        assert_eq!(rgb(&mut cached, i), rgb(&mut scanned, i));
    }
}

#[test]
fn a_cached_index_is_what_gets_used() {
    // Drop the last 100 frames from a saved index: the video then has 200 frames, which
    // shows that opening with an index does not scan again.
    let pv = pattern_video("h264_bframes_gop250.mp4");
    let mut index = Video::open(&pv.path).unwrap().index().clone();
    index.frames.truncate(200);
    let v = Video::open_with(&pv.path, OpenOptions { index: Some(index.into()), ..Default::default() }).unwrap();
    assert_eq!(v.frame_count(), 200);
}

#[test]
fn stale_or_foreign_index_is_refused() {
    let a = pattern_video("h264_bframes_gop250.mp4");
    let b = pattern_video("vp8.webm");
    let index = Video::open(&a.path).unwrap().index().clone();
    let err = Video::open_with(&b.path, OpenOptions { index: Some(index.into()), ..Default::default() }).err().unwrap();
    assert!(matches!(err, MediaError::StaleIndex(_)), "{err}");
    assert!(matches!(FrameIndex::from_json("{\"nope\":1}"), Err(MediaError::StaleIndex(_))));
}
