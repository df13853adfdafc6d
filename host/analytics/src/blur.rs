//! [`blur_score`]: FFmpeg's `blurdetect` on a picture (lower is sharper), as seed 002 ranks
//! a trace's faces. A picture with no edges at all makes `blurdetect` answer NaN: that is
//! the blurriest, so it is given as +infinity and never wins.

use ffmpeg_next as ffmpeg;

/// `blurdetect`'s score of an RGB24 picture (its luma), +∞ when it finds no edges.
pub fn blur_score(rgb: &[u8], width: u32, height: u32) -> Result<f64, String> {
    frameflow_media::init();
    let failed = |e: ffmpeg::Error| format!("blurdetect: {e}");
    let mut graph = ffmpeg::filter::Graph::new();
    let buffer = ffmpeg::filter::find("buffer").ok_or("FFmpeg has no buffer source")?;
    let sink = ffmpeg::filter::find("buffersink").ok_or("FFmpeg has no buffer sink")?;
    graph.add(&buffer, "in", &format!("video_size={width}x{height}:pix_fmt=gray:time_base=1/25:pixel_aspect=1/1")).map_err(failed)?;
    graph.add(&sink, "out", "").map_err(failed)?;
    graph.output("in", 0).map_err(failed)?.input("out", 0).map_err(failed)?.parse("blurdetect").map_err(failed)?;
    graph.validate().map_err(failed)?;
    let mut frame = ffmpeg::frame::Video::new(ffmpeg::format::Pixel::GRAY8, width, height);
    let stride = frame.stride(0);
    let data = frame.data_mut(0);
    for y in 0..height as usize {
        for x in 0..width as usize {
            let p = &rgb[(y * width as usize + x) * 3..][..3];
            // BT.601 luma, as swscale's RGB → gray.
            data[y * stride + x] = ((p[0] as u32 * 77 + p[1] as u32 * 150 + p[2] as u32 * 29 + 128) >> 8) as u8;
        }
    }
    frame.set_pts(Some(0));
    graph.get("in").ok_or("no source")?.source().add(&frame).map_err(failed)?;
    graph.get("in").ok_or("no source")?.source().flush().map_err(failed)?;
    let mut out = ffmpeg::frame::Video::empty();
    graph.get("out").ok_or("no sink")?.sink().frame(&mut out).map_err(failed)?;
    let score = out.metadata().get("lavfi.blur").and_then(|v| v.parse::<f64>().ok());
    Ok(match score {
        Some(s) if s.is_finite() => s,
        _ => f64::INFINITY,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sharp_edges_score_lower_than_soft_ones_and_flat_is_the_blurriest() {
        let (w, h) = (64u32, 64u32);
        let sharp: Vec<u8> = (0..w * h).flat_map(|i| if (i % w / 8 + i / w / 8) % 2 == 0 { [255u8; 3] } else { [0u8; 3] }).collect();
        // The same checkerboard, smoothed: a ramp across each edge.
        let soft: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                let (x, y) = ((i % w) as f64, (i / w) as f64);
                let v = ((x * std::f64::consts::PI / 8.0).sin() * (y * std::f64::consts::PI / 8.0).sin() * 127.0 + 128.0) as u8;
                [v; 3]
            })
            .collect();
        let flat = vec![128u8; (w * h * 3) as usize];
        let (s, b, f) = (blur_score(&sharp, w, h).unwrap(), blur_score(&soft, w, h).unwrap(), blur_score(&flat, w, h).unwrap());
        assert!(s < b, "sharp {s} soft {b}");
        assert_eq!(f, f64::INFINITY, "no edges: the blurriest");
    }
}
