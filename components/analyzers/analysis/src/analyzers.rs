//! [`Analyzer`]: the per-frame logic of one algorithm, and the built-in ones.
//!
//! | name | seed type | needs | raises |
//! |---|---|---|---|
//! | [`AreaIntrusion`] | 1 | motion (or `Extend.Objects`: `people`, `faces`) | `intrusion` (presence) for an object whose box centre is inside a `HotArea` |
//! | [`Tripwire`] | 2 | motion (or `Extend.Objects`) | `crossing` (instant) when an object's centre crosses a `TripWire` in its direction |
//! | [`SceneChange`] | — | scene | `cut` (instant) when the score reaches `Extend.Threshold` (0.3) |
//! | [`Faces`] | — | faces | `face` (presence) per tracked face |
//! | [`People`] | — | people | `person` (presence) per tracked person |

use std::collections::BTreeMap;

use serde_json::json;

use crate::geometry::{crosses, inside, Point};
use crate::model::{ConfigError, Event, Needs, Observation, Persistence};
use crate::params::AlgorithmParams;

/// One algorithm's per-frame logic; its state lives in the value between frames.
pub trait Analyzer: Default {
    /// Its name in the analyzer registry.
    const NAME: &'static str;
    fn configure(&mut self, params_json: &str, width: u32, height: u32) -> Result<Needs, ConfigError>;
    fn analyze(&mut self, observation: &Observation) -> Vec<Event>;
    fn save(&self) -> Vec<u8> {
        Vec::new()
    }
    fn restore(&mut self, _state: &[u8]) -> Result<(), String> {
        Ok(())
    }
}

/// The objects an area or wire watches: `Extend.Objects` = `motion` (default), `people`
/// or `faces`.
fn watched(params: &AlgorithmParams) -> Result<(Needs, &'static str), ConfigError> {
    match params.extend.get("Objects").and_then(|v| v.as_str()).unwrap_or("motion") {
        "motion" => Ok((Needs { motion: true, ..Needs::default() }, "motion")),
        "people" => Ok((Needs { people: true, ..Needs::default() }, "person")),
        "faces" => Ok((Needs { faces: true, ..Needs::default() }, "face")),
        other => Err(ConfigError::at("Extend.Objects", format!("'{other}' is not one of motion, people, faces"))),
    }
}

/// Seed type 1: an object inside a `HotArea`.
#[derive(Default)]
pub struct AreaIntrusion {
    areas: Vec<Vec<Point>>,
    kind: &'static str,
}

impl Analyzer for AreaIntrusion {
    const NAME: &'static str = "area_intrusion";

    fn configure(&mut self, params_json: &str, width: u32, height: u32) -> Result<Needs, ConfigError> {
        let params = AlgorithmParams::parse(params_json, width, height)?;
        if params.areas.is_empty() {
            return Err(ConfigError::at("DetectInfos", "area_intrusion needs at least one HotArea"));
        }
        let (needs, kind) = watched(&params)?;
        self.areas = params.areas;
        self.kind = kind;
        Ok(needs)
    }

    fn analyze(&mut self, observation: &Observation) -> Vec<Event> {
        let mut events = Vec::new();
        for object in observation.objects.iter().filter(|o| o.kind == self.kind) {
            if let Some(area) = self.areas.iter().position(|a| inside(a, object.bbox.center())) {
                events.push(Event {
                    object_id: Some(object.id),
                    bbox: Some(object.bbox),
                    persistence: Persistence::Presence,
                    label: "intrusion".into(),
                    extend: json!({"Area": area}),
                });
            }
        }
        events
    }
}

/// Seed type 2: an object crossing a `TripWire` (in its direction, when one is given).
#[derive(Default)]
pub struct Tripwire {
    wires: Vec<crate::params::Wire>,
    kind: &'static str,
    /// Each tracked object's last centre.
    last: BTreeMap<u64, (f64, f64)>,
}

impl Analyzer for Tripwire {
    const NAME: &'static str = "tripwire";

    fn configure(&mut self, params_json: &str, width: u32, height: u32) -> Result<Needs, ConfigError> {
        let params = AlgorithmParams::parse(params_json, width, height)?;
        if params.wires.is_empty() {
            return Err(ConfigError::at("DetectInfos", "tripwire needs at least one TripWire"));
        }
        let (needs, kind) = watched(&params)?;
        self.wires = params.wires;
        self.kind = kind;
        Ok(needs)
    }

    fn analyze(&mut self, observation: &Observation) -> Vec<Event> {
        let mut events = Vec::new();
        let mut seen = BTreeMap::new();
        for object in observation.objects.iter().filter(|o| o.kind == self.kind) {
            let now = object.bbox.center();
            if let Some(&(x, y)) = self.last.get(&object.id) {
                let before = Point { x, y };
                for (i, wire) in self.wires.iter().enumerate() {
                    let along = match wire.direction {
                        Some((a, b)) => (now.x - before.x) * (b.x - a.x) + (now.y - before.y) * (b.y - a.y) > 0.0,
                        None => true,
                    };
                    if along && crosses(wire.start, wire.end, before, now) {
                        events.push(Event {
                            object_id: Some(object.id),
                            bbox: Some(object.bbox),
                            persistence: Persistence::Instant,
                            label: "crossing".into(),
                            extend: json!({"Wire": i}),
                        });
                    }
                }
            }
            seen.insert(object.id, (now.x, now.y));
        }
        // Objects the tracker no longer follows are forgotten with it.
        self.last = seen;
        events
    }

    fn save(&self) -> Vec<u8> {
        serde_json::to_vec(&self.last).unwrap_or_default()
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        if !state.is_empty() {
            self.last = serde_json::from_slice(state).map_err(|e| format!("tripwire state: {e}"))?;
        }
        Ok(())
    }
}

/// A cut: the scene-change score at or above `Extend.Threshold` (0.3 by default).
#[derive(Default)]
pub struct SceneChange {
    threshold: f32,
}

impl Analyzer for SceneChange {
    const NAME: &'static str = "scene_change";

    fn configure(&mut self, params_json: &str, width: u32, height: u32) -> Result<Needs, ConfigError> {
        let params = AlgorithmParams::parse(params_json, width, height)?;
        let threshold = params.extend_f64("Threshold").unwrap_or(0.3);
        if !(threshold > 0.0 && threshold <= 1.0) {
            return Err(ConfigError::at("Extend.Threshold", format!("{threshold} is not in (0, 1]")));
        }
        self.threshold = threshold as f32;
        Ok(Needs { scene: true, ..Needs::default() })
    }

    fn analyze(&mut self, observation: &Observation) -> Vec<Event> {
        match observation.scene_score {
            Some(score) if score >= self.threshold => vec![Event {
                object_id: None,
                bbox: None,
                persistence: Persistence::Instant,
                label: "cut".into(),
                extend: json!({"Score": score}),
            }],
            _ => Vec::new(),
        }
    }
}

/// Every tracked object of one kind, as a presence.
fn each_object(observation: &Observation, kind: &str) -> Vec<Event> {
    observation
        .objects
        .iter()
        .filter(|o| o.kind == kind)
        .map(|o| Event {
            object_id: Some(o.id),
            bbox: Some(o.bbox),
            persistence: Persistence::Presence,
            label: kind.into(),
            extend: json!({"Confidence": o.confidence}),
        })
        .collect()
}

/// Faces (OpenCV's Haar cascade in the host), each tracked face a presence.
#[derive(Default)]
pub struct Faces;

impl Analyzer for Faces {
    const NAME: &'static str = "face";

    fn configure(&mut self, params_json: &str, width: u32, height: u32) -> Result<Needs, ConfigError> {
        AlgorithmParams::parse(params_json, width, height)?;
        Ok(Needs { faces: true, ..Needs::default() })
    }

    fn analyze(&mut self, observation: &Observation) -> Vec<Event> {
        each_object(observation, "face")
    }
}

/// People (OpenCV's HOG detector in the host), each tracked person a presence.
#[derive(Default)]
pub struct People;

impl Analyzer for People {
    const NAME: &'static str = "people";

    fn configure(&mut self, params_json: &str, width: u32, height: u32) -> Result<Needs, ConfigError> {
        AlgorithmParams::parse(params_json, width, height)?;
        Ok(Needs { people: true, ..Needs::default() })
    }

    fn analyze(&mut self, observation: &Observation) -> Vec<Event> {
        each_object(observation, "person")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BBox, Object};

    fn frame(index: u64, objects: &[(u64, i32, i32)]) -> Observation {
        Observation {
            index,
            time: index as f64 / 25.0,
            objects: objects
                .iter()
                .map(|&(id, x, y)| Object { id, kind: "motion".into(), bbox: BBox { x, y, width: 20, height: 20 }, confidence: 1.0 })
                .collect(),
            scene_score: Some(0.0),
        }
    }

    #[test]
    fn intrusion_is_the_centre_in_an_area() {
        let mut a = AreaIntrusion::default();
        let params = r#"{"DetectInfos":[{"HotArea":[{"X":100,"Y":0},{"X":200,"Y":0},{"X":200,"Y":100},{"X":100,"Y":100}]}]}"#;
        assert_eq!(a.configure(params, 320, 240).unwrap(), Needs { motion: true, ..Needs::default() });
        assert!(a.analyze(&frame(0, &[(1, 50, 40)])).is_empty());
        // Centre (95, 50): the box overlaps the area, its centre does not.
        assert!(a.analyze(&frame(1, &[(1, 85, 40)])).is_empty());
        let e = a.analyze(&frame(2, &[(1, 95, 40), (2, 10, 10)]));
        assert_eq!(e.len(), 1);
        assert_eq!((e[0].object_id, e[0].persistence), (Some(1), Persistence::Presence));
        assert!(a.configure(r#"{"DetectInfos":[]}"#, 320, 240).is_err(), "no area");
        assert!(a.configure(r#"{"DetectInfos":[{"HotArea":[{"X":1,"Y":1},{"X":2,"Y":2},{"X":3,"Y":1}]}],"Extend":{"Objects":"cars"}}"#, 320, 240).is_err());
    }

    #[test]
    fn tripwire_counts_its_direction_only_and_survives_a_restore() {
        let params = r#"{"DetectInfos":[{"TripWire":{"LineStart":{"X":100,"Y":0},"LineEnd":{"X":100,"Y":200},
            "DirectStart":{"X":0,"Y":50},"DirectEnd":{"X":10,"Y":50}}}]}"#;
        let mut t = Tripwire::default();
        t.configure(params, 320, 240).unwrap();
        assert!(t.analyze(&frame(0, &[(1, 70, 50), (2, 120, 50)])).is_empty());
        // 1 goes left to right (the direction): counted; 2 goes right to left: not.
        let e = t.analyze(&frame(1, &[(1, 95, 50), (2, 60, 50)]));
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].object_id, Some(1));
        let saved = t.save();
        let mut resumed = Tripwire::default();
        resumed.configure(params, 320, 240).unwrap();
        resumed.restore(&saved).unwrap();
        // Object 2 turns round and crosses left to right after the restore.
        let e = resumed.analyze(&frame(2, &[(2, 120, 50)]));
        assert_eq!(e.iter().map(|e| e.object_id).collect::<Vec<_>>(), vec![Some(2)]);
    }

    #[test]
    fn scene_change_threshold() {
        let mut s = SceneChange::default();
        s.configure(r#"{"Extend":{"Threshold":"0.5"}}"#, 320, 240).unwrap();
        let mut o = frame(0, &[]);
        o.scene_score = Some(0.4);
        assert!(s.analyze(&o).is_empty());
        o.scene_score = Some(0.6);
        assert_eq!(s.analyze(&o)[0].label, "cut");
        assert!(s.configure(r#"{"Extend":{"Threshold":2}}"#, 320, 240).is_err());
    }
}
