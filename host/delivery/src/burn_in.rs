//! [`burn_in`]: a label drawn into an RGB24 picture with a built-in 5×7 bitmap font (as
//! seed 002's debug overlays are), white on a black box: a clip's `mode=debug` shows each
//! frame's source index so a reviewer can check a cut frame by frame. No font files, no
//! FFmpeg `drawtext` (which needs fontconfig and a font).

/// Columns of each glyph, 7 bits each (bit 0 the top row), for the characters labels use.
fn glyph(c: char) -> [u8; 5] {
    match c {
        '0' => [0x3E, 0x51, 0x49, 0x45, 0x3E],
        '1' => [0x00, 0x42, 0x7F, 0x40, 0x00],
        '2' => [0x42, 0x61, 0x51, 0x49, 0x46],
        '3' => [0x21, 0x41, 0x45, 0x4B, 0x31],
        '4' => [0x18, 0x14, 0x12, 0x7F, 0x10],
        '5' => [0x27, 0x45, 0x45, 0x45, 0x39],
        '6' => [0x3C, 0x4A, 0x49, 0x49, 0x30],
        '7' => [0x01, 0x71, 0x09, 0x05, 0x03],
        '8' => [0x36, 0x49, 0x49, 0x49, 0x36],
        '9' => [0x06, 0x49, 0x49, 0x29, 0x1E],
        'C' => [0x3E, 0x41, 0x41, 0x41, 0x22],
        'L' => [0x7F, 0x40, 0x40, 0x40, 0x40],
        'I' => [0x00, 0x41, 0x7F, 0x41, 0x00],
        'P' => [0x7F, 0x09, 0x09, 0x09, 0x06],
        'F' => [0x7F, 0x09, 0x09, 0x09, 0x01],
        'R' => [0x7F, 0x09, 0x19, 0x29, 0x46],
        'A' => [0x7E, 0x11, 0x11, 0x11, 0x7E],
        'M' => [0x7F, 0x02, 0x0C, 0x02, 0x7F],
        'E' => [0x7F, 0x49, 0x49, 0x49, 0x41],
        'B' => [0x7F, 0x49, 0x49, 0x49, 0x36],
        'D' => [0x7F, 0x41, 0x41, 0x22, 0x1C],
        'G' => [0x3E, 0x41, 0x49, 0x49, 0x7A],
        'H' => [0x7F, 0x08, 0x08, 0x08, 0x7F],
        'J' => [0x20, 0x40, 0x41, 0x3F, 0x01],
        'K' => [0x7F, 0x08, 0x14, 0x22, 0x41],
        'N' => [0x7F, 0x04, 0x08, 0x10, 0x7F],
        'O' => [0x3E, 0x41, 0x41, 0x41, 0x3E],
        'Q' => [0x3E, 0x41, 0x51, 0x21, 0x5E],
        'S' => [0x46, 0x49, 0x49, 0x49, 0x31],
        'T' => [0x01, 0x01, 0x7F, 0x01, 0x01],
        'U' => [0x3F, 0x40, 0x40, 0x40, 0x3F],
        'V' => [0x1F, 0x20, 0x40, 0x20, 0x1F],
        'W' => [0x3F, 0x40, 0x38, 0x40, 0x3F],
        'X' => [0x63, 0x14, 0x08, 0x14, 0x63],
        'Y' => [0x07, 0x08, 0x70, 0x08, 0x07],
        'Z' => [0x61, 0x51, 0x49, 0x45, 0x43],
        '-' => [0x08, 0x08, 0x08, 0x08, 0x08],
        '_' => [0x40, 0x40, 0x40, 0x40, 0x40],
        '#' => [0x14, 0x7F, 0x14, 0x7F, 0x14],
        ':' => [0x00, 0x36, 0x36, 0x00, 0x00],
        '.' => [0x00, 0x60, 0x60, 0x00, 0x00],
        's' => [0x48, 0x54, 0x54, 0x54, 0x24],
        // Lower case is drawn as upper case (the font has one case).
        c if c.is_ascii_lowercase() => glyph(c.to_ascii_uppercase()),
        _ => [0; 5],
    }
}

/// Draws `text` at the top left of the `width`×`height` RGB24 picture in `rgb` (rows
/// `width * 3` bytes apart), scaled to stay readable on large frames and clipped to small
/// ones.
pub fn burn_in(rgb: &mut [u8], width: u32, height: u32, text: &str) {
    burn_in_at(rgb, width, height, 0, 0, text);
}

/// [`burn_in`] with the label's box at (`left`, `top`) (a box's caption).
pub fn burn_in_at(rgb: &mut [u8], width: u32, height: u32, left: u32, top: u32, text: &str) {
    let (w, h) = (width as usize, height as usize);
    if rgb.len() < w * h * 3 || w == 0 || h == 0 || left as usize >= w || top as usize >= h {
        return;
    }
    let (left, top) = (left as usize, top as usize);
    let scale = (h / 120).clamp(1, 8);
    let margin = 2 * scale;
    let chars = text.chars().count();
    // The box: one glyph cell is 6×9 font pixels (a column and two rows of spacing).
    let box_w = (margin * 2 + chars * 6 * scale).min(w - left);
    let box_h = (margin * 2 + 7 * scale).min(h - top);
    for y in 0..box_h {
        let row = (top + y) * w + left;
        rgb[row * 3..(row + box_w) * 3].fill(0);
    }
    for (k, c) in text.chars().enumerate() {
        for (col, bits) in glyph(c).iter().enumerate() {
            for row in 0..7 {
                if bits >> row & 1 == 0 {
                    continue;
                }
                let (x0, y0) = (margin + (k * 6 + col) * scale, margin + row * scale);
                for y in y0..(y0 + scale).min(box_h) {
                    for x in x0..(x0 + scale).min(box_w) {
                        let at = (top + y) * w + left + x;
                        rgb[at * 3..at * 3 + 3].fill(255);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_lights_pixels_inside_its_box_only() {
        let (w, h) = (64u32, 32u32);
        let mut rgb = vec![128u8; (w * h * 3) as usize];
        burn_in(&mut rgb, w, h, "CLIP 7");
        let at = |x: usize, y: usize| rgb[(y * w as usize + x) * 3];
        assert_eq!(at(0, 0), 0, "the box is black");
        assert!((0..w as usize).any(|x| (0..h as usize).any(|y| at(x, y) == 255)), "some glyph pixel is white");
        assert_eq!(at(63, 31), 128, "outside the box nothing changes");
        // A picture smaller than the label is clipped, not overrun.
        let mut tiny = vec![7u8; 4 * 3 * 3];
        burn_in(&mut tiny, 4, 3, "CLIP 123456");
        assert_eq!(tiny.len(), 36);
    }

    #[test]
    fn different_numbers_draw_differently() {
        let draw = |t: &str| {
            let mut rgb = vec![0u8; 60 * 20 * 3];
            burn_in(&mut rgb, 60, 20, t);
            rgb
        };
        assert_ne!(draw("CLIP 1"), draw("CLIP 7"));
    }
}
