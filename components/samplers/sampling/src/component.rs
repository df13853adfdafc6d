//! The `frameflow:sampler/sampler` world, and [`wit_plan`]: a strategy behind the WIT types.
//! A sampler component is a struct whose `plan` calls `wit_plan` and an `export!` line.

pub mod bindings {
    wit_bindgen::generate!({
        path: "../../../wit",
        world: "frameflow:sampler/sampler",
        pub_export_macro: true,
        generate_all,
    });
}

use bindings::frameflow::media::types::{FrameSelector, VideoInfo};
use bindings::frameflow::sampler::types::{Clip as WitClip, PlanError};

use crate::strategies::{plan, Strategy, VideoFacts};

frameflow_selector::wit_conversions!(FrameSelector);

/// Runs `strategy` for the `plan` export.
pub fn wit_plan(strategy: Strategy, info: VideoInfo, params_json: &str, seed: u64) -> Result<Vec<WitClip>, PlanError> {
    let facts = VideoFacts {
        frame_count: info.frame_count,
        avg_fps: info.avg_fps,
        start_seconds: info.start_seconds,
        duration_seconds: info.duration_seconds,
    };
    match plan(strategy, &facts, params_json, seed) {
        Ok(clips) => Ok(clips
            .into_iter()
            .map(|c| WitClip {
                frames: c.frames.into_iter().map(FrameSelector::from).collect(),
                flow_to: c.flow_to.into_iter().map(FrameSelector::from).collect(),
            })
            .collect()),
        Err(e) => Err(PlanError { param: e.param, message: format!("{}: {}", strategy.name(), e.message) }),
    }
}

/// Exports a built-in strategy as this component's `frameflow:sampler/plan`:
/// `frameflow_sampling::export_sampler!(RandomClip);`
#[macro_export]
macro_rules! export_sampler {
    ($strategy:ident) => {
        struct Sampler;

        impl $crate::bindings::exports::frameflow::sampler::plan::Guest for Sampler {
            fn plan(
                info: $crate::bindings::frameflow::media::types::VideoInfo,
                params_json: String,
                seed: u64,
            ) -> Result<Vec<$crate::bindings::frameflow::sampler::types::Clip>, $crate::bindings::frameflow::sampler::types::PlanError> {
                $crate::wit_plan($crate::Strategy::$strategy, info, &params_json, seed)
            }
        }

        $crate::bindings::export!(Sampler with_types_in $crate::bindings);
    };
}
