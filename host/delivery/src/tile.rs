//! [`tile`]: frames of one size laid out in a grid, row by row (a storyboard sprite, a
//! contact sheet); the last row is filled with black where frames run out.

use frameflow_media::RgbImage;

/// Lays `frames` (all the same size) out `columns` across, in order.
pub fn tile(frames: &[&RgbImage], columns: u32) -> Result<RgbImage, String> {
    let first = frames.first().ok_or("no frames to tile")?;
    let (w, h) = (first.width as usize, first.height as usize);
    if let Some(odd) = frames.iter().find(|f| f.width != first.width || f.height != first.height) {
        return Err(format!("frames differ in size: {}x{} and {}x{}", first.width, first.height, odd.width, odd.height));
    }
    let columns = (columns.max(1) as usize).min(frames.len());
    let rows = frames.len().div_ceil(columns);
    let stride = columns * w * 3;
    let mut data = vec![0u8; stride * rows * h];
    for (i, frame) in frames.iter().enumerate() {
        let (col, row) = (i % columns, i / columns);
        for y in 0..h {
            let from = &frame.data[y * w * 3..(y + 1) * w * 3];
            let at = (row * h + y) * stride + col * w * 3;
            data[at..at + w * 3].copy_from_slice(from);
        }
    }
    Ok(RgbImage { width: (columns * w) as u32, height: (rows * h) as u32, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(v: u8) -> RgbImage {
        RgbImage { width: 2, height: 1, data: vec![v; 6] }
    }

    #[test]
    fn frames_fill_rows_and_the_rest_is_black() {
        let (a, b, c) = (solid(10), solid(20), solid(30));
        let sheet = tile(&[&a, &b, &c], 2).unwrap();
        assert_eq!((sheet.width, sheet.height), (4, 2));
        assert_eq!(sheet.data, [vec![10; 6], vec![20; 6], vec![30; 6], vec![0; 6]].concat());
        assert!(tile(&[&a, &RgbImage { width: 1, height: 1, data: vec![0; 3] }], 2).is_err());
        assert!(tile(&[], 2).is_err());
    }
}
