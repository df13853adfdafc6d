//! [`FrameSelector`]: how a frame is named — by 0-based presentation index, by exact pts
//! (stream time base) or by time in seconds (the frame shown then, `ffmpeg -ss` rule).
//!
//! One type for every side of frameflow: the media core resolves it, the CLI and the HTTP
//! routes parse it ([`FrameSelector::one_of`]), the job component stores it in `plan.json`
//! (feature `serde`: `{"index": 5}`, `{"pts": 1001}`, `{"seconds": 1.5}`), and the WIT
//! `frame-selector` variant converts to and from it in one `From` pair per bindings crate.
//! Pure Rust with no dependencies, so it builds for the host, wasm32 and Python alike.

#![forbid(unsafe_code)]

use std::fmt;

/// Which frame: by presentation index, by exact pts, or by time.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum FrameSelector {
    Index(u64),
    Pts(i64),
    Seconds(f64),
}

/// A request named no frame, or more than one way at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OneOfError {
    /// How many of the three were given (0, 2 or 3).
    pub given: usize,
}

impl fmt::Display for OneOfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.given {
            0 => f.write_str("no frame named: give one of index, pts or time"),
            _ => f.write_str("more than one frame named: give exactly one of index, pts or time"),
        }
    }
}

impl std::error::Error for OneOfError {}

impl FrameSelector {
    /// The selector named by exactly one of three optional inputs (query parameters, CLI
    /// flags, keyword arguments).
    pub fn one_of(index: Option<u64>, pts: Option<i64>, seconds: Option<f64>) -> Result<FrameSelector, OneOfError> {
        match (index, pts, seconds) {
            (Some(i), None, None) => Ok(FrameSelector::Index(i)),
            (None, Some(p), None) => Ok(FrameSelector::Pts(p)),
            (None, None, Some(t)) => Ok(FrameSelector::Seconds(t)),
            _ => Err(OneOfError { given: index.is_some() as usize + pts.is_some() as usize + seconds.is_some() as usize }),
        }
    }

    /// A position along the video for ordering selectors of one kind (index, pts or
    /// seconds as a number); comparing across kinds means nothing.
    pub fn position(self) -> f64 {
        match self {
            FrameSelector::Index(i) => i as f64,
            FrameSelector::Pts(p) => p as f64,
            FrameSelector::Seconds(t) => t,
        }
    }
}

impl fmt::Display for FrameSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameSelector::Index(i) => write!(f, "index {i}"),
            FrameSelector::Pts(p) => write!(f, "pts {p}"),
            FrameSelector::Seconds(t) => write!(f, "{t} s"),
        }
    }
}

/// Writes `From` both ways between [`FrameSelector`] and a bindings crate's WIT
/// `frame-selector` variant (`index(u64)`, `pts(s64)`, `seconds(f64)`), once per bindings
/// crate: `frameflow_selector::wit_conversions!(bindings::frameflow::media::types::FrameSelector);`
#[macro_export]
macro_rules! wit_conversions {
    ($wit:ty) => {
        const _: () = {
            type Wit = $wit;
            impl From<Wit> for $crate::FrameSelector {
                fn from(s: Wit) -> $crate::FrameSelector {
                    match s {
                        Wit::Index(i) => $crate::FrameSelector::Index(i),
                        Wit::Pts(p) => $crate::FrameSelector::Pts(p),
                        Wit::Seconds(t) => $crate::FrameSelector::Seconds(t),
                    }
                }
            }
            impl From<$crate::FrameSelector> for Wit {
                fn from(s: $crate::FrameSelector) -> Wit {
                    match s {
                        $crate::FrameSelector::Index(i) => Wit::Index(i),
                        $crate::FrameSelector::Pts(p) => Wit::Pts(p),
                        $crate::FrameSelector::Seconds(t) => Wit::Seconds(t),
                    }
                }
            }
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_one_names_a_frame() {
        assert_eq!(FrameSelector::one_of(Some(3), None, None), Ok(FrameSelector::Index(3)));
        assert_eq!(FrameSelector::one_of(None, Some(-2), None), Ok(FrameSelector::Pts(-2)));
        assert_eq!(FrameSelector::one_of(None, None, Some(1.5)), Ok(FrameSelector::Seconds(1.5)));
        assert_eq!(FrameSelector::one_of(None, None, None), Err(OneOfError { given: 0 }));
        assert_eq!(FrameSelector::one_of(Some(1), Some(2), None), Err(OneOfError { given: 2 }));
        assert_eq!(FrameSelector::one_of(Some(1), Some(2), Some(3.0)), Err(OneOfError { given: 3 }));
    }

    #[test]
    fn displays_what_it_names() {
        assert_eq!(FrameSelector::Index(7).to_string(), "index 7");
        assert_eq!(FrameSelector::Pts(1001).to_string(), "pts 1001");
        assert_eq!(FrameSelector::Seconds(2.5).to_string(), "2.5 s");
    }
}
