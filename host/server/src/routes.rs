//! [`Router`]: binds request paths to components, with Spin's route syntax.
//!
//! `/v1/videos` matches exactly; `/v1/videos/:id` matches one segment; `/v1/videos/...`
//! matches `/v1/videos` and everything under it. When several match, exact routes win,
//! then the one with more literal segments, then the longer pattern.

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Literal(String),
    Param,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RoutePattern {
    raw: String,
    segments: Vec<Segment>,
    wildcard: bool,
}

impl RoutePattern {
    pub fn parse(route: &str) -> anyhow::Result<RoutePattern> {
        if !route.starts_with('/') {
            anyhow::bail!("route '{route}' must start with '/'");
        }
        let (body, wildcard) = match route.strip_suffix("/...") {
            Some(b) => (b, true),
            None if route == "/..." => ("", true),
            None => (route, false),
        };
        let mut segments = Vec::new();
        for s in body.split('/').filter(|s| !s.is_empty()) {
            if s.contains("...") {
                anyhow::bail!("route '{route}': '...' is only allowed as the last segment");
            }
            segments.push(if s.starts_with(':') { Segment::Param } else { Segment::Literal(s.to_string()) });
        }
        Ok(RoutePattern { raw: route.to_string(), segments, wildcard })
    }

    pub fn matches(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if parts.len() < self.segments.len() || (!self.wildcard && parts.len() != self.segments.len()) {
            return false;
        }
        self.segments.iter().zip(&parts).all(|(seg, part)| match seg {
            Segment::Literal(l) => l == part,
            Segment::Param => true,
        })
    }

    /// Orders matches: exact before wildcard, more literals, more segments.
    fn specificity(&self) -> (bool, usize, usize) {
        let literals = self.segments.iter().filter(|s| matches!(s, Segment::Literal(_))).count();
        (!self.wildcard, literals, self.segments.len())
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

/// Routes to values (component handles), most specific first.
pub struct Router<T> {
    routes: Vec<(RoutePattern, T)>,
}

impl<T> Router<T> {
    pub fn new(mut routes: Vec<(RoutePattern, T)>) -> Router<T> {
        routes.sort_by(|a, b| b.0.specificity().cmp(&a.0.specificity()));
        Router { routes }
    }

    /// The value bound to the most specific route matching `path` (no query string).
    pub fn route(&self, path: &str) -> Option<&T> {
        self.matched(path).map(|(_, t)| t)
    }

    /// The most specific route matching `path` and its value.
    pub fn matched(&self, path: &str) -> Option<(&RoutePattern, &T)> {
        self.routes.iter().find(|(p, _)| p.matches(path)).map(|(p, t)| (p, t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_specific_route_wins() {
        let r = |s| RoutePattern::parse(s).unwrap();
        let router = Router::new(vec![
            (r("/..."), "fallback"),
            (r("/v1/videos/..."), "frames"),
            (r("/v1/videos/:id/flow"), "flow"),
            (r("/health"), "health"),
        ]);
        assert_eq!(router.route("/v1/videos"), Some(&"frames"));
        assert_eq!(router.route("/v1/videos/abc/frame"), Some(&"frames"));
        assert_eq!(router.route("/v1/videos/abc/flow"), Some(&"flow"));
        assert_eq!(router.route("/health"), Some(&"health"));
        assert_eq!(router.route("/other/x"), Some(&"fallback"));
        let strict = Router::new(vec![(r("/frame/..."), 1)]);
        assert_eq!(strict.route("/framex"), None);
        assert_eq!(strict.route("/frame/a/b.mp4"), Some(&1));
        assert!(RoutePattern::parse("no-slash").is_err());
        assert!(RoutePattern::parse("/a/.../b").is_err());
    }
}
