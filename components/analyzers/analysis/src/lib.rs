//! The built-in analyzers of `frameflow:analyzer`, as plain Rust, testable natively.
//!
//! - `model.rs`: what an analyzer sees ([`Observation`], [`Object`], [`BBox`]) and says
//!   ([`Event`]), mirroring the WIT types.
//! - `geometry.rs`: points, polygons and segments (inside, crossing, side).
//! - `params.rs`: seed 004's `Algorithm` entry (`DetectInfos` with `HotArea` / `TripWire`,
//!   `Extend`), validated against the frame size.
//! - `analyzers.rs`: [`Analyzer`] and the built-ins: [`AreaIntrusion`] (seed type 1),
//!   [`Tripwire`] (type 2), [`SceneChange`], [`Faces`], [`People`].
//! - `component.rs`: the WIT world and [`export_analyzer!`], which makes one of them a
//!   component.

mod analyzers;
pub mod component;
mod geometry;
mod model;
mod params;

pub use analyzers::{Analyzer, AreaIntrusion, Faces, People, SceneChange, Tripwire};
pub use geometry::Point;
pub use model::{BBox, ConfigError, Event, Needs, Object, Observation, Persistence};
pub use params::AlgorithmParams;
