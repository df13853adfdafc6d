//! Detections as tenants upload them, read one at a time (bounded memory whatever the
//! upload's size) and checked against the video:
//!
//! ```json
//! {"frame": 120, "trace_id": 7, "kind": "face", "bbox": {"x": 10, "y": 20, "width": 64, "height": 64},
//!  "confidence": 0.91, "identity": {"uuid": "c354...", "name": "Audrey Hepburn", "source": "tmdb"} | null}
//! ```
//!
//! as JSON Lines (one per line) or as one JSON document `{"detections": [...]}`.

use std::io::{BufRead, Read};

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

#[derive(Deserialize, Clone, Debug, PartialEq)]
pub struct BoxIn {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

#[derive(Deserialize, Clone, Debug, PartialEq)]
pub struct Identity {
    pub uuid: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
}

/// One uploaded detection.
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DetectionIn {
    pub frame: i64,
    pub trace_id: i64,
    #[serde(default = "face")]
    pub kind: String,
    pub bbox: BoxIn,
    pub confidence: f64,
    #[serde(default)]
    pub identity: Option<Identity>,
    /// Set on a detection whose trace looks at another trace's face at that frame (the
    /// representative frame's "mutual gaze" step).
    #[serde(default)]
    pub mutual_gaze: bool,
}

fn face() -> String {
    "face".into()
}

/// A detection checked against the video: its box clipped to the frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Detection {
    pub frame: u64,
    pub trace_id: i64,
    pub kind: String,
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub confidence: f64,
    pub identity: Option<Identity>,
    pub mutual_gaze: bool,
}

/// Why an upload is refused; `at` is the detection's position (1-based).
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("detection {at}: {message}")]
    Bad { at: u64, message: String },
    #[error("the body is not detections: {0}")]
    Syntax(String),
    /// Nothing but whitespace: refused rather than read as "no detections", which would
    /// replace the stored set with nothing (`{"detections": []}` says that on purpose).
    #[error("the request body is empty: send JSON Lines or {{\"detections\": [...]}} ({{\"detections\": []}} clears them)")]
    Empty,
    #[error("{0}")]
    Internal(String),
}

/// The longest `identity.name`, in characters.
pub const MAX_NAME: usize = 256;

/// What the video allows.
#[derive(Clone, Copy, Debug)]
pub struct Frame {
    pub frames: u64,
    pub width: f64,
    pub height: f64,
}

impl DetectionIn {
    /// Checked: the frame exists, the box has a positive size and overlaps the picture
    /// (clipped to it; `clipped` says it was), the confidence is a number in 0..=1.
    pub fn check(self, at: u64, video: Frame) -> Result<(Detection, bool), UploadError> {
        let bad = |message: String| UploadError::Bad { at, message };
        if self.frame < 0 || self.frame as u64 >= video.frames {
            return Err(bad(format!("frame {} is not in the video (frames 0..{})", self.frame, video.frames.saturating_sub(1))));
        }
        let b = &self.bbox;
        if ![b.x, b.y, b.width, b.height].iter().all(|v| v.is_finite()) {
            return Err(bad("the box has a value that is not a number".into()));
        }
        if b.width <= 0.0 || b.height <= 0.0 {
            return Err(bad(format!("the box is {}x{}: sides must be positive", b.width, b.height)));
        }
        if !self.confidence.is_finite() || !(0.0..=1.0).contains(&self.confidence) {
            return Err(bad(format!("confidence {} is not in 0..=1", self.confidence)));
        }
        let (x0, y0) = (b.x.max(0.0), b.y.max(0.0));
        let (x1, y1) = ((b.x + b.width).min(video.width), (b.y + b.height).min(video.height));
        if x1 <= x0 || y1 <= y0 {
            return Err(bad(format!("the box ({}, {}, {}x{}) is outside the {}x{} frame", b.x, b.y, b.width, b.height, video.width, video.height)));
        }
        let clipped = (x0, y0, x1, y1) != (b.x, b.y, b.x + b.width, b.y + b.height);
        if self.kind.is_empty() || self.kind.len() > 64 {
            return Err(bad("kind is 1-64 characters".into()));
        }
        if let Some(id) = &self.identity {
            if id.uuid.is_empty() || id.uuid.len() > 128 {
                return Err(bad("identity.uuid is 1-128 characters".into()));
            }
            // Names are people's (any script): counted in characters, bounded like the rest.
            if id.name.as_ref().is_some_and(|n| n.chars().count() > MAX_NAME) {
                return Err(bad(format!("identity.name is at most {MAX_NAME} characters")));
            }
            if id.source.as_ref().is_some_and(|s| s.len() > 64) {
                return Err(bad("identity.source is at most 64 characters".into()));
            }
        }
        Ok((
            Detection {
                frame: self.frame as u64,
                trace_id: self.trace_id,
                kind: self.kind,
                x: x0,
                y: y0,
                width: x1 - x0,
                height: y1 - y0,
                confidence: self.confidence,
                identity: self.identity,
                mutual_gaze: self.mutual_gaze,
            },
            clipped,
        ))
    }
}

/// Calls `each` with every detection of `body` in order: JSON Lines, or `{"detections":
/// [...]}` read element by element; [`UploadError::Empty`] for a blank body.
pub fn for_each(body: impl BufRead, mut each: impl FnMut(DetectionIn) -> Result<(), UploadError>) -> Result<u64, UploadError> {
    let mut body = body;
    // The first non-blank byte tells the form apart: `{"detections"` or a JSON line.
    let first = loop {
        let buf = body.fill_buf().map_err(|e| UploadError::Syntax(e.to_string()))?;
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => {
                body.consume(i);
                break body.fill_buf().map_err(|e| UploadError::Syntax(e.to_string()))?.first().copied();
            }
            None if buf.is_empty() => break None,
            None => {
                let n = buf.len();
                body.consume(n);
            }
        }
    };
    if first.is_none() {
        return Err(UploadError::Empty);
    }
    // Peek: a document is an object whose first key is "detections".
    let mut head = Vec::new();
    let peek = body.fill_buf().map_err(|e| UploadError::Syntax(e.to_string()))?;
    head.extend_from_slice(&peek[..peek.len().min(64)]);
    let text = String::from_utf8_lossy(&head);
    let is_document = text.trim_start_matches('{').trim_start().starts_with("\"detections\"");
    if is_document {
        let mut count = 0u64;
        let mut de = serde_json::Deserializer::from_reader(body);
        let visitor = DocumentVisitor { each: &mut each, count: &mut count };
        match de.deserialize_map_seed(visitor) {
            Ok(()) => Ok(count),
            Err(e) => Err(unwrap_error(e)),
        }
    } else {
        let mut count = 0u64;
        for (n, line) in body.lines().enumerate() {
            let line = line.map_err(|e| UploadError::Syntax(e.to_string()))?;
            if line.trim().is_empty() {
                continue;
            }
            let d: DetectionIn = serde_json::from_str(&line).map_err(|e| UploadError::Syntax(format!("line {}: {e}", n + 1)))?;
            count += 1;
            each(d)?;
        }
        Ok(count)
    }
}

/// An upload error carried through serde's error type.
fn unwrap_error(e: serde_json::Error) -> UploadError {
    let text = e.to_string();
    match text.strip_prefix("FRAMEFLOW:") {
        Some(rest) => {
            let (at, message) = rest.split_once(':').unwrap_or(("0", rest));
            let message = message.split(" at line ").next().unwrap_or(message).to_string();
            UploadError::Bad { at: at.parse().unwrap_or(0), message }
        }
        None => UploadError::Syntax(text),
    }
}

trait MapSeed {
    fn deserialize_map_seed<V: for<'de> Visitor<'de, Value = ()>>(&mut self, v: V) -> Result<(), serde_json::Error>;
}

impl<R: Read> MapSeed for serde_json::Deserializer<serde_json::de::IoRead<R>> {
    fn deserialize_map_seed<V: for<'de> Visitor<'de, Value = ()>>(&mut self, v: V) -> Result<(), serde_json::Error> {
        serde::Deserializer::deserialize_map(&mut *self, v)?;
        self.end()
    }
}

struct DocumentVisitor<'a, F> {
    each: &'a mut F,
    count: &'a mut u64,
}

impl<'de, F: FnMut(DetectionIn) -> Result<(), UploadError>> Visitor<'de> for DocumentVisitor<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("{\"detections\": [...]}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "detections" {
                map.next_value_seed(ListSeed { each: &mut *self.each, count: &mut *self.count })?;
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct ListSeed<'a, F> {
    each: &'a mut F,
    count: &'a mut u64,
}

impl<'de, F: FnMut(DetectionIn) -> Result<(), UploadError>> DeserializeSeed<'de> for ListSeed<'_, F> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(DetectionIn) -> Result<(), UploadError>> Visitor<'de> for ListSeed<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of detections")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(d) = seq.next_element::<DetectionIn>()? {
            *self.count += 1;
            if let Err(e) = (self.each)(d) {
                let (at, message) = match e {
                    UploadError::Bad { at, message } => (at, message),
                    other => (*self.count, other.to_string()),
                };
                return Err(serde::de::Error::custom(format!("FRAMEFLOW:{at}:{message}")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VIDEO: Frame = Frame { frames: 100, width: 640.0, height: 360.0 };

    fn line(frame: i64, x: f64, w: f64, conf: f64) -> String {
        format!(r#"{{"frame": {frame}, "trace_id": 1, "kind": "face", "bbox": {{"x": {x}, "y": 10, "width": {w}, "height": 40}}, "confidence": {conf}, "identity": null}}"#)
    }

    #[test]
    fn both_forms_read_and_bad_detections_are_named() {
        let jsonl = format!("{}\n\n{}\n", line(0, 10.0, 40.0, 0.9), line(5, 620.0, 40.0, 0.5));
        let mut got = Vec::new();
        assert_eq!(for_each(jsonl.as_bytes(), |d| Ok(got.push(d.check(1, VIDEO).unwrap()))).unwrap(), 2);
        assert_eq!((got[1].0.width, got[1].1), (20.0, true), "clipped at the right edge");
        let doc = format!(r#"{{"detections": [{}, {}]}}"#, line(0, 10.0, 40.0, 0.9), line(99, 0.0, 4.0, 1.0));
        let mut n = 0;
        assert_eq!(for_each(doc.as_bytes(), |_| Ok(n += 1)).unwrap(), 2);
        assert_eq!(n, 2);
        // Checks, with the detection's position.
        let doc = format!(r#"{{"detections": [{}, {}]}}"#, line(0, 10.0, 40.0, 0.9), line(100, 0.0, 4.0, 1.0));
        let mut at = 0;
        let err = for_each(doc.as_bytes(), |d| {
            at += 1;
            d.check(at, VIDEO).map(|_| ())
        })
        .unwrap_err();
        assert!(matches!(&err, UploadError::Bad { at: 2, message } if message.contains("frame 100")), "{err}");
        for bad in [line(0, 10.0, 0.0, 0.5), line(0, 700.0, 10.0, 0.5), line(0, 10.0, 10.0, 1.5), line(-1, 10.0, 10.0, 0.5)] {
            let d: DetectionIn = serde_json::from_str(&bad).unwrap();
            assert!(d.check(1, VIDEO).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<DetectionIn>(&line(0, 1.0, 1.0, 0.5).replace("0.5", "NaN")).is_err(), "NaN is not JSON");
        assert!(for_each("{not json".as_bytes(), |_| Ok(())).is_err());
    }

    #[test]
    fn identity_names_and_sources_are_bounded() {
        let with = |name: &str, source: &str| {
            let mut d: DetectionIn = serde_json::from_str(&line(0, 10.0, 40.0, 0.9)).unwrap();
            d.identity = Some(Identity { uuid: "u-1".into(), name: Some(name.into()), source: Some(source.into()) });
            d.check(1, VIDEO).map(|_| ())
        };
        assert!(with(&"é".repeat(MAX_NAME), "tmdb").is_ok(), "characters, not bytes");
        let err = with(&"n".repeat(MAX_NAME + 1), "tmdb").unwrap_err();
        assert!(matches!(&err, UploadError::Bad { at: 1, message } if message == "identity.name is at most 256 characters"), "{err}");
        assert!(with("Audrey", &"s".repeat(65)).is_err());
    }

    #[test]
    fn a_blank_body_is_refused_and_an_empty_list_is_not() {
        for blank in ["", " ", "\n\n", " \t\r\n "] {
            assert!(matches!(for_each(blank.as_bytes(), |_| Ok(())), Err(UploadError::Empty)), "{blank:?}");
        }
        assert_eq!(for_each(r#"{"detections": []}"#.as_bytes(), |_| Ok(())).unwrap(), 0, "clearing them is said on purpose");
    }
}
