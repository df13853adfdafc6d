//! Plane geometry for areas and wires: point in polygon (even-odd rule), segment crossing,
//! which side of a line a point is on.

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

/// Whether `p` is inside the polygon `poly` (even-odd rule; a point on an edge may fall
/// either way).
pub fn inside(poly: &[Point], p: Point) -> bool {
    let mut inside = false;
    let mut j = poly.len().wrapping_sub(1);
    for i in 0..poly.len() {
        let (a, b) = (poly[i], poly[j]);
        if (a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// The sign of `p` relative to the directed line `a → b`: > 0 left, < 0 right, 0 on it.
pub fn side(a: Point, b: Point, p: Point) -> f64 {
    (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x)
}

/// Whether segment `p → q` crosses segment `a → b` (touching an end counts once: `p`
/// strictly on one side, `q` on the other side or on the line).
pub fn crosses(a: Point, b: Point, p: Point, q: Point) -> bool {
    let (sp, sq) = (side(a, b, p), side(a, b, q));
    if sp == 0.0 || sp.signum() == sq.signum() && sq != 0.0 {
        return false;
    }
    let (sa, sb) = (side(p, q, a), side(p, q, b));
    sa.signum() != sb.signum() || sa == 0.0 || sb == 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(x: f64, y: f64) -> Point {
        Point { x, y }
    }

    #[test]
    fn polygon_and_crossings() {
        let square = [p(0.0, 0.0), p(10.0, 0.0), p(10.0, 10.0), p(0.0, 10.0)];
        assert!(inside(&square, p(5.0, 5.0)));
        assert!(!inside(&square, p(15.0, 5.0)));
        assert!(!inside(&square, p(-1.0, 5.0)));
        let (a, b) = (p(5.0, 0.0), p(5.0, 10.0));
        assert!(crosses(a, b, p(0.0, 5.0), p(10.0, 5.0)));
        assert!(!crosses(a, b, p(0.0, 5.0), p(4.0, 5.0)));
        assert!(!crosses(a, b, p(0.0, 15.0), p(10.0, 15.0)), "beyond the wire's end");
        assert!(side(a, b, p(0.0, 5.0)) > 0.0 && side(a, b, p(10.0, 5.0)) < 0.0);
    }
}
