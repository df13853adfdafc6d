//! Choosing and cutting faces and frames (blocking work on a decoded video):
//! [`representative_face`] (seed 002's two stages: a trace's top 10 by area × confidence,
//! then the least blurry by FFmpeg's blurdetect on the face crop), [`face_thumbnail`] (that
//! face as a 320×320 JPEG: a square around the box, padded where it leaves the frame) and
//! [`representative_frame`] (the fallback chain, within the video's first half).

use frameflow_media::{Crop, ImageFormat, RenderOptions, Video};
use serde::Serialize;

use crate::db::{DetectionsDb, Row};

/// The faces the first stage keeps.
pub const TOP_FACES: u64 = 10;
/// The thumbnail's side.
pub const THUMBNAIL_SIDE: u32 = 320;

/// The chosen face of a trace.
#[derive(Clone, Debug, Serialize)]
pub struct Representative {
    pub row: Row,
    pub blur_score: f64,
    /// Detections in the trace.
    pub face_count: u64,
}

fn crop_of(row: &Row, width: u32, height: u32) -> Option<Crop> {
    let x0 = row.x.floor().max(0.0) as u32;
    let y0 = row.y.floor().max(0.0) as u32;
    let x1 = ((row.x + row.width).ceil() as u32).min(width);
    let y1 = ((row.y + row.height).ceil() as u32).min(height);
    (x1 > x0 && y1 > y0).then_some(Crop { x: x0, y: y0, width: x1 - x0, height: y1 - y0 })
}

/// The trace's representative face (`None`: no such trace).
pub fn representative_face(db: &DetectionsDb, video: &mut Video, trace: i64) -> Result<Option<Representative>, String> {
    let Some((face_count, _, _)) = db.trace(trace).map_err(|e| e.to_string())? else { return Ok(None) };
    let top = db.top(trace, TOP_FACES).map_err(|e| e.to_string())?;
    let (w, h) = (video.info().width, video.info().height);
    let mut best: Option<Representative> = None;
    for row in top {
        let Some(crop) = crop_of(&row, w, h) else { continue };
        let picture = video.frame(row.frame as usize, &RenderOptions { crop: Some(crop), ..RenderOptions::default() }).map_err(|e| e.to_string())?;
        let image = &picture.image;
        let blur = crate::blur::blur_score(&image.data, image.width, image.height)?;
        // Sharper wins; on a tie (two faces without edges), the better first-stage score.
        let better = match &best {
            None => true,
            Some(b) => blur < b.blur_score || (blur == b.blur_score && row.quality > b.row.quality),
        };
        if better {
            best = Some(Representative { row, blur_score: blur, face_count });
        }
    }
    Ok(best)
}

/// The face as a `THUMBNAIL_SIDE`² JPEG: the square around the box's centre (side: the
/// box's longer side), the part inside the frame scaled, the rest black.
pub fn face_thumbnail(video: &mut Video, row: &Row) -> Result<Vec<u8>, String> {
    let (w, h) = (video.info().width as f64, video.info().height as f64);
    let side = row.width.max(row.height).max(1.0);
    let (cx, cy) = (row.x + row.width / 2.0, row.y + row.height / 2.0);
    let (x0, y0) = ((cx - side / 2.0).max(0.0), (cy - side / 2.0).max(0.0));
    let (x1, y1) = ((cx + side / 2.0).min(w), (cy + side / 2.0).min(h));
    let crop = Crop { x: x0 as u32, y: y0 as u32, width: ((x1 - x0) as u32).max(1), height: ((y1 - y0) as u32).max(1) };
    let scale = THUMBNAIL_SIDE as f64 / side;
    let options = RenderOptions {
        crop: Some(crop),
        width: Some(((crop.width as f64 * scale).round() as u32).clamp(1, THUMBNAIL_SIDE)),
        height: Some(((crop.height as f64 * scale).round() as u32).clamp(1, THUMBNAIL_SIDE)),
        pad: Some((THUMBNAIL_SIDE, THUMBNAIL_SIDE)),
        ..RenderOptions::default()
    };
    let frame = video.frame(row.frame as usize, &options).map_err(|e| e.to_string())?;
    frame.encode(ImageFormat::Jpeg, 90).map_err(|e| e.to_string())
}

/// How the representative frame was found (seed 002's chain).
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    MutualGaze,
    CoOccurrence,
    SingleIdentity,
    AnyIdentity,
}

#[derive(Clone, Debug, Serialize)]
pub struct RepresentativeFrame {
    pub frame: u64,
    pub reason: Reason,
    pub main_identities: Vec<(String, Option<String>, u64)>,
    pub traces: Vec<Row>,
    /// The best area × confidence among the faces on that frame.
    pub face_quality: f64,
}

/// Seed 002's fallback chain, within the first half of `frames`: the two identities with
/// most faces → their first mutual gaze → their first co-occurrence; one main identity →
/// its best face; else the best face of any identity; `None` when there is no face.
pub fn representative_frame(db: &DetectionsDb, frames: u64) -> Result<Option<RepresentativeFrame>, String> {
    representative_frame_in(db, 0, (frames / 2).max(1))
}

/// The same chain within frames `from..until` (a chunk).
pub fn representative_frame_in(db: &DetectionsDb, from: u64, until: u64) -> Result<Option<RepresentativeFrame>, String> {
    let frames = from..until;
    let e = |e: rusqlite::Error| e.to_string();
    let main = db.main_identities(2, frames.clone()).map_err(e)?;
    let mut chosen = None;
    if let [a, b] = main.as_slice() {
        if let Some(f) = db.mutual_gaze(&a.0, &b.0, frames.clone()).map_err(e)? {
            chosen = Some((f, Reason::MutualGaze));
        } else if let Some((f, _)) = db.cooccurrence(&a.0, &b.0, frames.clone()).map_err(e)? {
            chosen = Some((f, Reason::CoOccurrence));
        }
    }
    if chosen.is_none() {
        if let [a] = main.as_slice() {
            chosen = db.best(Some(&a.0), frames.clone()).map_err(e)?.map(|r| (r.frame, Reason::SingleIdentity));
        }
    }
    if chosen.is_none() {
        chosen = db.best(None, frames).map_err(e)?.map(|r| (r.frame, Reason::AnyIdentity));
    }
    let Some((frame, reason)) = chosen else { return Ok(None) };
    let traces = db.at(frame).map_err(e)?;
    let face_quality = traces.iter().map(|r| r.quality).fold(0.0, f64::max);
    Ok(Some(RepresentativeFrame { frame, reason, main_identities: main, traces, face_quality }))
}
