//! `GET /v1/videos/{id}/flow?index=N[&step=S&algorithm=A&format=color|x|y|flo&bound=B&width&height]`:
//! optical flow from frame N to frame N+S, computed and encoded by the host.
//!
//! Both frames come from one batch decode; `width`/`height` resize them before the flow as
//! denseflow does. Cacheable like frames (strong ETag over the bytes, a day of caching).

use frameflow_guest::bindings::frameflow::media::flow::{Algorithm, FlowEncoding, FlowField};
use frameflow_guest::bindings::frameflow::media::types::{FrameSelector, RenderOptions};
use frameflow_guest::bindings::frameflow::media::video::Video;
use frameflow_guest::{ApiError, ApiResult, Query, Reply};
use frameflow_guest::registry;

fn algorithm(query: &Query) -> ApiResult<Algorithm> {
    frameflow_guest::flow_algorithm("algorithm", query.get("algorithm").unwrap_or("dis-medium"))
}

fn encoding(query: &Query) -> ApiResult<(FlowEncoding, &'static str)> {
    Ok(match query.get("format").unwrap_or("color") {
        "color" => (FlowEncoding::Color, "image/png"),
        "x" => (FlowEncoding::JpegX, "image/jpeg"),
        "y" => (FlowEncoding::JpegY, "image/jpeg"),
        "flo" => (FlowEncoding::Flo, "application/octet-stream"),
        other => return Err(ApiError::bad_request(format!("'format' must be color, x, y or flo, got '{other}'"))),
    })
}

/// The query parameters of the flow route.
pub const FLOW_PARAMS: &[&str] = &["index", "step", "bound", "algorithm", "format", "width", "height"];

pub fn flow(id: &str, query: &Query, if_none_match: Option<&str>) -> ApiResult<Reply> {
    let record = registry::load(id)?;
    let index = query
        .number::<u64>("index", 0..=u64::MAX)?
        .ok_or_else(|| ApiError::bad_request("'index' (the first frame of the pair) is required"))?;
    let step = query.number::<u64>("step", 1..=10_000)?.unwrap_or(1);
    let bound = query.number::<f32>("bound", 0.01..=1000.0)?.unwrap_or(20.0);
    let algorithm = algorithm(query)?;
    let (encoding, content_type) = encoding(query)?;
    let render = RenderOptions {
        crop: None,
        width: query.number::<u32>("width", 1..=16384)?,
        height: query.number::<u32>("height", 1..=16384)?,
        pad: None,
    };
    let video = Video::open(&record.key)?;
    let last = index
        .checked_add(step)
        .filter(|&l| l < video.info().frame_count)
        .ok_or_else(|| ApiError::new(404, "frame_out_of_range", format!(
            "flow from frame {index} with step {step} needs frame {}, past the last frame {}",
            index.saturating_add(step),
            video.info().frame_count.saturating_sub(1)
        )))?;
    let frames = video.frames(&[FrameSelector::Index(index), FrameSelector::Index(last)], render)?;
    let field = FlowField::compute(&frames[0], &frames[1], algorithm)?;
    let bytes = field.encode(encoding, bound)?;
    let (a, b) = (frames[0].id(), frames[1].id());
    let headers = vec![
        ("x-flow-from-index".to_string(), a.index.to_string()),
        ("x-flow-to-index".into(), b.index.to_string()),
        ("x-flow-from-pts".into(), a.pts.to_string()),
        ("x-flow-to-pts".into(), b.pts.to_string()),
        ("x-flow-bound".into(), bound.to_string()),
        ("x-flow-width".into(), field.width().to_string()),
        ("x-flow-height".into(), field.height().to_string()),
    ];
    Ok(Reply::cacheable(bytes, content_type, headers, if_none_match))
}
