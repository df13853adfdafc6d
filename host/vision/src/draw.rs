//! [`draw_box`]: a box outline drawn into an RGB24 picture (clipped to it), for videos with
//! the analysed boxes burnt in.

use crate::Rect;

/// Draws `rect`'s outline, `thickness` pixels wide, in `color` into `rgb` (`width`×`height`).
pub fn draw_box(rgb: &mut [u8], width: u32, height: u32, rect: Rect, color: [u8; 3], thickness: i32) {
    let (w, h) = (width as i32, height as i32);
    if rgb.len() < (w * h * 3) as usize {
        return;
    }
    let mut fill = |x0: i32, y0: i32, x1: i32, y1: i32| {
        for y in y0.max(0)..y1.min(h) {
            for x in x0.max(0)..x1.min(w) {
                let i = ((y * w + x) * 3) as usize;
                rgb[i..i + 3].copy_from_slice(&color);
            }
        }
    };
    let (x0, y0, x1, y1) = (rect.x, rect.y, rect.x + rect.width, rect.y + rect.height);
    fill(x0, y0, x1, y0 + thickness);
    fill(x0, y1 - thickness, x1, y1);
    fill(x0, y0, x0 + thickness, y1);
    fill(x1 - thickness, y0, x1, y1);
}
