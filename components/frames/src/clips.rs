//! Cuts of a video, by frame range: `/clip` re-encodes exactly frames S..=E (seed 002's
//! route: H.264 + AAC in MPEG-TS, or MP4; `mode=debug` burns in the frame number),
//! `/animated` makes a GIF or WebP preview (as Mux's `animated.gif`), `/video?start_frame=`
//! copies the range without re-encoding (seed 002's "quick preview clip"), and HLS VOD
//! serves any H.264/HEVC video as a playlist of stream-copied MPEG-TS segments cut at key
//! frames, so MKV, TS and MOV uploads play in browsers.
//!
//! The host checks a clip when it is asked for and encodes it while the response body is
//! read (`video.clip` / `video.cut` → `rendition.write-to`): nothing is held whole.

use frameflow_guest::bindings::frameflow::media::types::FrameSelector;
use frameflow_guest::bindings::frameflow::media::video::{ClipFormat, ClipOptions, CutOptions, Video};
use frameflow_guest::{registry, ApiError, ApiResult, Held, Query, Reply};

/// The query parameters of `/clip` (seed 002's, plus `format`, `width`, `height`).
pub const CLIP_PARAMS: &[&str] = &["start_frame", "end_frame", "start_time", "end_time", "fps", "mode", "audio", "format", "width", "height"];
/// The query parameters of `/animated`.
pub const ANIMATED_PARAMS: &[&str] = &["start", "end", "start_frame", "end_frame", "fps", "width", "height", "format"];
/// The range parameters `/video` also takes (a stream copy of that range).
pub const RANGE_PARAMS: &[&str] = &["start_frame", "end_frame", "start_time", "end_time", "fps"];
/// Longest animated preview, seconds (Mux's limit too).
const MAX_ANIMATED_SECONDS: f64 = 10.0;
/// A HLS segment closes at the first key frame this long after it began.
const TARGET_SEGMENT_SECONDS: f64 = 4.0;

/// The frame shown at `t` seconds; past the end, the last frame (time ranges are approximate).
fn frame_at(video: &Video, t: f64, count: u64) -> ApiResult<u64> {
    match video.locate(FrameSelector::Seconds(t)) {
        Ok(id) => Ok(id.index),
        Err(_) if t > 0.0 => Ok(count.saturating_sub(1)),
        Err(e) => Err(e.into()),
    }
}

/// The frames from `s` to `e` seconds on the video's own timeline: the first at or after `s`
/// (the `/frame?time=` rule) to the last that starts before `e` (end exclusive).
fn frames_between(video: &Video, s: f64, e: f64, count: u64) -> ApiResult<(u64, u64)> {
    let first = frame_at(video, s, count)?;
    let mut last = frame_at(video, e, count)?;
    if last > first && video.locate(FrameSelector::Index(last)).is_ok_and(|id| id.seconds >= e) {
        last -= 1;
    }
    Ok((first, last))
}

/// Frames `first..=last` from `start_frame`/`end_frame` (inclusive, 0-based, as `/frame?index=`
/// numbers them), or else from `start_time`/`end_time` in seconds (end exclusive): by the
/// frames' own timestamps, or with `fps` by that rate (`frame = ⌊t·fps⌋`, seed 002's
/// "frame↔time calculation"). `None` when the query names no range.
pub fn frame_range(video: &Video, query: &Query) -> ApiResult<Option<(u64, u64)>> {
    let count = video.info().frame_count;
    let fps = query.number::<f64>("fps", 0.0..=1000.0)?;
    if fps == Some(0.0) {
        return Err(ApiError::bad_request("'fps' must be above 0"));
    }
    let sf = query.number::<u64>("start_frame", 0..=u64::MAX)?;
    let ef = query.number::<u64>("end_frame", 0..=u64::MAX)?;
    let (first, last) = match (sf, ef) {
        (Some(s), Some(e)) => (s, e),
        (Some(_), None) => return Err(ApiError::bad_request("'start_frame' needs 'end_frame' (inclusive)")),
        (None, Some(_)) => return Err(ApiError::bad_request("'end_frame' requires 'start_frame'")),
        (None, None) => {
            let st = query.number::<f64>("start_time", 0.0..=1e9)?;
            let et = query.number::<f64>("end_time", 0.0..=1e9)?;
            match (st, et) {
                (None, None) => return Ok(None),
                (Some(_), None) | (None, Some(_)) => return Err(ApiError::bad_request("give both 'start_time' and 'end_time' (seconds)")),
                (Some(s), Some(e)) if e <= s => {
                    return Err(ApiError::bad_request(format!("'end_time' {e} must be after 'start_time' {s}")));
                }
                (Some(s), Some(e)) => match fps {
                    Some(rate) => ((s * rate).floor() as u64, ((e * rate).ceil() as u64).saturating_sub(1).max((s * rate).floor() as u64)),
                    None => {
                        let start = video.info().start_seconds;
                        frames_between(video, start + s, start + e, count)?
                    }
                },
            }
        }
    };
    if last < first {
        return Err(ApiError::bad_request(format!("the range ends (frame {last}) before it starts (frame {first})")));
    }
    if last >= count {
        return Err(ApiError::bad_request(format!("frame {last} is beyond the video: it has {count} frames (0..={})", count.saturating_sub(1))));
    }
    Ok(Some((first, last)))
}

fn streamed(rendition: frameflow_guest::bindings::frameflow::media::video::Rendition, mut headers: Vec<(String, String)>) -> Reply {
    headers.push(("content-type".into(), rendition.content_type()));
    headers.push(("cache-control".into(), "public, max-age=86400".into()));
    Reply { status: 200, headers, body: vec![], held: Some(Held::Rendition(rendition)) }
}

fn size(query: &Query) -> ApiResult<(Option<u32>, Option<u32>)> {
    Ok((query.number::<u32>("width", 2..=4096)?, query.number::<u32>("height", 2..=4096)?))
}

/// `GET /v1/videos/{id}/clip` (and seed 002's `/api/v1/file/{id}/clip`): frames S..=E
/// re-encoded, exactly `E-S+1` of them; `format=ts` (default) or `mp4`, `mode=debug` burns
/// in "CLIP #n", `audio=off` leaves the sound out.
pub fn clip(id: &str, query: &Query) -> ApiResult<Reply> {
    let record = registry::load(id)?;
    let video = Video::open(&record.key)?;
    let (first, last) = frame_range(&video, query)?
        .ok_or_else(|| ApiError::bad_request("a clip needs a range: 'start_frame' and 'end_frame' (or 'start_time' and 'end_time')"))?;
    let format = match query.get("format").unwrap_or("ts") {
        "ts" => ClipFormat::Ts,
        "mp4" => ClipFormat::Mp4,
        other => return Err(ApiError::bad_request(format!("'format' must be ts or mp4, got '{other}'"))),
    };
    let burn_in = match query.get("mode").unwrap_or("normal") {
        "normal" => false,
        "debug" => true,
        other => return Err(ApiError::bad_request(format!("'mode' must be normal or debug, got '{other}'"))),
    };
    let audio = match query.get("audio").unwrap_or("on") {
        "on" => true,
        "off" => false,
        other => return Err(ApiError::bad_request(format!("'audio' must be on or off, got '{other}'"))),
    };
    let (width, height) = size(query)?;
    let rendition = video.clip(ClipOptions { first, last, format, fps: None, width, height, audio, burn_in })?;
    let extension = if format == ClipFormat::Ts { "ts" } else { "mp4" };
    Ok(streamed(
        rendition,
        vec![
            ("x-clip-frames".into(), format!("{first}-{last}")),
            ("x-clip-frame-count".into(), (last - first + 1).to_string()),
            ("content-disposition".into(), format!("inline; filename=\"{id}-{first}-{last}.{extension}\"")),
        ],
    ))
}

/// `GET /v1/videos/{id}/animated`: a GIF (default) or WebP preview from `start` to `end`
/// seconds (default the first 5 s; at most 10), at `fps` (default 10) and `width` (default
/// 320; `height` alone or both also work).
pub fn animated(id: &str, query: &Query) -> ApiResult<Reply> {
    let record = registry::load(id)?;
    let video = Video::open(&record.key)?;
    let info = video.info();
    let count = info.frame_count;
    if count == 0 {
        return Err(ApiError::new(404, "frame_out_of_range", "the video has no frames"));
    }
    let (first, last) = match frame_range(&video, query)? {
        Some(range) => range,
        None => {
            let start = query.number::<f64>("start", 0.0..=1e9)?.unwrap_or(0.0);
            let end = query.number::<f64>("end", 0.0..=1e9)?.unwrap_or(start + 5.0);
            if end <= start {
                return Err(ApiError::bad_request(format!("'end' {end} must be after 'start' {start}")));
            }
            if end - start > MAX_ANIMATED_SECONDS {
                return Err(ApiError::bad_request(format!("an animation spans at most {MAX_ANIMATED_SECONDS} s; asked {} s", end - start)));
            }
            if start >= info.duration_seconds {
                return Err(ApiError::bad_request(format!("'start' {start} is past the video's end ({:.3} s)", info.duration_seconds)));
            }
            frames_between(&video, info.start_seconds + start, info.start_seconds + end, count)?
        }
    };
    let span = video.locate(FrameSelector::Index(last))?.seconds - video.locate(FrameSelector::Index(first))?.seconds;
    if span > MAX_ANIMATED_SECONDS {
        return Err(ApiError::bad_request(format!("an animation spans at most {MAX_ANIMATED_SECONDS} s; frames {first}..={last} span {span:.2} s")));
    }
    let fps = query.number::<f64>("fps", 0.0..=30.0)?.unwrap_or(10.0);
    if fps <= 0.0 {
        return Err(ApiError::bad_request("'fps' must be above 0"));
    }
    let format = match query.get("format").unwrap_or("gif") {
        "gif" => ClipFormat::Gif,
        "webp" => ClipFormat::Webp,
        other => return Err(ApiError::bad_request(format!("'format' must be gif or webp, got '{other}'"))),
    };
    let (mut width, height) = size(query)?;
    if width.is_none() && height.is_none() {
        width = Some(320);
    }
    if width.is_some_and(|w| w > 640) || height.is_some_and(|h| h > 640) {
        return Err(ApiError::bad_request("an animation is at most 640 pixels a side"));
    }
    let rendition = video.clip(ClipOptions { first, last, format, fps: Some(fps), width, height, audio: false, burn_in: false })?;
    Ok(streamed(rendition, vec![("x-clip-frames".into(), format!("{first}-{last}"))]))
}

/// `GET /v1/videos/{id}/video?start_frame=S&end_frame=E`: frames S..=E copied into MP4
/// without re-encoding, from the key frame before S (hidden by an edit list).
pub fn video_range(video: &Video, first: u64, last: u64) -> ApiResult<Reply> {
    let rendition = video.cut(&CutOptions { first, last, container: "mp4".into(), keep_timestamps: false })?;
    Ok(streamed(rendition, vec![("x-clip-frames".into(), format!("{first}-{last}"))]))
}

/// One HLS segment: frames `first..=last`, from a key frame to the frame before the next
/// segment's.
#[derive(Debug, PartialEq)]
pub struct Segment {
    pub first: u64,
    pub last: u64,
    pub seconds: f64,
}

/// Segments from the key frames' times (`keys`: index and seconds, ascending) and the video's
/// end: each closes at the first key frame at least [`TARGET_SEGMENT_SECONDS`] after it began.
pub fn segments(keys: &[(u64, f64)], frame_count: u64, end_seconds: f64) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    let Some(&(mut first, mut began)) = keys.first() else { return out };
    for &(k, t) in &keys[1..] {
        if t - began >= TARGET_SEGMENT_SECONDS {
            out.push(Segment { first, last: k - 1, seconds: t - began });
            (first, began) = (k, t);
        }
    }
    if first < frame_count {
        out.push(Segment { first, last: frame_count - 1, seconds: (end_seconds - began).max(0.001) });
    }
    out
}

fn hls_segments(video: &Video) -> ApiResult<Vec<Segment>> {
    let info = video.info();
    if !matches!(info.codec.as_str(), "h264" | "hevc") {
        return Err(ApiError::new(
            422,
            "unsupported",
            format!("HLS here carries H.264 or HEVC in MPEG-TS; this video is {}: use /clip?format=mp4 or /remux", info.codec),
        ));
    }
    let mut keys = Vec::with_capacity(info.keyframes.len());
    for &k in &info.keyframes {
        keys.push((k, video.locate(FrameSelector::Index(k))?.seconds));
    }
    Ok(segments(&keys, info.frame_count, info.start_seconds + info.duration_seconds))
}

/// `GET /v1/videos/{id}/hls/index.m3u8`: a VOD playlist of MPEG-TS segments.
pub fn hls_playlist(id: &str) -> ApiResult<Reply> {
    let record = registry::load(id)?;
    let video = Video::open(&record.key)?;
    let segments = hls_segments(&video)?;
    let target = segments.iter().map(|s| s.seconds.ceil() as u64).max().unwrap_or(1).max(1);
    let mut m3u8 = format!("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-TARGETDURATION:{target}\n#EXT-X-MEDIA-SEQUENCE:0\n");
    for (n, s) in segments.iter().enumerate() {
        m3u8.push_str(&format!("#EXTINF:{:.3},\n{n}.ts\n", s.seconds));
    }
    m3u8.push_str("#EXT-X-ENDLIST\n");
    Ok(Reply::cacheable(m3u8.into_bytes(), "application/vnd.apple.mpegurl", vec![], None))
}

/// The number of the segment named `name`, spelled only as the playlist writes it (no
/// sign, no leading zero): one segment, one URL, one entry in a cache.
fn segment_number(name: &str) -> Option<usize> {
    let digits = name.strip_suffix(".ts")?;
    let n: usize = digits.parse().ok()?;
    (n.to_string() == digits).then_some(n)
}

/// `GET /v1/videos/{id}/hls/{n}.ts`: segment `n`, a stream copy keeping the video's own
/// timestamps (players place segments on one timeline).
pub fn hls_segment(id: &str, name: &str) -> ApiResult<Reply> {
    let n = segment_number(name).ok_or_else(|| ApiError::not_found(format!("no segment '{name}': segments are named 0.ts, 1.ts, ...")))?;
    let record = registry::load(id)?;
    let video = Video::open(&record.key)?;
    let segments = hls_segments(&video)?;
    let segment = segments.get(n).ok_or_else(|| ApiError::not_found(format!("no segment {n}: the playlist has {}", segments.len())))?;
    let rendition = video.cut(&CutOptions { first: segment.first, last: segment.last, container: "ts".into(), keep_timestamps: true })?;
    Ok(streamed(rendition, vec![]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_close_at_the_first_key_frame_after_the_target() {
        // Key frames every 2 s at 25 fps, 10 s of video.
        let keys: Vec<(u64, f64)> = (0..5).map(|k| (k * 50, k as f64 * 2.0)).collect();
        let got = segments(&keys, 250, 10.0);
        assert_eq!(
            got,
            vec![
                Segment { first: 0, last: 99, seconds: 4.0 },
                Segment { first: 100, last: 199, seconds: 4.0 },
                Segment { first: 200, last: 249, seconds: 2.0 },
            ]
        );
        // One key frame: one segment, the whole video.
        assert_eq!(segments(&[(0, 0.0)], 30, 1.2), vec![Segment { first: 0, last: 29, seconds: 1.2 }]);
        assert!(segments(&[], 30, 1.2).is_empty());
    }

    #[test]
    fn a_segment_has_one_name() {
        assert_eq!((segment_number("0.ts"), segment_number("1.ts"), segment_number("120.ts")), (Some(0), Some(1), Some(120)));
        for other in ["+1.ts", "01.ts", "00001.ts", "00.ts", "-1.ts", "1", "1.TS", ".ts", " 1.ts"] {
            assert_eq!(segment_number(other), None, "{other}");
        }
    }
}
