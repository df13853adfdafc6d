//! [`execute`]: one pass over a video for a whole plan.

use std::collections::{BTreeMap, HashMap};

use frameflow_flow::{Algorithm, FlowEngine, GrayImage};
use frameflow_media::{FrameId, FrameSelector, ImageFormat, MediaError, RenderOptions, Video};
use serde::Serialize;

/// Most frame references one call may carry: bounds the bookkeeping a plan can cost.
pub const MAX_REFERENCES: usize = 1 << 20;

/// One clip of a plan.
#[derive(Clone, Debug)]
pub struct PlannedClip {
    /// The clip's number in its job; names its output folder.
    pub number: u32,
    pub frames: Vec<FrameSelector>,
    /// Empty, or as long as `frames`: flow k goes from `frames[k]` to `flow_to[k]`.
    pub flow_to: Vec<FrameSelector>,
}

/// What to write for each clip.
#[derive(Clone, Debug)]
pub struct OutputSpec {
    pub rgb: bool,
    pub flow: bool,
    pub format: ImageFormat,
    pub quality: u8,
    pub render: RenderOptions,
    pub algorithm: Algorithm,
    pub bound: f32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    Rgb,
    FlowX,
    FlowY,
}

impl OutputKind {
    /// The name manifests use: `rgb`, `flow_x`, `flow_y`.
    pub fn as_str(self) -> &'static str {
        match self {
            OutputKind::Rgb => "rgb",
            OutputKind::FlowX => "flow_x",
            OutputKind::FlowY => "flow_y",
        }
    }
}

/// One encoded output.
#[derive(Clone, Debug, Serialize)]
pub struct Output {
    pub clip: u32,
    pub k: u32,
    pub kind: OutputKind,
    /// `{clip:05}/img_{k:05}.jpg`, `{clip:05}/flow_x_{k:05}.jpg`...
    pub name: String,
    pub frame: FrameId,
    /// For flow: the frame the flow goes to.
    pub to: Option<FrameId>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RunStats {
    pub frames_needed: u64,
    pub frames_decoded: u64,
    pub flows_computed: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("clip {clip}: {reason}")]
    BadClip { clip: u32, reason: String },
    #[error("the plan has {0} frame references; at most {MAX_REFERENCES} fit in one call")]
    TooLarge(usize),
    #[error(transparent)]
    Media(#[from] MediaError),
    #[error("optical flow: {0}")]
    Flow(#[from] frameflow_flow::FlowError),
    #[error("writing {name}: {reason}")]
    Emit { name: String, reason: String },
    /// The host would not grant what the plan needs (memory): now (`busy`), or ever.
    #[error("{reason}")]
    Refused { reason: String, busy: bool },
}

/// What a decoded frame is wanted for.
#[derive(Default)]
struct Uses {
    /// (clip, k) pairs that get this frame as an image.
    images: Vec<(u32, u32)>,
    /// Flow pairs (by position in `pairs`) this frame is an end of.
    pairs: Vec<usize>,
}

struct FlowPair {
    from: usize,
    to: usize,
    /// (clip, k) that get this flow.
    uses: Vec<(u32, u32)>,
}

/// Runs `clips` over `video`: decodes each needed frame once in presentation order, encodes
/// images and flows per `spec`, and hands every output to `emit` with its bytes as soon as
/// it exists. Fails before decoding anything when a clip is malformed or a selector is out of
/// range.
pub fn execute(
    video: &mut Video,
    clips: &[PlannedClip],
    spec: &OutputSpec,
    emit: impl FnMut(Output, Vec<u8>) -> Result<(), String>,
) -> Result<RunStats, PlanError> {
    prepare(video, clips, spec)?.run(video, spec, emit)
}

/// A plan resolved against its video, before anything is decoded: which frames are needed
/// for what, and how many greyscale frames the flow pairs will hold at once.
pub struct Prepared {
    uses: BTreeMap<usize, Uses>,
    pairs: Vec<FlowPair>,
}

impl Prepared {
    /// Distinct frames the plan decodes.
    pub fn frames_needed(&self) -> usize {
        self.uses.len()
    }

    /// The most greyscale frames held at once while the plan runs: a flow pair's earlier
    /// frame is held from its decode until its later frame arrives, so far-apart pairs
    /// hold many. What a chunk costs in memory beyond one decoded frame.
    pub fn peak_held_frames(&self) -> usize {
        let mut pending: HashMap<usize, usize> = HashMap::new();
        let mut peak = 0;
        for (&i, wanted) in &self.uses {
            if wanted.pairs.is_empty() {
                continue;
            }
            pending.insert(i, wanted.pairs.len());
            peak = peak.max(pending.len());
            for &p in &wanted.pairs {
                let pair = &self.pairs[p];
                if pair.from.max(pair.to) != i {
                    continue;
                }
                for end in [pair.from, pair.to].into_iter().take(if pair.from == pair.to { 1 } else { 2 }) {
                    if let Some(n) = pending.get_mut(&end) {
                        *n -= 1;
                        if *n == 0 {
                            pending.remove(&end);
                        }
                    }
                }
            }
        }
        peak
    }
}

/// Resolves `clips` against `video` and works out what each needed frame is for.
pub fn prepare(video: &Video, clips: &[PlannedClip], spec: &OutputSpec) -> Result<Prepared, PlanError> {
    let references: usize = clips.iter().map(|c| c.frames.len() + c.flow_to.len()).sum();
    if references > MAX_REFERENCES {
        return Err(PlanError::TooLarge(references));
    }
    let mut uses: BTreeMap<usize, Uses> = BTreeMap::new();
    let mut pairs: Vec<FlowPair> = Vec::new();
    let mut pair_of: HashMap<(usize, usize), usize> = HashMap::new();
    for clip in clips {
        if spec.flow && clip.flow_to.len() != clip.frames.len() {
            return Err(PlanError::BadClip {
                clip: clip.number,
                reason: format!("flow needs one flow-to frame per frame: {} frames, {} flow-to", clip.frames.len(), clip.flow_to.len()),
            });
        }
        for (k, at) in clip.frames.iter().enumerate() {
            let from = video.resolve(*at)?;
            let at_k = (clip.number, k as u32);
            if spec.rgb {
                uses.entry(from).or_default().images.push(at_k);
            }
            if spec.flow {
                let to = video.resolve(clip.flow_to[k])?;
                let p = *pair_of.entry((from, to)).or_insert_with(|| {
                    pairs.push(FlowPair { from, to, uses: Vec::new() });
                    pairs.len() - 1
                });
                if pairs[p].uses.is_empty() {
                    uses.entry(from).or_default().pairs.push(p);
                    if to != from {
                        uses.entry(to).or_default().pairs.push(p);
                    }
                }
                pairs[p].uses.push(at_k);
            }
        }
    }

    Ok(Prepared { uses, pairs })
}

impl Prepared {
    /// Decodes, computes and emits everything the plan asks for (see [`execute`]).
    pub fn run(
        self,
        video: &mut Video,
        spec: &OutputSpec,
        mut emit: impl FnMut(Output, Vec<u8>) -> Result<(), String>,
    ) -> Result<RunStats, PlanError> {
        let Prepared { uses, pairs } = self;
        let needed: Vec<usize> = uses.keys().copied().collect();
        let decoded_before = video.frames_decoded();
        let mut stats = RunStats { frames_needed: needed.len() as u64, ..RunStats::default() };
        let engine = FlowEngine::new(spec.algorithm);
        // Greyscale copies of frames that a pending flow pair still needs, and how many pairs.
        let mut held: HashMap<usize, (FrameId, GrayImage, usize)> = HashMap::new();
        let ext = spec.format.extension();

        // The media core's callback speaks MediaError; a failure of our own is kept here and
        // the walk stopped.
        let mut failure: Option<PlanError> = None;
        let mut on_frame = |frame: frameflow_media::Frame| -> Result<(), PlanError> {
            let i = frame.id.index;
            let wanted = &uses[&i];
            if !wanted.images.is_empty() {
                // Repeated frames (repeat_last, overlapping clips) are encoded once.
                let bytes = frame.encode(spec.format, spec.quality)?;
                for &(clip, k) in &wanted.images {
                    let name = format!("{clip:05}/img_{k:05}.{ext}");
                    let out = Output { clip, k, kind: OutputKind::Rgb, name: name.clone(), frame: frame.id, to: None };
                    emit(out, bytes.clone()).map_err(|reason| PlanError::Emit { name, reason })?;
                }
            }
            if wanted.pairs.is_empty() {
                return Ok(());
            }
            let gray = GrayImage::from_rgb(&frame.image.data, frame.image.width, frame.image.height)?;
            held.insert(i, (frame.id, gray, wanted.pairs.len()));
            for &p in &wanted.pairs {
                let pair = &pairs[p];
                // A pair is computed when its later frame arrives; both are held by then.
                if pair.from.max(pair.to) != i {
                    continue;
                }
                let (from_id, from_gray, _) = &held[&pair.from];
                let (to_id, to_gray, _) = &held[&pair.to];
                let field = engine.compute(from_gray, to_gray)?;
                stats.flows_computed += 1;
                let (from_id, to_id) = (*from_id, *to_id);
                for (kind, x, plane) in [(OutputKind::FlowX, true, "flow_x"), (OutputKind::FlowY, false, "flow_y")] {
                    let bytes = field.to_jpeg_plane(spec.bound, x)?;
                    for &(clip, k) in &pair.uses {
                        let name = format!("{clip:05}/{plane}_{k:05}.jpg");
                        let out = Output { clip, k, kind, name: name.clone(), frame: from_id, to: Some(to_id) };
                        emit(out, bytes.clone()).map_err(|reason| PlanError::Emit { name, reason })?;
                    }
                }
                release(&mut held, pair.from);
                if pair.to != pair.from {
                    release(&mut held, pair.to);
                }
            }
            Ok(())
        };
        let walked = video.for_each_frame_at(&needed, &spec.render, |frame| {
            on_frame(frame).map_err(|e| {
                failure = Some(e);
                MediaError::InvalidOption("stopped: an output failed".into())
            })
        });
        if let Some(e) = failure {
            return Err(e);
        }
        walked?;
        stats.frames_decoded = video.frames_decoded() - decoded_before;
        Ok(stats)
    }
}

/// One pair is done with frame `i`: drop it when no pair needs it any more.
fn release(held: &mut HashMap<usize, (FrameId, GrayImage, usize)>, i: usize) {
    if let Some(h) = held.get_mut(&i) {
        h.2 -= 1;
        if h.2 == 0 {
            held.remove(&i);
        }
    }
}
