//! [`SceneScorer`]: how unlike the previous analysed frame this one is, from 0 (the same
//! picture) to 1: the larger of the mean absolute difference of 64×36 thumbnails and the
//! L1 distance of their 32-bin luma histograms (halved), so both a cut between similar
//! scenes and a global brightness jump score high, and motion within a shot scores low.

use opencv::core::{Mat, Size};
use opencv::prelude::*;

use crate::{GrayImage, Result};

const THUMB: (i32, i32) = (64, 36);

#[derive(Default)]
pub struct SceneScorer {
    last: Option<Vec<u8>>,
}

fn histogram(pixels: &[u8]) -> [f64; 32] {
    let mut h = [0f64; 32];
    for &p in pixels {
        h[(p >> 3) as usize] += 1.0;
    }
    let n = pixels.len().max(1) as f64;
    h.iter_mut().for_each(|v| *v /= n);
    h
}

impl SceneScorer {
    /// This frame's score against the last one given (0 for the first).
    pub fn score(&mut self, gray: &GrayImage) -> Result<f32> {
        let image = gray.mat()?;
        let mut thumb = Mat::default();
        opencv::imgproc::resize(&image, &mut thumb, Size::new(THUMB.0, THUMB.1), 0.0, 0.0, opencv::imgproc::INTER_AREA)?;
        let now = thumb.data_bytes()?.to_vec();
        let score = match &self.last {
            None => 0.0,
            Some(last) => {
                let mad = last.iter().zip(&now).map(|(a, b)| (*a as f64 - *b as f64).abs()).sum::<f64>() / (now.len() as f64 * 255.0);
                let (ha, hb) = (histogram(last), histogram(&now));
                let l1 = ha.iter().zip(&hb).map(|(a, b)| (a - b).abs()).sum::<f64>() / 2.0;
                mad.max(l1)
            }
        };
        self.last = Some(now);
        Ok(score as f32)
    }
}
