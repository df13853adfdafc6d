//! Computing flow: the algorithms and their OpenCV calls. This is the one place that
//! touches OpenCV's flow API; a GPU backend would be another `FlowEngine` variant here.

use opencv::core::{Mat, Vec2f};
use opencv::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{FlowError, Result};
use crate::FlowField;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Algorithm {
    Farneback,
    DisUltrafast,
    DisFast,
    DisMedium,
    Tvl1,
}

impl Algorithm {
    pub const ALL: [Algorithm; 5] = [
        Algorithm::Farneback,
        Algorithm::DisUltrafast,
        Algorithm::DisFast,
        Algorithm::DisMedium,
        Algorithm::Tvl1,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Farneback => "farneback",
            Algorithm::DisUltrafast => "dis-ultrafast",
            Algorithm::DisFast => "dis-fast",
            Algorithm::DisMedium => "dis-medium",
            Algorithm::Tvl1 => "tvl1",
        }
    }
}

impl std::str::FromStr for Algorithm {
    type Err = FlowError;
    fn from_str(s: &str) -> Result<Algorithm> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| FlowError::UnknownAlgorithm(s.to_string()))
    }
}

/// 8-bit greyscale pixels, row-major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrayImage {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

impl GrayImage {
    /// Luma from RGB24 with OpenCV's `COLOR_RGB2GRAY` (what cv2 users get).
    pub fn from_rgb(rgb: &[u8], width: u32, height: u32) -> Result<GrayImage> {
        if width == 0 || height == 0 || rgb.len() != (width * height * 3) as usize {
            return Err(FlowError::BadImage { width, height });
        }
        let src = Mat::new_rows_cols_with_data(height as i32, (width * 3) as i32, rgb)?;
        let src = src.reshape(3, height as i32)?;
        let mut gray = Mat::default();
        opencv::imgproc::cvt_color(&src, &mut gray, opencv::imgproc::COLOR_RGB2GRAY, 0)?;
        Ok(GrayImage {
            width,
            height,
            data: gray.data_bytes()?.to_vec(),
        })
    }

    /// Reads an image file (PNG, PPM, JPEG...) as greyscale, as `cv2.imread(path, 0)`.
    pub fn read(path: &std::path::Path) -> Result<GrayImage> {
        let m = opencv::imgcodecs::imread(path, opencv::imgcodecs::IMREAD_GRAYSCALE)?;
        if m.empty() {
            return Err(FlowError::ReadImage {
                path: path.display().to_string(),
                reason: "missing or not an image".into(),
            });
        }
        let m = if m.is_continuous() { m } else { m.try_clone()? };
        Ok(GrayImage {
            width: m.cols() as u32,
            height: m.rows() as u32,
            data: m.data_bytes()?.to_vec(),
        })
    }

    fn as_mat(&self) -> Result<opencv::boxed_ref::BoxedRef<'_, Mat>> {
        if self.width == 0
            || self.height == 0
            || self.data.len() != (self.width * self.height) as usize
        {
            return Err(FlowError::BadImage {
                width: self.width,
                height: self.height,
            });
        }
        Ok(Mat::new_rows_cols_with_data(
            self.height as i32,
            self.width as i32,
            &self.data,
        )?)
    }
}

thread_local! {
    /// This thread's DIS instances, by preset (see `FlowEngine::compute`).
    static DIS: std::cell::RefCell<Vec<(i32, opencv::core::Ptr<opencv::video::DISOpticalFlow>)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A flow backend. CPU (OpenCV) today; callers only see `compute`.
pub enum FlowEngine {
    Cpu(Algorithm),
}

impl FlowEngine {
    pub fn new(algorithm: Algorithm) -> FlowEngine {
        FlowEngine::Cpu(algorithm)
    }

    pub fn algorithm(&self) -> Algorithm {
        match self {
            FlowEngine::Cpu(a) => *a,
        }
    }

    /// Flow from `prev` to `next` (same size).
    pub fn compute(&self, prev: &GrayImage, next: &GrayImage) -> Result<FlowField> {
        if (prev.width, prev.height) != (next.width, next.height) {
            return Err(FlowError::SizeMismatch {
                first: (prev.width, prev.height),
                second: (next.width, next.height),
            });
        }
        let (a, b) = (prev.as_mat()?, next.as_mat()?);
        // OpenCV writes the field straight into the FlowField's buffer: a h×w CV_32FC2 header
        // over it (interleaved (u, v), FlowField's layout), so `create` inside the algorithms
        // finds the right size and type and allocates nothing. A separate output Mat and a
        // copy out of it were half of a DIS ultrafast pair at 340×256 (an extra 700 KB
        // allocation, its page faults, and the copy). Every algorithm here ignores the
        // output's previous contents (no OPTFLOW_USE_INITIAL_FLOW, useInitialFlow off).
        let mut data = vec![0f32; prev.width as usize * prev.height as usize * 2];
        let mut flat =
            Mat::new_rows_cols_with_data_mut(prev.height as i32, prev.width as i32 * 2, &mut data)?;
        let mut flow = flat.reshape_def_mut(2)?;
        let out_ptr = flow.data();
        match self.algorithm() {
            // cv2.calcOpticalFlowFarneback(prev, next, None, 0.5, 3, 15, 3, 5, 1.2, 0): the
            // parameters of OpenCV's own tutorial, which is what most users run.
            Algorithm::Farneback => opencv::video::calc_optical_flow_farneback(
                &a, &b, &mut flow, 0.5, 3, 15, 3, 5, 1.2, 0,
            )?,
            Algorithm::DisUltrafast | Algorithm::DisFast | Algorithm::DisMedium => {
                let preset = match self.algorithm() {
                    Algorithm::DisUltrafast => opencv::video::DISOpticalFlow_PRESET_ULTRAFAST,
                    Algorithm::DisFast => opencv::video::DISOpticalFlow_PRESET_FAST,
                    _ => opencv::video::DISOpticalFlow_PRESET_MEDIUM,
                };
                // One DIS instance per thread and preset, as an opencv-python user keeps one:
                // creating it (and its first pyramid buffers) cost as much as a small pair.
                // Given an empty output it starts from no flow, so reuse changes no value.
                DIS.with(|cache| -> Result<()> {
                    let mut cache = cache.borrow_mut();
                    let dis = match cache.iter_mut().position(|(p, _)| *p == preset) {
                        Some(at) => &mut cache[at].1,
                        None => {
                            cache.push((preset, opencv::video::DISOpticalFlow::create(preset)?));
                            &mut cache.last_mut().expect("just pushed").1
                        }
                    };
                    opencv::video::DenseOpticalFlowTrait::calc(dis, &a, &b, &mut flow)?;
                    Ok(())
                })?;
            }
            Algorithm::Tvl1 => {
                let mut tvl1 = opencv::optflow::create_opt_flow_dual_tvl1()?;
                opencv::video::DenseOpticalFlowTrait::calc(&mut tvl1, &a, &b, &mut flow)?;
            }
        }
        if flow.data() != out_ptr || flow.typ() != opencv::core::CV_32FC2 {
            // An algorithm that replaced the buffer (it never should): copy its result.
            let pairs: &[Vec2f] = flow.data_typed()?;
            let copied: Vec<f32> = pairs.iter().flat_map(|p| [p[0], p[1]]).collect();
            drop(flow);
            drop(flat);
            data = copied;
        } else {
            drop(flow);
            drop(flat);
        }
        Ok(FlowField {
            width: prev.width,
            height: prev.height,
            data,
        })
    }
}
