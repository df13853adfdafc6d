//! [`Tracker`]: detections to objects with stable ids, by greedy IoU matching (best pairs
//! first), falling back to centre distance for small fast things whose boxes no longer
//! overlap between analysed frames. A track unmatched for more than `max_missed` analysed
//! frames ends; whatever appears after gets a new id.

use crate::{Detection, Rect};

/// One tracked object on the current frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Tracked {
    pub id: u64,
    pub kind: &'static str,
    pub rect: Rect,
    pub confidence: f32,
}

/// One track, as [`Tracker::snapshot`] gives it and [`Tracker::restore`] takes it back.
#[derive(Clone, Debug, PartialEq)]
pub struct Track {
    pub id: u64,
    pub kind: &'static str,
    pub rect: Rect,
    pub missed: u32,
}

pub struct Tracker {
    next_id: u64,
    tracks: Vec<Track>,
    min_iou: f64,
    max_missed: u32,
}

impl Tracker {
    pub fn new(max_missed: u32) -> Tracker {
        Tracker { next_id: 1, tracks: Vec::new(), min_iou: 0.1, max_missed }
    }

    /// The tracker's state (for a task that resumes after a restart): the next id and the
    /// live tracks.
    pub fn snapshot(&self) -> (u64, Vec<Track>) {
        (self.next_id, self.tracks.clone())
    }

    /// A tracker that goes on from a [`Self::snapshot`].
    pub fn restore(max_missed: u32, next_id: u64, tracks: Vec<Track>) -> Tracker {
        Tracker { next_id: next_id.max(1), tracks, min_iou: 0.1, max_missed }
    }

    /// Matches this frame's detections of `kind` to the tracks of that kind; returns them
    /// with their ids (new ones for unmatched detections).
    pub fn update(&mut self, kind: &'static str, detections: &[Detection]) -> Vec<Tracked> {
        let mut pairs = Vec::new();
        for (t, track) in self.tracks.iter().enumerate().filter(|(_, t)| t.kind == kind) {
            for (d, det) in detections.iter().enumerate() {
                let iou = track.rect.iou(&det.rect);
                let score = if iou >= self.min_iou {
                    1.0 + iou
                } else {
                    // No overlap: near enough (within 1.5 times the larger box's side) still matches, below any overlap.
                    let ((ax, ay), (bx, by)) = (track.rect.center(), det.rect.center());
                    let reach = 1.5 * track.rect.width.max(track.rect.height).max(det.rect.width).max(det.rect.height) as f64;
                    let dist = ((ax - bx).powi(2) + (ay - by).powi(2)).sqrt();
                    if dist <= reach { 1.0 - dist / reach.max(1.0) } else { continue }
                };
                pairs.push((score, t, d));
            }
        }
        pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut track_used = vec![false; self.tracks.len()];
        let mut det_track: Vec<Option<usize>> = vec![None; detections.len()];
        for (_, t, d) in pairs {
            if !track_used[t] && det_track[d].is_none() {
                track_used[t] = true;
                det_track[d] = Some(t);
            }
        }
        for (t, track) in self.tracks.iter_mut().enumerate() {
            if track.kind == kind && !track_used[t] {
                track.missed += 1;
            }
        }
        let mut out = Vec::with_capacity(detections.len());
        for (d, det) in detections.iter().enumerate() {
            let id = match det_track[d] {
                Some(t) => {
                    self.tracks[t].rect = det.rect;
                    self.tracks[t].missed = 0;
                    self.tracks[t].id
                }
                None => {
                    let id = self.next_id;
                    self.next_id += 1;
                    self.tracks.push(Track { id, kind, rect: det.rect, missed: 0 });
                    id
                }
            };
            out.push(Tracked { id, kind, rect: det.rect, confidence: det.confidence });
        }
        let max_missed = self.max_missed;
        self.tracks.retain(|t| t.missed <= max_missed);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(x: i32, y: i32) -> Detection {
        Detection { rect: Rect { x, y, width: 40, height: 40 }, confidence: 1.0 }
    }

    #[test]
    fn ids_follow_objects_and_end_after_misses() {
        let mut t = Tracker::new(2);
        let a = t.update("motion", &[det(0, 0), det(200, 0)]);
        assert_eq!(a.iter().map(|o| o.id).collect::<Vec<_>>(), vec![1, 2]);
        // Both move; listed the other way round; one moves 45 px (no overlap, near).
        let b = t.update("motion", &[det(245, 0), det(10, 0)]);
        assert_eq!(b.iter().map(|o| o.id).collect::<Vec<_>>(), vec![2, 1]);
        // Object 1 missed three frames: gone; it comes back with a new id.
        for _ in 0..3 {
            t.update("motion", &[det(245, 0)]);
        }
        let c = t.update("motion", &[det(245, 0), det(10, 0)]);
        assert_eq!(c.iter().map(|o| o.id).collect::<Vec<_>>(), vec![2, 3]);
        // Kinds are tracked apart.
        let f = t.update("face", &[det(245, 0)]);
        assert_eq!(f[0].id, 4);
    }
}
