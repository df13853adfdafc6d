//! The detectors: MOG2 motion boxes, Haar faces, HOG people. Each reads a [`GrayImage`]
//! and answers boxes in that image's pixels.

use opencv::core::{Mat, Point, Ptr, Size, Vector};
use opencv::objdetect::{CascadeClassifier, HOGDescriptor};
use opencv::prelude::*;
use opencv::video::BackgroundSubtractorMOG2;

use crate::{Detection, GrayImage, Rect, Result, VisionError};

/// Frames the motion model learns at OpenCV's automatic rate (the first: it starts the model).
pub const FAST_START: u64 = 1;

/// Where Debian's `opencv-data` puts the frontal-face Haar cascade.
pub const DEFAULT_FACE_CASCADE: &str = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml";

/// Moving things, by background subtraction (MOG2, shadows off): the foreground mask is
/// opened (specks out), dilated (a moving object's pieces joined) and each outer contour's
/// bounding box is a detection.
///
/// The first frame starts the model; from then on it learns at 1/history: an object that
/// moves through a place must not become part of the background there, or it is half
/// invisible when it comes back (OpenCV's automatic rate, 1/2n, learnt a slowly moving
/// square into the background along its path in the first frames). What was in front of
/// the background on the first frame leaves a ghost that fades in about history/10 frames.
pub struct MotionDetector {
    subtractor: Ptr<BackgroundSubtractorMOG2>,
    frames: u64,
    history: i32,
    kernel: Mat,
    mask: Mat,
    /// Boxes smaller than this (pixels of the analysis picture) are noise.
    min_area: i32,
}

impl MotionDetector {
    /// `history`: frames the background model remembers (MOG2's default is 500).
    pub fn new(history: i32) -> Result<MotionDetector> {
        let subtractor = opencv::video::create_background_subtractor_mog2(history, 16.0, false)?;
        let kernel = opencv::imgproc::get_structuring_element(opencv::imgproc::MORPH_RECT, Size::new(3, 3), Point::new(-1, -1))?;
        Ok(MotionDetector { subtractor, frames: 0, history: history.max(1), kernel, mask: Mat::default(), min_area: 16 })
    }

    /// The moving things on this frame (the model learns from it too).
    pub fn detect(&mut self, gray: &GrayImage) -> Result<Vec<Detection>> {
        let image = gray.mat()?;
        let rate = if self.frames < FAST_START { -1.0 } else { 1.0 / self.history as f64 };
        self.frames += 1;
        opencv::video::BackgroundSubtractorMOG2Trait::apply(&mut self.subtractor, &image, &mut self.mask, rate)?;
        if self.frames == 1 {
            // The first frame only starts the model: all of it reads as foreground.
            return Ok(Vec::new());
        }
        let mut opened = Mat::default();
        let border = opencv::imgproc::morphology_default_border_value()?;
        opencv::imgproc::morphology_ex(&self.mask, &mut opened, opencv::imgproc::MORPH_OPEN, &self.kernel, Point::new(-1, -1), 1, opencv::core::BORDER_CONSTANT, border)?;
        let mut joined = Mat::default();
        opencv::imgproc::dilate(&opened, &mut joined, &self.kernel, Point::new(-1, -1), 2, opencv::core::BORDER_CONSTANT, border)?;
        let mut contours = Vector::<Vector<Point>>::new();
        opencv::imgproc::find_contours(&joined, &mut contours, opencv::imgproc::RETR_EXTERNAL, opencv::imgproc::CHAIN_APPROX_SIMPLE, Point::new(0, 0))?;
        let mut found = Vec::new();
        for contour in contours.iter() {
            let r = opencv::imgproc::bounding_rect(&contour)?;
            if r.width * r.height >= self.min_area {
                found.push(Detection { rect: Rect { x: r.x, y: r.y, width: r.width, height: r.height }, confidence: 1.0 });
            }
        }
        Ok(found)
    }
}

/// Frontal faces with a Haar cascade.
pub struct FaceDetector {
    cascade: CascadeClassifier,
}

impl FaceDetector {
    pub fn new(cascade_path: &str) -> Result<FaceDetector> {
        if !std::path::Path::new(cascade_path).is_file() {
            return Err(VisionError::Model(cascade_path.to_string()));
        }
        let cascade = CascadeClassifier::new(cascade_path)?;
        if cascade.empty()? {
            return Err(VisionError::Model(cascade_path.to_string()));
        }
        Ok(FaceDetector { cascade })
    }

    pub fn detect(&mut self, gray: &GrayImage) -> Result<Vec<Detection>> {
        let image = gray.mat()?;
        let mut faces = Vector::<opencv::core::Rect>::new();
        self.cascade.detect_multi_scale(&image, &mut faces, 1.1, 4, 0, Size::new(24, 24), Size::new(0, 0))?;
        Ok(faces
            .iter()
            .map(|r| Detection { rect: Rect { x: r.x, y: r.y, width: r.width, height: r.height }, confidence: 1.0 })
            .collect())
    }
}

/// People with OpenCV's HOG descriptor and its default people SVM (64×128 windows).
pub struct PeopleDetector {
    hog: HOGDescriptor,
}

impl PeopleDetector {
    pub fn new() -> Result<PeopleDetector> {
        let mut hog = HOGDescriptor::default()?;
        hog.set_svm_detector(HOGDescriptor::get_default_people_detector()?);
        Ok(PeopleDetector { hog })
    }

    pub fn detect(&mut self, gray: &GrayImage) -> Result<Vec<Detection>> {
        let image = gray.mat()?;
        let mut found = Vector::<opencv::core::Rect>::new();
        let mut weights = Vector::<f64>::new();
        self.hog.detect_multi_scale_weights(&image, &mut found, &mut weights, 0.0, Size::new(8, 8), Size::new(0, 0), 1.05, 2.0, false)?;
        Ok(found
            .iter()
            .zip(weights.iter())
            .map(|(r, w)| Detection { rect: Rect { x: r.x, y: r.y, width: r.width, height: r.height }, confidence: (w as f32).clamp(0.0, 1.0) })
            .collect())
    }
}
