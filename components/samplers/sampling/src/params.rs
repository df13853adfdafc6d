//! [`Params`]: a sampler's JSON parameters, validated, with errors that name the parameter.

use serde_json::{Map, Value};

/// A rejected parameter set.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamError {
    /// The parameter at fault, when there is one.
    pub param: Option<String>,
    pub message: String,
}

impl ParamError {
    pub fn new(param: &str, message: impl Into<String>) -> ParamError {
        ParamError { param: Some(param.to_string()), message: message.into() }
    }
}

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.param {
            Some(p) => write!(f, "'{p}': {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// What a clip yields: images, optical flow, or both aligned (flow k from frame k to the
/// frame one step later).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Modality {
    Rgb,
    Flow,
    RgbFlow,
}

impl Modality {
    pub fn parse(s: &str) -> Option<Modality> {
        match s {
            "rgb" => Some(Modality::Rgb),
            "flow" => Some(Modality::Flow),
            "rgb+flow" | "rgb_flow" | "both" => Some(Modality::RgbFlow),
            _ => None,
        }
    }

    pub fn has_flow(self) -> bool {
        self != Modality::Rgb
    }
}

/// What to do with a clip frame past the end of the video (torchcodec's `policy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Repeat the clip's last frame inside the video.
    RepeatLast,
    /// Start again from the clip's first frame.
    Wrap,
    /// Refuse the plan.
    Error,
}

/// The parameters, read from a JSON object. Each getter checks type and range; `finish`
/// refuses keys nobody asked for, so a misspelt parameter is an error, not a silent default.
pub struct Params {
    map: Map<String, Value>,
    seen: Vec<&'static str>,
}

impl Params {
    pub fn parse(json: &str) -> Result<Params, ParamError> {
        let text = if json.trim().is_empty() { "{}" } else { json };
        let value: Value = serde_json::from_str(text).map_err(|e| ParamError { param: None, message: format!("params are not JSON: {e}") })?;
        match value {
            Value::Object(map) => Ok(Params { map, seen: Vec::new() }),
            Value::Null => Ok(Params { map: Map::new(), seen: Vec::new() }),
            other => Err(ParamError { param: None, message: format!("params must be a JSON object, got {other}") }),
        }
    }

    fn value(&mut self, name: &'static str) -> Option<&Value> {
        self.seen.push(name);
        self.map.get(name).filter(|v| !v.is_null())
    }

    pub fn has(&self, name: &str) -> bool {
        self.map.get(name).is_some_and(|v| !v.is_null())
    }

    /// An integer in `range`.
    pub fn int(&mut self, name: &'static str, range: std::ops::RangeInclusive<u64>) -> Result<Option<u64>, ParamError> {
        let Some(v) = self.value(name) else { return Ok(None) };
        let n = v.as_u64().ok_or_else(|| ParamError::new(name, format!("must be a whole number, got {v}")))?;
        if !range.contains(&n) {
            return Err(ParamError::new(name, format!("must be between {} and {}, got {n}", range.start(), range.end())));
        }
        Ok(Some(n))
    }

    /// A finite number in `min..=max`; `positive` also refuses zero.
    pub fn number(&mut self, name: &'static str, min: f64, max: f64, positive: bool) -> Result<Option<f64>, ParamError> {
        let Some(v) = self.value(name) else { return Ok(None) };
        let x = v.as_f64().filter(|x| x.is_finite()).ok_or_else(|| ParamError::new(name, format!("must be a number, got {v}")))?;
        if x < min || x > max || (positive && x <= 0.0) {
            let lower = if positive { format!("above {min}") } else { format!("at least {min}") };
            return Err(ParamError::new(name, format!("must be {lower} and at most {max}, got {x}")));
        }
        Ok(Some(x))
    }

    /// One of `choices`.
    pub fn choice(&mut self, name: &'static str, choices: &[&str]) -> Result<Option<String>, ParamError> {
        let Some(v) = self.value(name) else { return Ok(None) };
        match v.as_str() {
            Some(s) if choices.contains(&s) => Ok(Some(s.to_string())),
            _ => Err(ParamError::new(name, format!("must be one of {}, got {v}", choices.join(", ")))),
        }
    }

    pub fn modality(&mut self) -> Result<Modality, ParamError> {
        Ok(match self.choice("modality", &["rgb", "flow", "rgb+flow", "rgb_flow", "both"])? {
            Some(m) => Modality::parse(&m).expect("a listed choice"),
            None => Modality::Rgb,
        })
    }

    pub fn policy(&mut self) -> Result<Policy, ParamError> {
        Ok(match self.choice("policy", &["repeat_last", "wrap", "error"])?.as_deref() {
            Some("wrap") => Policy::Wrap,
            Some("error") => Policy::Error,
            _ => Policy::RepeatLast,
        })
    }

    /// Refuses parameters that were never read.
    pub fn finish(self) -> Result<(), ParamError> {
        let mut unknown: Vec<&String> = self.map.keys().filter(|k| !self.seen.contains(&k.as_str())).collect();
        unknown.sort();
        match unknown.first() {
            Some(k) => {
                let mut known = self.seen.clone();
                known.sort();
                known.dedup();
                Err(ParamError::new(k, format!("unknown parameter for this sampler; it takes {}", known.join(", "))))
            }
            None => Ok(()),
        }
    }
}
