//! frameflow's frames API as a WebAssembly component (spin-sdk 5.2, `wasi:http` 0.2).
//!
//! `handle` routes each request: `videos.rs` is the video registry, `frames.rs` serves
//! frames, frame-id pages and audio, `flow.rs` optical flow between two frames, `delivery.rs` the
//! stored video with ranges and thumbnails (also on seed 002's routes), `clips.rs` cuts by
//! frame range (re-encoded clips, animated previews, stream copies, HLS), `viewer.rs` the web
//! viewer at `/`, the shared `frameflow-guest`
//! crate parses queries, writes responses and maps host errors to statuses. Decoding, flow
//! and encoding happen in the host through `frameflow:media`; objects live in the
//! tenant's store through `frameflow:store`.

mod clips;
mod delivery;
mod flow;
mod frames;
mod videos;
mod viewer;

use spin_sdk::http::{IncomingRequest, Method, ResponseOutparam};
use spin_sdk::http_component;

use frameflow_guest::{header, percent_decode, send, ApiError, ApiResult, Query, Reply, RequestLine};

#[http_component]
async fn handle(req: IncomingRequest, out: ResponseOutparam) {
    let reply = match route(req).await {
        Ok(reply) => reply,
        Err(e) => e.into(),
    };
    send(out, reply).await;
}

async fn route(req: IncomingRequest) -> ApiResult<Reply> {
    let line = RequestLine::of(&req);
    let query = Query::parse(&line.query)?;
    let (method, path, inm) = (&line.method, line.path.as_str(), line.if_none_match.as_deref());
    let segments = line.segments();

    // v1 routes refuse query parameters they do not know (seed 001's route stays lenient).
    match (method, segments.as_slice()) {
        (Method::Post, ["v1", "videos"]) => {
            query.accept(&["name"])?;
            let content_type = header(&req, "content-type").unwrap_or_default();
            videos::create(req, &query, &content_type).await
        }
        (Method::Get, ["v1", "videos"]) => query.accept(&["limit", "start_after"]).and_then(|_| videos::list(&query)),
        (Method::Get, ["v1", "videos", id]) => query.accept(&[]).and_then(|_| videos::get(id)),
        (Method::Delete, ["v1", "videos", id]) => query.accept(&[]).and_then(|_| videos::delete(id)),
        (Method::Post, ["v1", "videos", id, "remux"]) => query.accept(&["container"]).and_then(|_| videos::remux(id, &query)),
        (Method::Get, ["v1", "videos", id, "frame"]) => query.accept(frames::FRAME_PARAMS).and_then(|_| frames::frame(id, &query, inm)),
        (Method::Get, ["v1", "videos", id, "frames"]) => {
            query.accept(frames::FRAMES_PARAMS).and_then(|_| match query.get("indices") {
                Some(_) => frames::batch(id, &query, inm),
                None => frames::ids_page(id, &query),
            })
        }
        (Method::Get, ["v1", "videos", id, "audio"]) => query.accept(frames::AUDIO_PARAMS).and_then(|_| frames::audio(id, &query, inm)),
        (Method::Get, ["v1", "videos", id, "flow"]) => query.accept(flow::FLOW_PARAMS).and_then(|_| flow::flow(id, &query, inm)),
        // Delivery, on the v1 routes and seed 002's `/api/v1/file/{id}/...` as written.
        (Method::Get, ["v1", "videos", id, "video"] | ["api", "v1", "file", id, "video"]) => {
            query.accept(delivery::VIDEO_PARAMS)?;
            let (range, if_range) = (header(&req, "range"), header(&req, "if-range"));
            delivery::video(id, &query, &delivery::Conditions { range: range.as_deref(), if_range: if_range.as_deref(), if_none_match: inm })
        }
        (Method::Get, ["v1", "videos", id, "clip"] | ["api", "v1", "file", id, "clip"]) => query.accept(clips::CLIP_PARAMS).and_then(|_| clips::clip(id, &query)),
        (Method::Get, ["v1", "videos", id, "animated"]) => query.accept(clips::ANIMATED_PARAMS).and_then(|_| clips::animated(id, &query)),
        (Method::Get, ["v1", "videos", id, "hls", "index.m3u8"]) => query.accept(&[]).and_then(|_| clips::hls_playlist(id)),
        (Method::Get, ["v1", "videos", id, "hls", segment]) => query.accept(&[]).and_then(|_| clips::hls_segment(id, segment)),
        (Method::Get, ["v1", "videos", id, "storyboard.jpg"]) => {
            query.accept(delivery::STORYBOARD_PARAMS).and_then(|_| delivery::storyboard_image(id, &query, inm))
        }
        (Method::Get, ["v1", "videos", id, "storyboard.vtt"]) => query.accept(delivery::STORYBOARD_PARAMS).and_then(|_| delivery::storyboard_vtt(id, &query)),
        (Method::Get, ["v1", "videos", id, "thumbnail"] | ["api", "v1", "file", id, "thumbnail"]) => {
            query.accept(delivery::THUMBNAIL_PARAMS).and_then(|_| delivery::thumbnail(id, &query, inm))
        }
        (Method::Get, [""]) => query.accept(&[]).map(|_| viewer::page()),
        (Method::Get, ["docs"]) => query.accept(&[]).map(|_| viewer::docs()),
        (Method::Get, ["v1", "openapi.json"]) => query.accept(&[]).map(|_| viewer::openapi()),
        (Method::Get, ["frame", rest @ ..]) if !rest.is_empty() => {
            let raw = rest.join("/");
            frames::media_root_frame(&percent_decode(&raw)?, &query, inm)
        }
        (_, ["v1", "videos", ..]) | (_, ["frame", ..]) | (_, ["api", "v1", "file", ..]) => {
            Err(ApiError::new(405, "method_not_allowed", format!("{method:?} is not allowed on {path}")))
        }
        _ => Err(ApiError::not_found(format!("no route for {path}"))),
    }
}
