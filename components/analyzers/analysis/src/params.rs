//! Seed 004's `Algorithm` entry, as an analyzer receives it:
//!
//! ```json
//! {"Type": 1, "TrackInterval": 1, "DetectInterval": 5,
//!  "TargetSize": {"MinDetect": 30, "MaxDetect": 250},
//!  "DetectInfos": [{"HotArea": [{"X": 10, "Y": 10}, ...],
//!                   "TripWire": {"LineStart": {"X":..,"Y":..}, "LineEnd": {..},
//!                                "DirectStart": {..}, "DirectEnd": {..}}}],
//!  "Extend": {"key": "value"}}
//! ```
//!
//! Only what analyzers use is read here (the host reads the intervals and target size);
//! areas and wires are checked against the frame.

use serde::Deserialize;

use crate::geometry::Point;
use crate::model::ConfigError;

#[derive(Deserialize, Clone, Copy, Debug)]
struct XY {
    #[serde(rename = "X")]
    x: f64,
    #[serde(rename = "Y")]
    y: f64,
}

#[derive(Deserialize, Debug)]
struct WireJson {
    #[serde(rename = "LineStart")]
    line_start: XY,
    #[serde(rename = "LineEnd")]
    line_end: XY,
    #[serde(rename = "DirectStart")]
    direct_start: Option<XY>,
    #[serde(rename = "DirectEnd")]
    direct_end: Option<XY>,
}

#[derive(Deserialize, Debug, Default)]
struct DetectInfoJson {
    #[serde(rename = "HotArea")]
    hot_area: Option<Vec<XY>>,
    // The seed's table spells it "TripleWire"; its JSON "TripWire". Both are read.
    #[serde(rename = "TripWire", alias = "TripleWire")]
    trip_wire: Option<WireJson>,
}

#[derive(Deserialize, Debug, Default)]
struct AlgorithmJson {
    #[serde(rename = "DetectInfos")]
    detect_infos: Option<Vec<DetectInfoJson>>,
    #[serde(rename = "Extend")]
    extend: Option<serde_json::Value>,
}

/// A directed wire: crossing it from `direction`'s start side to its end side counts (any
/// way when the direction is empty, as in the seed's example).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Wire {
    pub start: Point,
    pub end: Point,
    pub direction: Option<(Point, Point)>,
}

/// One `Algorithm` entry, checked.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlgorithmParams {
    pub areas: Vec<Vec<Point>>,
    pub wires: Vec<Wire>,
    /// `Extend` (an object; `{}` when absent).
    pub extend: serde_json::Map<String, serde_json::Value>,
}

impl AlgorithmParams {
    /// Reads and checks `json` for a `width`×`height` source.
    pub fn parse(json: &str, width: u32, height: u32) -> Result<AlgorithmParams, ConfigError> {
        let raw: AlgorithmJson = if json.trim().is_empty() {
            AlgorithmJson::default()
        } else {
            serde_json::from_str(json).map_err(|e| ConfigError { param: None, message: format!("the algorithm parameters are not valid: {e}") })?
        };
        let (w, h) = (width as f64, height as f64);
        let in_frame = |p: XY, at: &str| -> Result<Point, ConfigError> {
            if !(p.x.is_finite() && p.y.is_finite()) || p.x < 0.0 || p.y < 0.0 || p.x > w || p.y > h {
                return Err(ConfigError::at(at, format!("({}, {}) is outside the {width}x{height} frame", p.x, p.y)));
            }
            Ok(Point { x: p.x, y: p.y })
        };
        let mut params = AlgorithmParams::default();
        for (i, info) in raw.detect_infos.unwrap_or_default().into_iter().enumerate() {
            if let Some(area) = info.hot_area {
                let at = format!("DetectInfos[{i}].HotArea");
                if area.len() < 3 {
                    return Err(ConfigError::at(at, format!("an area needs at least 3 points, not {}", area.len())));
                }
                params.areas.push(area.iter().enumerate().map(|(k, p)| in_frame(*p, &format!("{at}[{k}]"))).collect::<Result<_, _>>()?);
            }
            if let Some(wire) = info.trip_wire {
                let at = format!("DetectInfos[{i}].TripWire");
                let start = in_frame(wire.line_start, &format!("{at}.LineStart"))?;
                let end = in_frame(wire.line_end, &format!("{at}.LineEnd"))?;
                if start == end {
                    return Err(ConfigError::at(format!("{at}.LineEnd"), "a wire needs two different points"));
                }
                let direction = match (wire.direct_start, wire.direct_end) {
                    (Some(a), Some(b)) if (a.x, a.y) != (b.x, b.y) => Some((Point { x: a.x, y: a.y }, Point { x: b.x, y: b.y })),
                    _ => None,
                };
                params.wires.push(Wire { start, end, direction });
            }
        }
        params.extend = match raw.extend {
            None | Some(serde_json::Value::Null) => Default::default(),
            Some(serde_json::Value::Object(map)) => map,
            Some(_) => return Err(ConfigError::at("Extend", "Extend must be a JSON object")),
        };
        Ok(params)
    }

    /// `Extend[key]` as a number, when it is one.
    pub fn extend_f64(&self, key: &str) -> Option<f64> {
        self.extend.get(key).and_then(|v| v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_entry_reads_and_bad_areas_are_named() {
        let json = r#"{"Type":1,"TrackInterval":1,"DetectInterval":5,"TargetSize":{"MinDetect":30,"MaxDetect":250},
            "DetectInfos":[{"HotArea":[{"X":10,"Y":10},{"X":191,"Y":10},{"X":191,"Y":107},{"X":10,"Y":107}],
            "TripWire":{"LineStart":{"X":100,"Y":200},"LineEnd":{"X":500,"Y":300},"DirectStart":{"X":170,"Y":260},"DirectEnd":{"X":170,"Y":260}}}],
            "Extend":{"key":"value"}}"#;
        let p = AlgorithmParams::parse(json, 640, 360).unwrap();
        assert_eq!(p.areas.len(), 1);
        assert_eq!(p.areas[0].len(), 4);
        assert_eq!(p.wires[0].direction, None, "the seed's example has an empty direction");
        assert_eq!(p.extend["key"], "value");

        let two = r#"{"DetectInfos":[{"HotArea":[{"X":10,"Y":10},{"X":191,"Y":10}]}]}"#;
        let e = AlgorithmParams::parse(two, 640, 360).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("DetectInfos[0].HotArea"));
        let outside = r#"{"DetectInfos":[{"HotArea":[{"X":10,"Y":10},{"X":900,"Y":10},{"X":10,"Y":50}]}]}"#;
        let e = AlgorithmParams::parse(outside, 640, 360).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("DetectInfos[0].HotArea[1]"));
        assert!(AlgorithmParams::parse("{not json", 640, 360).is_err());
        assert!(AlgorithmParams::parse(r#"{"Extend": 3}"#, 640, 360).is_err());
    }
}
