//! The strategies. Index-based clips are `frames_per_clip` frames `frame_step` apart;
//! time-based clips are `frames_per_clip` timestamps `seconds_between_frames` apart. With
//! flow (`modality` `flow` or `rgb+flow`) every clip reaches one step further: flow k goes
//! from frame k to the frame one step later, so the last frame's flow needs a frame past the
//! clip, and the sampling range leaves room for it.

use crate::params::{Modality, ParamError, Params, Policy};
use crate::rng::SplitMix64;

/// Most clips one plan may hold.
pub const MAX_CLIPS: u64 = 10_000;
/// Most frames in one clip.
pub const MAX_FRAMES_PER_CLIP: u64 = 1024;
const MAX_STEP: u64 = 100_000;
/// Slack when comparing a computed timestamp with the last frame's time.
const TIME_EPSILON: f64 = 1e-9;

/// What a sampler knows about the video.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VideoFacts {
    pub frame_count: u64,
    pub avg_fps: f64,
    pub start_seconds: f64,
    pub duration_seconds: f64,
}

impl VideoFacts {
    fn fps(&self, param: &str) -> Result<f64, ParamError> {
        if self.avg_fps.is_finite() && self.avg_fps > 0.0 {
            Ok(self.avg_fps)
        } else {
            Err(ParamError::new(param, "the video has no usable frame rate; use frame counts instead of seconds"))
        }
    }

    /// The last frame's time, assuming a constant frame rate.
    fn last_seconds(&self, param: &str) -> Result<f64, ParamError> {
        Ok(self.start_seconds + (self.frame_count - 1) as f64 / self.fps(param)?)
    }
}

/// Which frame: plans name frames by 0-based presentation index, or by time on the
/// video's own timeline (the first frame at or after it); never by pts.
pub use frameflow_selector::FrameSelector as Selector;

/// One planned clip: frames in clip order; with flow, `flow_to[k]` is where flow k goes.
#[derive(Clone, Debug, PartialEq)]
pub struct Clip {
    pub frames: Vec<Selector>,
    pub flow_to: Vec<Selector>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// torchcodec's `clips_at_random_indices` / `clips_at_random_timestamps`.
    RandomClip,
    /// Evenly spread clips: TSN segments (`num_segments`, `mode` train|test) or one clip
    /// every `seconds_between_clips` (seed 000's `sample` pattern).
    Uniform,
    /// torchcodec's `clips_at_regular_indices` / `clips_at_regular_timestamps`.
    RegularClip,
}

impl Strategy {
    pub fn name(self) -> &'static str {
        match self {
            Strategy::RandomClip => "random-clip",
            Strategy::Uniform => "uniform",
            Strategy::RegularClip => "regular-clip",
        }
    }
}

/// The plan for one video.
pub fn plan(strategy: Strategy, facts: &VideoFacts, params_json: &str, seed: u64) -> Result<Vec<Clip>, ParamError> {
    if facts.frame_count == 0 {
        return Err(ParamError { param: None, message: "the video has no frames".into() });
    }
    let mut p = Params::parse(params_json)?;
    let modality = p.modality()?;
    let policy = p.policy()?;
    let mut rng = SplitMix64::new(seed);
    let time_based = p.has("seconds_between_frames") || p.has("seconds_between_clip_starts");
    let clips = if time_based && strategy != Strategy::Uniform {
        let clips = TimeClips::read(&mut p, facts, modality, policy)?;
        let (start, end) = clips.range(&mut p)?;
        let starts: Vec<f64> = match strategy {
            Strategy::RandomClip => {
                let n = p.int("num_clips", 1..=MAX_CLIPS)?.unwrap_or(1);
                (0..n).map(|_| start + rng.unit() * (end - start)).collect()
            }
            _ => {
                let every = p
                    .number("seconds_between_clip_starts", 0.0, 1e7, true)?
                    .ok_or_else(|| ParamError::new("seconds_between_clip_starts", "is required for clips at regular timestamps"))?;
                let count = ((end - start) / every + TIME_EPSILON).floor() as u64 + 1;
                if count > MAX_CLIPS {
                    return Err(ParamError::new("seconds_between_clip_starts", format!("gives {count} clips; at most {MAX_CLIPS}")));
                }
                (0..count).map(|i| start + i as f64 * every).collect()
            }
        };
        starts.into_iter().map(|s| clips.clip_at(s)).collect::<Result<Vec<_>, _>>()?
    } else {
        let clips = IndexClips::read(&mut p, facts, modality, policy)?;
        let (start, end) = clips.range(&mut p)?;
        let avail = end - start;
        let starts: Vec<u64> = match strategy {
            Strategy::RandomClip => {
                let n = p.int("num_clips", 1..=MAX_CLIPS)?.unwrap_or(1);
                (0..n).map(|_| start + rng.below(avail)).collect()
            }
            Strategy::RegularClip => {
                let n = p.int("num_clips", 1..=MAX_CLIPS)?.unwrap_or(1);
                // torch.linspace(start, end - 1, n) cast to integers (truncation).
                (0..n).map(|i| if n == 1 { start } else { start + (i as f64 * (avail - 1) as f64 / (n - 1) as f64) as u64 }).collect()
            }
            Strategy::Uniform => uniform_starts(&mut p, facts, start, avail, &mut rng)?,
        };
        starts.into_iter().map(|s| clips.clip_at(s)).collect::<Result<Vec<_>, _>>()?
    };
    p.finish()?;
    Ok(clips)
}

/// Uniform starts: one clip every `seconds_between_clips`, or TSN's `num_segments`.
fn uniform_starts(p: &mut Params, facts: &VideoFacts, start: u64, avail: u64, rng: &mut SplitMix64) -> Result<Vec<u64>, ParamError> {
    if let Some(interval) = p.number("seconds_between_clips", 0.0, 1e7, true)? {
        if p.has("num_segments") || p.has("num_clips") {
            return Err(ParamError::new("seconds_between_clips", "give seconds_between_clips or num_segments, not both"));
        }
        let every = interval * facts.fps("seconds_between_clips")?;
        let count = ((avail - 1) as f64 / every).floor() as u64 + 1;
        if count > MAX_CLIPS {
            return Err(ParamError::new("seconds_between_clips", format!("gives {count} clips; at most {MAX_CLIPS}")));
        }
        return Ok((0..count).map(|i| start + (i as f64 * every).round() as u64).filter(|&s| s < start + avail).collect());
    }
    let segments = p.int("num_segments", 1..=MAX_CLIPS)?;
    let clips = p.int("num_clips", 1..=MAX_CLIPS)?;
    if segments.is_some() && clips.is_some() {
        return Err(ParamError::new("num_clips", "give num_segments or num_clips (the same thing), not both"));
    }
    let k = segments.or(clips).unwrap_or(1);
    let train = p.choice("mode", &["train", "test"])?.as_deref() == Some("train");
    // TSN's _sample_indices (train) and _get_val_indices (test), over the clip starts.
    Ok(if train {
        let average = avail / k;
        if average > 0 {
            (0..k).map(|i| start + i * average + rng.below(average)).collect()
        } else if avail > k {
            let mut s: Vec<u64> = (0..k).map(|_| start + rng.below(avail)).collect();
            s.sort_unstable();
            s
        } else {
            vec![start; k as usize]
        }
    } else if avail > k {
        let tick = avail as f64 / k as f64;
        (0..k).map(|i| start + (tick / 2.0 + tick * i as f64) as u64).collect()
    } else {
        vec![start; k as usize]
    })
}

/// The number of frames per clip: `frames_per_clip`, or `clip_seconds` at `seconds_per_frame`.
fn frames_per_clip(p: &mut Params, seconds_per_frame: impl FnOnce() -> Result<f64, ParamError>) -> Result<u64, ParamError> {
    let n = p.int("frames_per_clip", 1..=MAX_FRAMES_PER_CLIP)?;
    let seconds = p.number("clip_seconds", 0.0, 1e7, true)?;
    match (n, seconds) {
        (Some(_), Some(_)) => Err(ParamError::new("clip_seconds", "give frames_per_clip or clip_seconds, not both")),
        (Some(n), None) => Ok(n),
        (None, Some(s)) => {
            let n = ((s / seconds_per_frame()?).round() as u64).max(1);
            if n > MAX_FRAMES_PER_CLIP {
                return Err(ParamError::new("clip_seconds", format!("gives {n} frames per clip; at most {MAX_FRAMES_PER_CLIP}")));
            }
            Ok(n)
        }
        (None, None) => Ok(1),
    }
}

/// Applies the end-of-video policy to a clip's positions; `valid(x)` says whether one exists.
fn apply_policy<T: Copy + std::fmt::Display>(ext: &mut [T], valid: impl Fn(T) -> bool, policy: Policy, what: &str) -> Result<(), ParamError> {
    let inside = ext.iter().take_while(|&&x| valid(x)).count();
    if inside == ext.len() {
        return Ok(());
    }
    match policy {
        Policy::Error => Err(ParamError::new(
            "policy",
            format!("a clip starting at {what} {} needs {what} {}, past the end of the video (policy 'error')", ext[0], ext[inside]),
        )),
        Policy::RepeatLast => {
            let last = ext[inside - 1];
            ext[inside..].iter_mut().for_each(|x| *x = last);
            Ok(())
        }
        Policy::Wrap => {
            for k in inside..ext.len() {
                ext[k] = ext[k % inside];
            }
            Ok(())
        }
    }
}

/// Splits a clip's positions (plus one for flow) into frames and flow targets.
fn split<T: Copy>(ext: &[T], n: usize, flow: bool, to: impl Fn(T) -> Selector) -> Clip {
    Clip {
        frames: ext[..n].iter().map(|&x| to(x)).collect(),
        flow_to: if flow { ext[1..=n].iter().map(|&x| to(x)).collect() } else { Vec::new() },
    }
}

struct IndexClips {
    n: u64,
    step: u64,
    flow: bool,
    policy: Policy,
    count: u64,
}

impl IndexClips {
    fn read(p: &mut Params, facts: &VideoFacts, modality: Modality, policy: Policy) -> Result<IndexClips, ParamError> {
        let step = p.int("frame_step", 1..=MAX_STEP)?.unwrap_or(1);
        let n = frames_per_clip(p, || Ok(step as f64 / facts.fps("clip_seconds")?))?;
        Ok(IndexClips { n, step, flow: modality.has_flow(), policy, count: facts.frame_count })
    }

    /// Frames one clip covers, first to last, including the flow target.
    fn span(&self) -> u64 {
        (self.n - 1 + self.flow as u64) * self.step + 1
    }

    /// `[start, end)` of clip starts: the sampling range, by default every start whose clip
    /// fits in the video (at least the first frame).
    fn range(&self, p: &mut Params) -> Result<(u64, u64), ParamError> {
        let start = p.int("sampling_range_start", 0..=self.count - 1)?.unwrap_or(0);
        let end = match p.int("sampling_range_end", 1..=self.count)? {
            Some(end) if end <= start => {
                return Err(ParamError::new("sampling_range_end", format!("must be above sampling_range_start ({start}), got {end}")));
            }
            Some(end) => end,
            None => (self.count + 1).saturating_sub(self.span()).max(start + 1),
        };
        Ok((start, end))
    }

    fn clip_at(&self, start: u64) -> Result<Clip, ParamError> {
        let mut ext: Vec<u64> = (0..self.n + self.flow as u64).map(|k| start + k * self.step).collect();
        apply_policy(&mut ext, |i| i < self.count, self.policy, "frame")?;
        Ok(split(&ext, self.n as usize, self.flow, Selector::Index))
    }
}

struct TimeClips {
    n: u64,
    between: f64,
    flow: bool,
    policy: Policy,
    first: f64,
    last: f64,
}

impl TimeClips {
    fn read(p: &mut Params, facts: &VideoFacts, modality: Modality, policy: Policy) -> Result<TimeClips, ParamError> {
        if p.has("frame_step") {
            return Err(ParamError::new("frame_step", "give frame_step (frames) or seconds_between_frames (time), not both"));
        }
        let between = match p.number("seconds_between_frames", 0.0, 1e7, true)? {
            Some(s) => s,
            None => 1.0 / facts.fps("seconds_between_frames")?,
        };
        let n = frames_per_clip(p, || Ok(between))?;
        let last = facts.last_seconds("seconds_between_frames")?;
        Ok(TimeClips { n, between, flow: modality.has_flow(), policy, first: facts.start_seconds, last })
    }

    /// `[start, end]` of clip start times.
    fn range(&self, p: &mut Params) -> Result<(f64, f64), ParamError> {
        let span = (self.n - 1 + self.flow as u64) as f64 * self.between;
        let start = p.number("sampling_range_start", self.first, self.last, false)?.unwrap_or(self.first);
        let end = match p.number("sampling_range_end", self.first, self.last, false)? {
            Some(end) if end < start => {
                return Err(ParamError::new("sampling_range_end", format!("must be at least sampling_range_start ({start}), got {end}")));
            }
            Some(end) => end,
            None => (self.last - span).max(start),
        };
        Ok((start, end))
    }

    fn clip_at(&self, start: f64) -> Result<Clip, ParamError> {
        let mut ext: Vec<f64> = (0..self.n + self.flow as u64).map(|k| start + k as f64 * self.between).collect();
        apply_policy(&mut ext, |t| t <= self.last + TIME_EPSILON, self.policy, "second")?;
        Ok(split(&ext, self.n as usize, self.flow, Selector::Seconds))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VIDEO: VideoFacts = VideoFacts { frame_count: 300, avg_fps: 25.0, start_seconds: 0.0, duration_seconds: 12.0 };

    fn indices(selectors: &[Selector]) -> Vec<u64> {
        selectors
            .iter()
            .map(|s| match s {
                Selector::Index(i) => *i,
                other => panic!("expected an index, got {other:?}"),
            })
            .collect()
    }

    fn param_of(r: Result<Vec<Clip>, ParamError>) -> Option<String> {
        r.expect_err("the params should be refused").param
    }

    #[test]
    fn same_seed_same_plan_other_seed_other_plan() {
        let params = r#"{"num_clips": 8, "frames_per_clip": 16, "frame_step": 2, "modality": "rgb+flow"}"#;
        for strategy in [Strategy::RandomClip, Strategy::Uniform, Strategy::RegularClip] {
            assert_eq!(plan(strategy, &VIDEO, params, 7).unwrap(), plan(strategy, &VIDEO, params, 7).unwrap());
        }
        assert_ne!(plan(Strategy::RandomClip, &VIDEO, params, 7).unwrap(), plan(Strategy::RandomClip, &VIDEO, params, 8).unwrap());
    }

    #[test]
    fn random_clips_stay_inside_the_video_and_the_sampling_range() {
        let clips = plan(Strategy::RandomClip, &VIDEO, r#"{"num_clips": 200, "frames_per_clip": 16, "frame_step": 3, "modality": "rgb+flow"}"#, 1).unwrap();
        assert_eq!(clips.len(), 200);
        for clip in &clips {
            let (frames, to) = (indices(&clip.frames), indices(&clip.flow_to));
            assert_eq!(frames.len(), 16);
            for k in 0..16 {
                assert_eq!(to[k], frames[k] + 3, "flow k goes one step past frame k");
                if k > 0 {
                    assert_eq!(frames[k], frames[k - 1] + 3);
                }
            }
            assert!(to[15] < 300, "the last flow target is inside the video: {to:?}");
        }
        let starts: Vec<u64> = clips.iter().map(|c| indices(&c.frames)[0]).collect();
        assert!(starts.iter().any(|&s| s < 50) && starts.iter().any(|&s| s > 200), "starts spread over the video: {starts:?}");

        let ranged = plan(Strategy::RandomClip, &VIDEO, r#"{"num_clips": 50, "frames_per_clip": 4, "sampling_range_start": 100, "sampling_range_end": 110}"#, 3).unwrap();
        assert!(ranged.iter().all(|c| (100..110).contains(&indices(&c.frames)[0])));
        assert!(ranged.iter().all(|c| c.flow_to.is_empty()), "rgb alone plans no flow");
    }

    #[test]
    fn past_the_end_policies() {
        let short = VideoFacts { frame_count: 10, ..VIDEO };
        let repeat = plan(Strategy::RandomClip, &short, r#"{"frames_per_clip": 14}"#, 0).unwrap();
        assert_eq!(indices(&repeat[0].frames), vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9, 9]);
        let wrap = plan(Strategy::RandomClip, &short, r#"{"frames_per_clip": 14, "policy": "wrap"}"#, 0).unwrap();
        assert_eq!(indices(&wrap[0].frames), vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3]);
        let refused = plan(Strategy::RandomClip, &short, r#"{"frames_per_clip": 14, "policy": "error"}"#, 0);
        assert_eq!(param_of(refused), Some("policy".into()));
        // With flow, the last flow of a clip that fills the video repeats the last frame.
        let flow = plan(Strategy::RegularClip, &short, r#"{"frames_per_clip": 10, "modality": "flow"}"#, 0).unwrap();
        assert_eq!(indices(&flow[0].flow_to), vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 9]);
    }

    #[test]
    fn regular_clips_are_torch_linspace() {
        let clips = plan(Strategy::RegularClip, &VIDEO, r#"{"num_clips": 5, "frames_per_clip": 16}"#, 0).unwrap();
        // torch.linspace(0, 300 - 16, 5).int() == [0, 71, 142, 213, 284]
        let starts: Vec<u64> = clips.iter().map(|c| indices(&c.frames)[0]).collect();
        assert_eq!(starts, vec![0, 71, 142, 213, 284]);
    }

    #[test]
    fn uniform_is_tsn_and_seed_intervals() {
        // TSN test mode: the centre of each of 3 segments over 300 - 5 + 1 = 296 starts.
        let test = plan(Strategy::Uniform, &VIDEO, r#"{"num_segments": 3, "frames_per_clip": 5}"#, 0).unwrap();
        let starts: Vec<u64> = test.iter().map(|c| indices(&c.frames)[0]).collect();
        assert_eq!(starts, vec![49, 148, 246]);
        // Train mode: one random start inside each segment of 98.
        let train = plan(Strategy::Uniform, &VIDEO, r#"{"num_segments": 3, "frames_per_clip": 5, "mode": "train"}"#, 9).unwrap();
        for (i, c) in train.iter().enumerate() {
            let s = indices(&c.frames)[0];
            assert!((i as u64 * 98..(i as u64 + 1) * 98).contains(&s), "segment {i}: {s}");
        }
        // Seed 000's sample: a clip of 0.2 s every 2 s of video time at 25 fps.
        let sample = plan(Strategy::Uniform, &VIDEO, r#"{"seconds_between_clips": 2.0, "clip_seconds": 0.2}"#, 0).unwrap();
        let starts: Vec<u64> = sample.iter().map(|c| indices(&c.frames)[0]).collect();
        assert_eq!(starts, vec![0, 50, 100, 150, 200, 250]);
        assert!(sample.iter().all(|c| c.frames.len() == 5));
    }

    #[test]
    fn clips_by_time() {
        let clips = plan(Strategy::RandomClip, &VIDEO, r#"{"num_clips": 20, "frames_per_clip": 4, "seconds_between_frames": 0.5}"#, 5).unwrap();
        let last = (300 - 1) as f64 / 25.0;
        for c in &clips {
            let times: Vec<f64> = c.frames.iter().map(|s| match s { Selector::Seconds(t) => *t, _ => panic!("seconds") }).collect();
            assert!(times[0] >= 0.0 && times[3] <= last + 1e-9, "{times:?}");
            assert!((times[1] - times[0] - 0.5).abs() < 1e-9);
        }
        let regular = plan(Strategy::RegularClip, &VIDEO, r#"{"seconds_between_clip_starts": 4.0, "seconds_between_frames": 0.04}"#, 0).unwrap();
        assert_eq!(regular.len(), 3, "starts at 0, 4 and 8 s (11.96 s is the last frame)");
    }

    #[test]
    fn bad_params_name_the_parameter() {
        let cases = [
            (r#"{"frames_per_clip": 0}"#, Some("frames_per_clip")),
            (r#"{"frames_per_clip": 5000}"#, Some("frames_per_clip")),
            (r#"{"frame_per_clip": 4}"#, Some("frame_per_clip")),
            (r#"{"num_clips": "many"}"#, Some("num_clips")),
            (r#"{"num_clips": 1e9}"#, Some("num_clips")),
            (r#"{"policy": "loop"}"#, Some("policy")),
            (r#"{"modality": "depth"}"#, Some("modality")),
            (r#"{"frame_step": -1}"#, Some("frame_step")),
            (r#"{"sampling_range_start": 50, "sampling_range_end": 50}"#, Some("sampling_range_end")),
            (r#"{"sampling_range_start": 300}"#, Some("sampling_range_start")),
            (r#"{"frames_per_clip": 2, "clip_seconds": 1}"#, Some("clip_seconds")),
            (r#"{"seconds_between_frames": 0}"#, Some("seconds_between_frames")),
            (r#"{"seconds_between_frames": 0.1, "frame_step": 2}"#, Some("frame_step")),
            (r#"not json"#, None),
            (r#"[1, 2]"#, None),
        ];
        for (params, param) in cases {
            let got = param_of(plan(Strategy::RandomClip, &VIDEO, params, 0));
            assert_eq!(got.as_deref(), param, "params {params}");
        }
        assert_eq!(param_of(plan(Strategy::RegularClip, &VIDEO, r#"{"seconds_between_frames": 0.1}"#, 0)).as_deref(), Some("seconds_between_clip_starts"));
        assert_eq!(param_of(plan(Strategy::Uniform, &VIDEO, r#"{"mode": "eval"}"#, 0)).as_deref(), Some("mode"));
        let empty = VideoFacts { frame_count: 0, ..VIDEO };
        assert!(plan(Strategy::RandomClip, &empty, "{}", 0).is_err());
    }
}
