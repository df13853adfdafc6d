//! Frames: `GET /v1/videos/{id}/frame`, the id pages of `GET /v1/videos/{id}/frames` and its
//! batches (`?indices=`: many frames in one NumPy or raw body), and seed 001's
//! `GET /frame/{path}` over the host's media root.
//!
//! The host decodes, renders and encodes; this code picks the frame, the options, and the
//! HTTP headers (a strong ETag from the video's content tag and the query, checked before
//! decoding; a day of caching; the frame's three ids).

use frameflow_guest::bindings::frameflow::media::types::{Crop, FrameSelector, ImageFormat, RenderOptions};
use frameflow_guest::bindings::frameflow::media::video::{ArrayLayout, AudioFormat, AudioOptions, Video};
use frameflow_guest::{ApiError, ApiResult, Query, Reply};
use frameflow_guest::registry;

/// Largest output side, as the host's media core allows.
const MAX_SIDE: u32 = 16384;
/// Ids per page: default and most.
const DEFAULT_PAGE: u32 = 100;
const MAX_PAGE: u32 = 1000;

/// Which frame a query names: exactly one of `index`, `pts`, `time`.
fn selector(query: &Query) -> ApiResult<FrameSelector> {
    let index = query.number::<u64>("index", 0..=u64::MAX)?;
    let pts = query.number::<i64>("pts", i64::MIN..=i64::MAX)?;
    let time = query.number::<f64>("time", 0.0..=1e9)?;
    frameflow_guest::FrameSelector::one_of(index, pts, time)
        .map(FrameSelector::from)
        .map_err(|_| ApiError::bad_request("name the frame with exactly one of 'index', 'pts' or 'time'"))
}

fn crop(raw: &str) -> ApiResult<Crop> {
    let parts: Vec<&str> = raw.split(',').collect();
    let nums: Option<Vec<u32>> = parts.iter().map(|p| p.trim().parse().ok()).collect();
    match nums.as_deref() {
        Some(&[x, y, width, height]) if width > 0 && height > 0 => Ok(Crop { x, y, width, height }),
        _ => Err(ApiError::bad_request(format!("'crop' must be x,y,width,height with positive width and height, got '{raw}'"))),
    }
}

/// How to render and encode: `format`, `quality`, `width`, `height`, `crop`.
struct Output {
    format: ImageFormat,
    quality: u8,
    render: RenderOptions,
}

fn output(query: &Query) -> ApiResult<Output> {
    let format = match query.get("format").unwrap_or("jpeg") {
        "jpeg" | "jpg" => ImageFormat::Jpeg,
        "png" => ImageFormat::Png,
        "rgb24" => ImageFormat::Rgb24,
        "webp" => ImageFormat::Webp,
        other => return Err(ApiError::bad_request(format!("'format' must be jpeg, png, webp or rgb24, got '{other}'"))),
    };
    let quality = query.number::<u8>("quality", 1..=100)?.unwrap_or(90);
    let width = query.number::<u32>("width", 1..=MAX_SIDE)?;
    let height = query.number::<u32>("height", 1..=MAX_SIDE)?;
    let crop = query.get("crop").map(crop).transpose()?;
    Ok(Output { format, quality, render: RenderOptions { crop, width, height, pad: None } })
}

fn content_type(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Jpeg => "image/jpeg",
        ImageFormat::Png => "image/png",
        ImageFormat::Rgb24 => "application/octet-stream",
        ImageFormat::Webp => "image/webp",
    }
}

/// Decodes, encodes and answers one frame of `video` (304 without decoding when the
/// client holds this request's ETag).
fn serve_frame(video: &Video, route: &str, query: &Query, if_none_match: Option<&str>) -> ApiResult<Reply> {
    let at = selector(query)?;
    let out = output(query)?;
    let etag = Reply::derived_etag(&video.content_tag(), route, query);
    if let Some(unchanged) = Reply::not_modified(&etag, if_none_match) {
        return Ok(unchanged);
    }
    let frame = video.frame(at, out.render)?;
    // Encoded and sent by the host: the image never passes through this component.
    let encoded = frame.encode_held(out.format, out.quality)?;
    let id = frame.id();
    let info = video.info();
    let headers = vec![
        ("x-frame-index".to_string(), id.index.to_string()),
        ("x-frame-pts".into(), id.pts.to_string()),
        ("x-frame-seconds".into(), format!("{}", id.seconds)),
        ("x-frame-time-base".into(), format!("{}/{}", info.time_base_num, info.time_base_den)),
        ("x-frame-width".into(), frame.width().to_string()),
        ("x-frame-height".into(), frame.height().to_string()),
    ];
    Ok(Reply::cacheable_held(etag, encoded, content_type(out.format), headers, if_none_match))
}

/// The query parameters of the frame route.
pub const FRAME_PARAMS: &[&str] = &["index", "pts", "time", "format", "quality", "width", "height", "crop"];

/// `GET /v1/videos/{id}/frame?index=N|pts=P|time=T[&format&quality&width&height&crop]`.
pub fn frame(id: &str, query: &Query, if_none_match: Option<&str>) -> ApiResult<Reply> {
    let record = registry::load(id)?;
    let video = Video::open(&record.key)?;
    serve_frame(&video, "frame", query, if_none_match)
}

/// `GET /frame/{path}?pts=P` (seed 001): a file under the server's media root.
pub fn media_root_frame(path: &str, query: &Query, if_none_match: Option<&str>) -> ApiResult<Reply> {
    let video = Video::open_in_media_root(path)?;
    serve_frame(&video, "media-root-frame", query, if_none_match)
}

/// The query parameters of `/frames`: an id page, or with `indices` a batch of frames.
pub const FRAMES_PARAMS: &[&str] = &["from_index", "from_pts", "count", "indices", "format", "width", "height", "crop"];
/// Most frames one batch holds (the host's batch limit is the other bound).
const MAX_BATCH: usize = 256;

/// `GET /v1/videos/{id}/frames?indices=1,5,9[&format=npy|raw&width&height&crop]`: the frames
/// in one body, in the order asked (repeats allowed), decoded in one pass: a NumPy `.npy`
/// of shape (N, H, W, 3) uint8 (default) or raw RGB24 frames back to back. Cacheable like
/// a frame; `X-Frame-Count`, `X-Frame-Width`, `X-Frame-Height`.
pub fn batch(id: &str, query: &Query, if_none_match: Option<&str>) -> ApiResult<Reply> {
    let raw = query.get("indices").unwrap_or("");
    let indices: Vec<u64> = raw
        .split(',')
        .map(|s| s.trim().parse::<u64>().map_err(|_| ApiError::bad_request(format!("'indices' must be frame indices separated by commas, got '{raw}'"))))
        .collect::<ApiResult<_>>()?;
    if indices.len() > MAX_BATCH {
        return Err(ApiError::new(413, "too_large", format!("a batch holds at most {MAX_BATCH} frames, {} asked", indices.len())));
    }
    if query.get("from_index").is_some() || query.get("from_pts").is_some() || query.get("count").is_some() {
        return Err(ApiError::bad_request("'indices' asks for frames; 'from_index', 'from_pts' and 'count' page ids: give one or the other"));
    }
    let (layout, content_type) = match query.get("format").unwrap_or("npy") {
        "npy" => (ArrayLayout::Npy, "application/x-npy"),
        "raw" | "rgb24" => (ArrayLayout::Raw, "application/octet-stream"),
        other => return Err(ApiError::bad_request(format!("'format' of a batch must be npy or raw, got '{other}'"))),
    };
    let width = query.number::<u32>("width", 1..=MAX_SIDE)?;
    let height = query.number::<u32>("height", 1..=MAX_SIDE)?;
    let crop = query.get("crop").map(crop).transpose()?;
    let record = registry::load(id)?;
    let video = Video::open(&record.key)?;
    let etag = Reply::derived_etag(&video.content_tag(), "frames", query);
    if let Some(unchanged) = Reply::not_modified(&etag, if_none_match) {
        return Ok(unchanged);
    }
    let render = RenderOptions { crop, width, height, pad: None };
    let at: Vec<FrameSelector> = indices.iter().map(|&i| FrameSelector::Index(i)).collect();
    let (array, w, h) = video.frames_array(&at, render, layout)?;
    let headers = vec![
        ("x-frame-count".to_string(), indices.len().to_string()),
        ("x-frame-width".into(), w.to_string()),
        ("x-frame-height".into(), h.to_string()),
    ];
    Ok(Reply::cacheable_held(etag, array, content_type, headers, if_none_match))
}

/// The query parameters of `/audio`.
pub const AUDIO_PARAMS: &[&str] = &["start", "end", "sample_rate", "num_channels", "stream", "format"];

/// `GET /v1/videos/{id}/audio?start=S&end=E[&sample_rate=R&num_channels=C&stream=N&format=wav|npy]`:
/// the audio played in `[start, end)` seconds (default: all of it), float32 samples exactly
/// as `ffmpeg -f f32le [-ar R] [-ac C]` gives that span: a float WAV (default) or a NumPy
/// `.npy` of shape (channels, samples). Cacheable like a frame; `X-Sample-Rate`, `X-Channels`.
pub fn audio(id: &str, query: &Query, if_none_match: Option<&str>) -> ApiResult<Reply> {
    let start = query.number::<f64>("start", -1e12..=1e12)?.unwrap_or(0.0);
    let end = query.number::<f64>("end", -1e12..=1e12)?;
    if end.is_some_and(|e| e < start) {
        return Err(ApiError::bad_param("end", format!("'end' ({}) must not be before 'start' ({start})", end.unwrap_or_default())));
    }
    let sample_rate = query.number::<u32>("sample_rate", 1..=768_000)?;
    let num_channels = query.number::<u32>("num_channels", 1..=8)?;
    let stream = query.number::<u32>("stream", 0..=u32::MAX)?;
    let (format, content_type) = match query.get("format").unwrap_or("wav") {
        "wav" => (AudioFormat::Wav, "audio/wav"),
        "npy" => (AudioFormat::Npy, "application/x-npy"),
        other => return Err(ApiError::bad_param("format", format!("'format' of audio must be wav or npy, got '{other}'"))),
    };
    let record = registry::load(id)?;
    let video = Video::open(&record.key)?;
    let etag = Reply::derived_etag(&video.content_tag(), "audio", query);
    if let Some(unchanged) = Reply::not_modified(&etag, if_none_match) {
        return Ok(unchanged);
    }
    let options = AudioOptions { start, end, sample_rate, num_channels, stream, format };
    let (body, rate, channels) = video.audio(options)?;
    let headers = vec![("x-sample-rate".to_string(), rate.to_string()), ("x-channels".into(), channels.to_string())];
    Ok(Reply::cacheable_held(etag, body, content_type, headers, if_none_match))
}

/// `GET /v1/videos/{id}/frames?from_index=N|from_pts=P&count=K`: frame ids for sequential
/// readers, each with the URL that fetches it later, and the cursor of the next page.
pub fn ids_page(id: &str, query: &Query) -> ApiResult<Reply> {
    let record = registry::load(id)?;
    let video = Video::open(&record.key)?;
    let count = query.number::<u32>("count", 1..=MAX_PAGE)?.unwrap_or(DEFAULT_PAGE);
    let from = match (query.number::<u64>("from_index", 0..=u64::MAX)?, query.number::<i64>("from_pts", i64::MIN..=i64::MAX)?) {
        (Some(i), None) => i,
        (None, Some(p)) => video.locate(FrameSelector::Pts(p))?.index,
        (None, None) => 0,
        _ => return Err(ApiError::bad_request("give at most one of 'from_index' and 'from_pts'")),
    };
    let info = video.info();
    let ids = video.frame_ids(from, count);
    let frames: Vec<_> = ids
        .iter()
        .map(|f| {
            serde_json::json!({
                "index": f.index, "pts": f.pts, "seconds": f.seconds, "key": f.key,
                "url": format!("/v1/videos/{id}/frame?pts={}", f.pts),
            })
        })
        .collect();
    let next_index = from + ids.len() as u64;
    let next = (next_index < info.frame_count && !ids.is_empty()).then(|| serde_json::json!({"from_index": next_index}));
    Ok(Reply::json(
        200,
        &serde_json::json!({
            "video": id,
            "time_base": [info.time_base_num, info.time_base_den],
            "frame_count": info.frame_count,
            "frames": frames,
            "next": next,
        }),
    ))
}
