//! Media delivery: the stored video streamed with HTTP ranges (`GET /v1/videos/{id}/video`),
//! thumbnails of exact frames (`GET /v1/videos/{id}/thumbnail`), both also answered on seed
//! 002's `/api/v1/file/{id}/video` and `/thumbnail`, and storyboards for players' scrub
//! previews (`storyboard.jpg`, a sprite, and `storyboard.vtt`, WebVTT with `#xywh=`).
//!
//! The bytes of a video go from the store to the response body in the host
//! (`objects.copy-range-to`), a chunk at a time as the client reads; a thumbnail is decoded,
//! cropped, fitted and encoded in the host (`frame.encode-held`).

use frameflow_guest::bindings::frameflow::media::types::{Canvas, Crop, FrameSelector, ImageFormat, RenderOptions};
use frameflow_guest::bindings::frameflow::media::video::Video;
use frameflow_guest::bindings::frameflow::store::objects;
use frameflow_guest::{client_has, registry, ApiError, ApiResult, Held, Query, Reply};

/// The query parameters of `/video`: a frame or time range (a stream copy of it, see
/// `clips::video_range`); seed 002's `mode` and `audio` are accepted and change nothing.
pub const VIDEO_PARAMS: &[&str] = &["mode", "audio", "start_frame", "end_frame", "start_time", "end_time", "fps"];
/// The query parameters of `/thumbnail`.
pub const THUMBNAIL_PARAMS: &[&str] = &["frame", "time", "x", "y", "w", "h", "width", "height", "fit_mode", "format", "quality", "mode", "audio"];
/// The query parameters of `storyboard.jpg` and `storyboard.vtt`.
pub const STORYBOARD_PARAMS: &[&str] = &["tiles", "width", "columns"];
/// Frames looked at for a representative thumbnail.
const CANDIDATES: u64 = 8;
/// Width candidates are compared at.
const SHARPNESS_WIDTH: u32 = 320;
/// The largest side of a storyboard sheet: a JPEG's header holds 16-bit sizes.
const MAX_SHEET_SIDE: u64 = 65_535;

/// The request headers delivery looks at.
pub struct Conditions<'a> {
    pub range: Option<&'a str>,
    pub if_range: Option<&'a str>,
    pub if_none_match: Option<&'a str>,
}

/// A byte range asked for, resolved against the object's size.
#[derive(Debug, PartialEq)]
pub enum RangeAsk {
    /// No usable `Range`: the whole object.
    Whole,
    /// Bytes `[start, end]`, inclusive.
    Part { start: u64, end: u64 },
    /// Nothing of the object can be served (416).
    Unsatisfiable,
}

/// Parses a `Range` header (RFC 9110 §14.1.2) for an object of `size` bytes. Only `bytes`
/// ranges; of several, the first is answered. A header that does not parse is ignored (the
/// whole object), as the RFC allows.
pub fn parse_range(header: &str, size: u64) -> RangeAsk {
    let Some(spec) = header.trim().strip_prefix("bytes=") else { return RangeAsk::Whole };
    let first = spec.split(',').next().unwrap_or("").trim();
    let Some((a, b)) = first.split_once('-') else { return RangeAsk::Whole };
    let (a, b) = (a.trim(), b.trim());
    let number = |s: &str| (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit())).then(|| s.parse::<u64>().ok()).flatten();
    match (a.is_empty(), number(a), number(b)) {
        // `bytes=-n`: the last n bytes.
        (true, _, Some(n)) if n > 0 && size > 0 => RangeAsk::Part { start: size.saturating_sub(n), end: size - 1 },
        (true, _, Some(_)) => RangeAsk::Unsatisfiable,
        (false, Some(start), None) if b.is_empty() => {
            if start < size {
                RangeAsk::Part { start, end: size - 1 }
            } else {
                RangeAsk::Unsatisfiable
            }
        }
        (false, Some(start), Some(end)) if start <= end => {
            if start < size {
                RangeAsk::Part { start, end: end.min(size - 1) }
            } else {
                RangeAsk::Unsatisfiable
            }
        }
        _ => RangeAsk::Whole,
    }
}

/// The media type of a stored video from its name; `None` when the name does not say.
fn media_type_by_name(key: &str) -> Option<&'static str> {
    let ext = key.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    Some(match ext.as_str() {
        "mp4" | "m4v" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "mkv" => "video/x-matroska",
        "ts" | "m2ts" => "video/mp2t",
        "avi" => "video/x-msvideo",
        "ogv" => "video/ogg",
        _ => return None,
    })
}

/// The media type of a stored video, from what the demuxer says (for names without a
/// known extension: opening the video reads its packet index).
fn media_type_by_probe(key: &str) -> ApiResult<&'static str> {
    let probe: serde_json::Value = serde_json::from_str(&Video::open(key)?.probe_json()).unwrap_or_default();
    Ok(match probe["container"].as_str().unwrap_or("").split(',').next().unwrap_or("") {
        "mov" => "video/mp4",
        "matroska" => "video/x-matroska",
        "mpegts" => "video/mp2t",
        "avi" => "video/x-msvideo",
        _ => "application/octet-stream",
    })
}

/// `GET /v1/videos/{id}/video`: the stored bytes, with `Accept-Ranges`, single ranges
/// (206 + `Content-Range`; 416 when none of it exists), `ETag`, `If-None-Match` (304) and
/// `If-Range`. With a frame or time range in the query: that range copied into MP4.
pub fn video(id: &str, query: &Query, conditions: &Conditions<'_>) -> ApiResult<Reply> {
    let record = registry::load(id)?;
    if crate::clips::RANGE_PARAMS.iter().any(|p| query.get(p).is_some()) {
        let video = Video::open(&record.key)?;
        if let Some((first, last)) = crate::clips::frame_range(&video, query)? {
            return crate::clips::video_range(&video, first, last);
        }
    }
    let meta = objects::head(&record.key)?;
    let etag = format!("\"{}\"", meta.etag.clone().unwrap_or_else(|| format!("{:x}-{:x}", meta.size, meta.last_modified_ms)).trim_matches('"'));
    let mut headers = vec![
        ("accept-ranges".to_string(), "bytes".to_string()),
        ("etag".into(), etag.clone()),
        ("cache-control".into(), "public, max-age=86400".into()),
    ];
    // Weak comparison, as for every If-None-Match (If-Range below stays strong).
    if conditions.if_none_match.is_some_and(|tags| client_has(tags, &etag)) {
        return Ok(Reply { status: 304, headers, body: vec![], held: None });
    }
    let media_type = match media_type_by_name(&record.key) {
        Some(known) => known,
        None => media_type_by_probe(&record.key)?,
    };
    headers.push(("content-type".into(), media_type.into()));
    // If-Range: the range only applies to the version the client already has.
    let range = conditions.range.filter(|_| conditions.if_range.is_none_or(|v| v.trim() == etag));
    let size = meta.size;
    let (status, start, length) = match range.map(|r| parse_range(r, size)).unwrap_or(RangeAsk::Whole) {
        RangeAsk::Whole => (200, 0, size),
        RangeAsk::Part { start, end } => {
            headers.push(("content-range".into(), format!("bytes {start}-{end}/{size}")));
            (206, start, end - start + 1)
        }
        RangeAsk::Unsatisfiable => {
            let mut reply: Reply =
                ApiError::new(416, "range_not_satisfiable", format!("the range is outside the video's {size} bytes")).into();
            reply.headers.push(("content-range".into(), format!("bytes */{size}")));
            return Ok(reply);
        }
    };
    Ok(Reply { status, headers, body: vec![], held: Some(Held::Object { key: record.key, start, length }) })
}

/// How a thumbnail fits `width` × `height` when both are given (Mux's `fit_mode`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fit {
    /// Keep the aspect ratio, inside the box (the default).
    Preserve,
    /// Exactly the box, stretched.
    Stretch,
    /// Fill the box and cut the overflow, centred.
    Crop,
    /// Inside the box, on a black canvas of the box's size.
    Pad,
}

/// The render options for a region of `region` size (the crop, or the whole picture at
/// `origin` 0,0) fitted to `width` × `height` by `fit`.
pub fn fitted(region: Crop, width: Option<u32>, height: Option<u32>, fit: Fit) -> RenderOptions {
    let (rw, rh) = (region.width as u64, region.height as u64);
    let mut render = RenderOptions { crop: Some(region), width, height, pad: None };
    let (Some(w), Some(h)) = (width, height) else { return render };
    let (w64, h64) = (w as u64, h as u64);
    // Inside the box: the side that binds, the other scaled (at least 1).
    let inside = || if rw * h64 >= rh * w64 { (w, ((rh * w64 + rw / 2) / rw).max(1) as u32) } else { (((rw * h64 + rh / 2) / rh).max(1) as u32, h) };
    match fit {
        Fit::Stretch => {}
        Fit::Preserve => (render.width, render.height) = {
            let (iw, ih) = inside();
            (Some(iw), Some(ih))
        },
        Fit::Pad => {
            let (iw, ih) = inside();
            (render.width, render.height) = (Some(iw), Some(ih));
            render.pad = Some(Canvas { width: w, height: h });
        }
        Fit::Crop => {
            // The largest centred part of the region with the box's aspect ratio.
            let (cw, ch) = if rw * h64 > rh * w64 { (((rh * w64) / h64).max(1), rh) } else { (rw, ((rw * h64) / w64).max(1)) };
            render.crop = Some(Crop {
                x: region.x + ((rw - cw) / 2) as u32,
                y: region.y + ((rh - ch) / 2) as u32,
                width: cw as u32,
                height: ch as u32,
            });
        }
    }
    render
}

/// Variance of the Laplacian of the luma: larger is sharper (the usual blur measure).
pub fn sharpness(rgb: &[u8], width: usize, height: usize) -> f64 {
    if width < 3 || height < 3 || rgb.len() < width * height * 3 {
        return 0.0;
    }
    let luma: Vec<f64> = rgb.chunks_exact(3).map(|p| 0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64).collect();
    let (mut sum, mut sum_sq, mut n) = (0.0, 0.0, 0.0);
    for y in 1..height - 1 {
        for x in 1..width - 1 {
            let at = |dx: isize, dy: isize| luma[(y as isize + dy) as usize * width + (x as isize + dx) as usize];
            let lap = at(-1, 0) + at(1, 0) + at(0, -1) + at(0, 1) - 4.0 * at(0, 0);
            sum += lap;
            sum_sq += lap * lap;
            n += 1.0;
        }
    }
    sum_sq / n - (sum / n).powi(2)
}

/// The sharpest of [`CANDIDATES`] evenly spaced frames (away from the very ends).
fn representative(video: &Video) -> ApiResult<u64> {
    let count = video.info().frame_count;
    if count == 0 {
        return Err(ApiError::new(404, "frame_out_of_range", "the video has no frames"));
    }
    let picks: Vec<u64> = (0..CANDIDATES).map(|k| ((2 * k + 1) * count / (2 * CANDIDATES)).min(count - 1)).collect();
    let mut picks_unique = picks.clone();
    picks_unique.dedup();
    let at: Vec<FrameSelector> = picks_unique.iter().map(|&i| FrameSelector::Index(i)).collect();
    let frames = video.frames(&at, RenderOptions { crop: None, width: Some(SHARPNESS_WIDTH), height: None, pad: None })?;
    let scored = frames.iter().zip(&picks_unique).map(|(f, &i)| (sharpness(&f.rgb(), f.width() as usize, f.height() as usize), i));
    Ok(scored.fold((f64::MIN, 0), |best, s| if s.0 > best.0 { s } else { best }).1)
}

/// `GET /v1/videos/{id}/thumbnail`: one exact frame (`frame` index or `time`; without
/// either, the sharpest of a few evenly spaced frames, said in `x-thumbnail-rule`), cropped
/// by `x,y,w,h` (all four or none), fitted to `width`/`height` by `fit_mode`, as JPEG or PNG.
pub fn thumbnail(id: &str, query: &Query, if_none_match: Option<&str>) -> ApiResult<Reply> {
    let record = registry::load(id)?;
    let video = Video::open(&record.key)?;
    let index = query.number::<u64>("frame", 0..=u64::MAX)?;
    let time = query.number::<f64>("time", 0.0..=1e9)?;
    let (at, rule) = match (index, time) {
        (Some(i), None) => (FrameSelector::Index(i), "frame"),
        (None, Some(t)) => (FrameSelector::Seconds(t), "time"),
        (None, None) => (FrameSelector::Index(representative(&video)?), "sharpest-of-8-evenly-spaced"),
        _ => return Err(ApiError::bad_request("give at most one of 'frame' and 'time'")),
    };
    let info = video.info();
    let (dw, dh) = if info.rotation.rem_euclid(180) == 90 { (info.height, info.width) } else { (info.width, info.height) };
    let crop = [("x", query.get("x")), ("y", query.get("y")), ("w", query.get("w")), ("h", query.get("h"))];
    let given: Vec<&str> = crop.iter().filter(|(_, v)| v.is_some()).map(|(n, _)| *n).collect();
    let region = match given.len() {
        0 => Crop { x: 0, y: 0, width: dw, height: dh },
        4 => {
            let x = query.number::<u32>("x", 0..=u32::MAX)?.unwrap_or(0);
            let y = query.number::<u32>("y", 0..=u32::MAX)?.unwrap_or(0);
            let w = query.number::<u32>("w", 1..=u32::MAX)?.unwrap_or(1);
            let h = query.number::<u32>("h", 1..=u32::MAX)?.unwrap_or(1);
            if x as u64 + w as u64 > dw as u64 || y as u64 + h as u64 > dh as u64 {
                return Err(ApiError::bad_request(format!("the crop {x},{y} {w}x{h} is outside the {dw}x{dh} frame")));
            }
            Crop { x, y, width: w, height: h }
        }
        _ => {
            let missing: Vec<&str> = crop.iter().filter(|(_, v)| v.is_none()).map(|(n, _)| *n).collect();
            return Err(ApiError::bad_request(format!("crop needs x, y, w and h together; missing {}", missing.join(", "))));
        }
    };
    let fit = match query.get("fit_mode").unwrap_or("preserve") {
        "preserve" => Fit::Preserve,
        "stretch" => Fit::Stretch,
        "crop" | "smartcrop" => Fit::Crop,
        "pad" => Fit::Pad,
        other => return Err(ApiError::bad_request(format!("'fit_mode' must be preserve, stretch, crop or pad, got '{other}'"))),
    };
    let (format, content_type) = match query.get("format").unwrap_or("jpg") {
        "jpg" | "jpeg" => (ImageFormat::Jpeg, "image/jpeg"),
        "png" => (ImageFormat::Png, "image/png"),
        "webp" => (ImageFormat::Webp, "image/webp"),
        other => return Err(ApiError::bad_request(format!("'format' must be jpg, png or webp, got '{other}'"))),
    };
    let quality = query.number::<u8>("quality", 1..=100)?.unwrap_or(90);
    let width = query.number::<u32>("width", 1..=8192)?;
    let height = query.number::<u32>("height", 1..=8192)?;
    let render = fitted(region, width, height, fit);
    let etag = Reply::derived_etag(&video.content_tag(), "thumbnail", query);
    if let Some(unchanged) = Reply::not_modified(&etag, if_none_match) {
        return Ok(unchanged);
    }
    let frame = video.frame(at, render)?;
    let encoded = frame.encode_held(format, quality)?;
    let id = frame.id();
    let headers = vec![
        ("x-frame-index".to_string(), id.index.to_string()),
        ("x-frame-pts".into(), id.pts.to_string()),
        ("x-frame-seconds".into(), format!("{}", id.seconds)),
        ("x-thumbnail-rule".into(), rule.into()),
    ];
    Ok(Reply::cacheable_held(etag, encoded, content_type, headers, if_none_match))
}

/// A storyboard's layout: which frames, at what tile size, how many across.
pub struct Storyboard {
    pub frames: Vec<u64>,
    pub tile: (u32, u32),
    pub columns: u32,
    /// Each tile's span of the video, seconds.
    pub spans: Vec<(f64, f64)>,
}

/// `tiles` (default up to 100, one per frame at most), `width` of a tile (default 160),
/// `columns` (default 10): the frame in the middle of each of `tiles` equal parts. A sheet
/// over [`MAX_SHEET_SIDE`] on a side is refused (413) here, before anything is decoded.
pub fn storyboard_layout(video: &Video, query: &Query) -> ApiResult<Storyboard> {
    let info = video.info();
    if info.frame_count == 0 {
        return Err(ApiError::new(404, "frame_out_of_range", "the video has no frames"));
    }
    let tiles = query.number::<u64>("tiles", 1..=256)?.unwrap_or(100).min(info.frame_count);
    let width = query.number::<u32>("width", 16..=640)?.unwrap_or(160);
    let columns = query.number::<u32>("columns", 1..=64)?.unwrap_or(10).min(tiles as u32);
    let (dw, dh) = if info.rotation.rem_euclid(180) == 90 { (info.height, info.width) } else { (info.width, info.height) };
    let height = ((width as u64 * dh as u64 + dw as u64 / 2) / dw.max(1) as u64).max(1);
    let sheet = (width as u64 * columns as u64, height * tiles.div_ceil(columns as u64));
    if sheet.0 > MAX_SHEET_SIDE || sheet.1 > MAX_SHEET_SIDE {
        return Err(ApiError::new(
            413,
            "too_large",
            format!(
                "{tiles} tiles of {width}x{height}, {columns} across, make a {}x{} sheet: a JPEG is at most {MAX_SHEET_SIDE} px a side (ask fewer tiles, more columns or a smaller width)",
                sheet.0, sheet.1
            ),
        ));
    }
    let height = height as u32;
    let frames = (0..tiles).map(|k| ((2 * k + 1) * info.frame_count / (2 * tiles)).min(info.frame_count - 1)).collect();
    let (start, length) = (info.start_seconds, info.duration_seconds);
    let spans = (0..tiles).map(|k| (start + length * k as f64 / tiles as f64, start + length * (k + 1) as f64 / tiles as f64)).collect();
    Ok(Storyboard { frames, tile: (width, height), columns, spans })
}

/// `GET /v1/videos/{id}/storyboard.jpg`: the sprite of the layout's frames.
pub fn storyboard_image(id: &str, query: &Query, if_none_match: Option<&str>) -> ApiResult<Reply> {
    let record = registry::load(id)?;
    let video = Video::open(&record.key)?;
    let board = storyboard_layout(&video, query)?;
    let etag = Reply::derived_etag(&video.content_tag(), "storyboard", query);
    if let Some(unchanged) = Reply::not_modified(&etag, if_none_match) {
        return Ok(unchanged);
    }
    let at: Vec<FrameSelector> = board.frames.iter().map(|&i| FrameSelector::Index(i)).collect();
    let render = RenderOptions { crop: None, width: Some(board.tile.0), height: Some(board.tile.1), pad: None };
    let sheet = video.tile(&at, render, board.columns, ImageFormat::Jpeg, 80)?;
    let headers = vec![("x-storyboard-tiles".to_string(), format!("{}x{} x {} ({} across)", board.tile.0, board.tile.1, board.frames.len(), board.columns))];
    Ok(Reply::cacheable_held(etag, sheet, "image/jpeg", headers, if_none_match))
}

fn vtt_time(seconds: f64) -> String {
    let ms = (seconds.max(0.0) * 1000.0).round() as u64;
    format!("{:02}:{:02}:{:02}.{:03}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000)
}

/// `GET /v1/videos/{id}/storyboard.vtt`: one WebVTT cue per tile, pointing into the sprite
/// with `#xywh=` (what players' thumbnail tracks read).
pub fn storyboard_vtt(id: &str, query: &Query) -> ApiResult<Reply> {
    let record = registry::load(id)?;
    let video = Video::open(&record.key)?;
    let board = storyboard_layout(&video, query)?;
    let (w, h) = board.tile;
    let sprite = format!("/v1/videos/{id}/storyboard.jpg?tiles={}&width={w}&columns={}", board.frames.len(), board.columns);
    let mut vtt = String::from("WEBVTT\n");
    for (k, (from, to)) in board.spans.iter().enumerate() {
        let (col, row) = (k as u32 % board.columns, k as u32 / board.columns);
        vtt.push_str(&format!("\n{} --> {}\n{sprite}#xywh={},{},{w},{h}\n", vtt_time(*from), vtt_time(*to), col * w, row * h));
    }
    Ok(Reply::cacheable(vtt.into_bytes(), "text/vtt; charset=utf-8", vec![], None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_resolve_as_rfc_9110_says() {
        let part = |start, end| RangeAsk::Part { start, end };
        assert_eq!(parse_range("bytes=0-99", 1000), part(0, 99));
        assert_eq!(parse_range("bytes=1000-1999", 5000), part(1000, 1999));
        assert_eq!(parse_range("bytes=900-", 1000), part(900, 999));
        assert_eq!(parse_range("bytes=-100", 1000), part(900, 999));
        assert_eq!(parse_range("bytes=-5000", 1000), part(0, 999), "a suffix longer than the object is all of it");
        assert_eq!(parse_range("bytes=990-2000", 1000), part(990, 999), "an end past the object is clamped");
        assert_eq!(parse_range("bytes=1000-", 1000), RangeAsk::Unsatisfiable);
        assert_eq!(parse_range("bytes=1000-1100", 1000), RangeAsk::Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 1000), RangeAsk::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-9, 20-29", 1000), part(0, 9), "the first of several");
        for ignored in ["bytes=abc", "bytes=5-2", "items=0-9", "bytes=", "bytes=-", "bytes=1-2-3"] {
            assert_eq!(parse_range(ignored, 1000), RangeAsk::Whole, "{ignored}");
        }
    }

    #[test]
    fn fit_modes_size_the_box_as_mux_does() {
        let whole = Crop { x: 0, y: 0, width: 640, height: 360 };
        let preserve = fitted(whole, Some(200), Some(200), Fit::Preserve);
        assert_eq!((preserve.width, preserve.height, preserve.pad.is_none()), (Some(200), Some(113), true));
        let pad = fitted(whole, Some(200), Some(200), Fit::Pad);
        assert_eq!((pad.width, pad.height, pad.pad.map(|c| (c.width, c.height))), (Some(200), Some(113), Some((200, 200))));
        let crop = fitted(whole, Some(200), Some(200), Fit::Crop);
        let c = crop.crop.unwrap();
        assert_eq!((c.x, c.y, c.width, c.height, crop.width, crop.height), (140, 0, 360, 360, Some(200), Some(200)));
        let stretch = fitted(whole, Some(200), Some(200), Fit::Stretch);
        assert_eq!((stretch.width, stretch.height), (Some(200), Some(200)));
        let only_width = fitted(whole, Some(320), None, Fit::Pad);
        assert_eq!((only_width.width, only_width.height, only_width.pad.is_none()), (Some(320), None, true));
    }

    #[test]
    fn vtt_times_are_hours_minutes_seconds_millis() {
        assert_eq!(vtt_time(0.0), "00:00:00.000");
        assert_eq!(vtt_time(3723.4567), "01:02:03.457");
    }

    #[test]
    fn a_blurred_picture_is_less_sharp() {
        let (w, h) = (32, 32);
        let sharp: Vec<u8> = (0..w * h).flat_map(|i| if (i % w + i / w) % 2 == 0 { [255u8; 3] } else { [0u8; 3] }).collect();
        let flat = vec![128u8; w * h * 3];
        assert!(sharpness(&sharp, w, h) > sharpness(&flat, w, h));
        assert_eq!(sharpness(&flat, w, h), 0.0);
    }
}
