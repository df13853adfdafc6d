//! What an analyzer is given per frame and what it answers: the WIT types as plain Rust.

/// A box in source pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BBox {
    pub x: i32,
    pub y: i32,
    pub width: i32,
    pub height: i32,
}

impl BBox {
    /// The box's centre, the point analyzers place an object by.
    pub fn center(&self) -> crate::Point {
        crate::Point { x: self.x as f64 + self.width as f64 / 2.0, y: self.y as f64 + self.height as f64 / 2.0 }
    }
}

/// One tracked object on the frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Object {
    pub id: u64,
    pub kind: String,
    pub bbox: BBox,
    pub confidence: f32,
}

/// One analysed frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    pub index: u64,
    pub time: f64,
    pub objects: Vec<Object>,
    pub scene_score: Option<f32>,
}

/// What the host computes for an analyzer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    pub motion: bool,
    pub faces: bool,
    pub people: bool,
    pub scene: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Persistence {
    Presence,
    Instant,
}

/// An event an analyzer raises.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub object_id: Option<u64>,
    pub bbox: Option<BBox>,
    pub persistence: Persistence,
    pub label: String,
    pub extend: serde_json::Value,
}

/// Parameters an analyzer cannot work with.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigError {
    pub param: Option<String>,
    pub message: String,
}

impl ConfigError {
    pub fn at(param: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError { param: Some(param.into()), message: message.into() }
    }
}
