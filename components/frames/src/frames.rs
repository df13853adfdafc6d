//! Frames: `GET /v1/videos/{id}/frame`, the id pages of `GET /v1/videos/{id}/frames`, and
//! seed 001's `GET /frame/{path}` over the host's media root.
//!
//! The host decodes, renders and encodes; this code picks the frame, the options, and the
//! HTTP headers (strong ETag over the bytes, a day of caching, the frame's three ids).

use frameflow_guest::bindings::frameflow::media::types::{Crop, FrameSelector, ImageFormat, RenderOptions};
use frameflow_guest::bindings::frameflow::media::video::Video;
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

/// Decodes, encodes and answers one frame of `video`.
fn serve_frame(video: &Video, query: &Query, if_none_match: Option<&str>) -> ApiResult<Reply> {
    let at = selector(query)?;
    let out = output(query)?;
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
    Ok(Reply::cacheable_held(encoded, content_type(out.format), headers, if_none_match))
}

/// The query parameters of the frame route.
pub const FRAME_PARAMS: &[&str] = &["index", "pts", "time", "format", "quality", "width", "height", "crop"];

/// `GET /v1/videos/{id}/frame?index=N|pts=P|time=T[&format&quality&width&height&crop]`.
pub fn frame(id: &str, query: &Query, if_none_match: Option<&str>) -> ApiResult<Reply> {
    let record = registry::load(id)?;
    let video = Video::open(&record.key)?;
    serve_frame(&video, query, if_none_match)
}

/// `GET /frame/{path}?pts=P` (seed 001): a file under the server's media root.
pub fn media_root_frame(path: &str, query: &Query, if_none_match: Option<&str>) -> ApiResult<Reply> {
    let video = Video::open_in_media_root(path)?;
    serve_frame(&video, query, if_none_match)
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
