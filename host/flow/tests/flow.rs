//! Optical flow: accuracy on ground truth, exact outputs, and bad input.

use frameflow_flow::outputs::quantize;
use frameflow_flow::{Algorithm, FlowEngine, FlowError, FlowField, GrayImage};
use frameflow_testkit::corpus::corpus_dir;

fn epe(algorithm: Algorithm, a: &str, b: &str, truth: &str) -> Option<f64> {
    let dir = corpus_dir()?.join("optical_flow");
    let prev = GrayImage::read(&dir.join(a)).unwrap();
    let next = GrayImage::read(&dir.join(b)).unwrap();
    let truth = FlowField::from_flo(&std::fs::read(dir.join(truth)).unwrap()).unwrap();
    let flow = FlowEngine::new(algorithm).compute(&prev, &next).unwrap();
    Some(flow.average_endpoint_error(&truth).unwrap())
}

const PAIRS: [(&str, &str, &str, &str); 3] = [
    (
        "RubberWhale",
        "middlebury/RubberWhale/frame10.png",
        "middlebury/RubberWhale/frame11.png",
        "middlebury/RubberWhale/flow10.flo",
    ),
    (
        "Venus",
        "middlebury/Venus/frame10.png",
        "middlebury/Venus/frame11.png",
        "middlebury/Venus/flow10.flo",
    ),
    (
        "Sintel",
        "sintel_pair/frame_0001.png",
        "sintel_pair/frame_0002.png",
        "sintel_pair/frame_0001.flo",
    ),
];

fn check_accuracy(algorithm: Algorithm, limits: [f64; 3]) {
    for ((name, a, b, t), limit) in PAIRS.iter().zip(limits) {
        let Some(e) = epe(algorithm, a, b, t) else {
            return;
        };
        eprintln!(
            "{} {name}: average endpoint error {e:.3} (limit {limit})",
            algorithm.name()
        );
        assert!(
            e <= limit,
            "{} on {name}: EPE {e:.3} > {limit}",
            algorithm.name()
        );
    }
}

#[test]
fn dis_medium_accuracy_on_ground_truth() {
    check_accuracy(Algorithm::DisMedium, [0.30, 0.45, 0.40]);
}

#[test]
fn farneback_accuracy_on_ground_truth() {
    check_accuracy(Algorithm::Farneback, [0.45, 1.6, 1.0]);
}

#[test]
fn tvl1_and_fast_presets_are_sane_on_ground_truth() {
    // No target from the issue; these bound gross failure (a zero flow scores ~0.5-7).
    check_accuracy(Algorithm::Tvl1, [0.5, 1.5, 1.5]);
    check_accuracy(Algorithm::DisFast, [0.6, 1.5, 1.5]);
    check_accuracy(Algorithm::DisUltrafast, [0.8, 2.0, 2.0]);
}

/// A smooth random texture, sampled with bilinear interpolation at (x - dx, y - dy).
fn textured(width: u32, height: u32, dx: f32, dy: f32) -> GrayImage {
    let lattice = |i: i64, j: i64| -> f32 {
        let mut h = (i.wrapping_mul(73856093) ^ j.wrapping_mul(19349663)) as u64;
        h ^= h >> 13;
        h = h.wrapping_mul(0x5bd1e995);
        h ^= h >> 15;
        (h % 256) as f32
    };
    let cell = 6.0;
    let sample = |x: f32, y: f32| -> f32 {
        let (gx, gy) = (x / cell, y / cell);
        let (i, j) = (gx.floor() as i64, gy.floor() as i64);
        let (fx, fy) = (gx - gx.floor(), gy - gy.floor());
        let s = |t: f32| t * t * (3.0 - 2.0 * t);
        let (sx, sy) = (s(fx), s(fy));
        let top = lattice(i, j) * (1.0 - sx) + lattice(i + 1, j) * sx;
        let bottom = lattice(i, j + 1) * (1.0 - sx) + lattice(i + 1, j + 1) * sx;
        top * (1.0 - sy) + bottom * sy
    };
    let mut data = Vec::with_capacity((width * height) as usize);
    for y in 0..height {
        for x in 0..width {
            data.push(
                sample(x as f32 - dx, y as f32 - dy)
                    .round()
                    .clamp(0.0, 255.0) as u8,
            );
        }
    }
    GrayImage {
        width,
        height,
        data,
    }
}

#[test]
fn known_shift_is_recovered_by_dis_medium() {
    let (dx, dy) = (2.5f32, -1.25f32);
    let prev = textured(200, 160, 0.0, 0.0);
    let next = textured(200, 160, dx, dy);
    let flow = FlowEngine::new(Algorithm::DisMedium)
        .compute(&prev, &next)
        .unwrap();
    let (mut su, mut sv, mut n) = (0f64, 0f64, 0f64);
    for y in 30..130 {
        for x in 30..170 {
            let (u, v) = flow.at(x, y);
            assert!(
                (u - dx).abs() < 0.5 && (v - dy).abs() < 0.5,
                "({x},{y}): ({u},{v})"
            );
            su += u as f64;
            sv += v as f64;
            n += 1.0;
        }
    }
    let (mu, mv) = (su / n, sv / n);
    assert!(
        (mu - dx as f64).abs() < 0.1 && (mv - dy as f64).abs() < 0.1,
        "mean flow ({mu:.3},{mv:.3})"
    );
}

#[test]
fn flo_round_trip_is_exact() {
    let flow = FlowField {
        width: 3,
        height: 2,
        data: vec![
            0.0,
            -1.5,
            3.25,
            1e10,
            f32::MIN_POSITIVE,
            -0.0,
            7.0,
            8.0,
            9.5,
            -9.5,
            1e-7,
            42.0,
        ],
    };
    let bytes = flow.to_flo();
    assert_eq!(bytes.len(), 12 + 3 * 2 * 8);
    assert_eq!(&bytes[..4], b"PIEH");
    let back = FlowField::from_flo(&bytes).unwrap();
    assert_eq!(back.width, 3);
    assert!(back
        .data
        .iter()
        .zip(&flow.data)
        .all(|(a, b)| a.to_bits() == b.to_bits()));
    assert!(matches!(
        FlowField::from_flo(&bytes[..bytes.len() - 1]),
        Err(FlowError::BadFlo(_))
    ));
    assert!(matches!(
        FlowField::from_flo(b"nope"),
        Err(FlowError::BadFlo(_))
    ));
}

#[test]
fn quantization_follows_the_denseflow_convention() {
    assert_eq!(quantize(-20.0, 20.0), 0);
    assert_eq!(quantize(0.0, 20.0), 128);
    assert_eq!(quantize(20.0, 20.0), 255);
    assert_eq!(quantize(-100.0, 20.0), 0);
    assert_eq!(quantize(100.0, 20.0), 255);
    assert_eq!(quantize(10.0, 20.0), 191); // 255 * 30 / 40 = 191.25
    assert_eq!(quantize(-15.0, 15.0), 0);
    let flow = FlowField {
        width: 2,
        height: 1,
        data: vec![-20.0, 20.0, 0.0, 5.0],
    };
    let (x, y) = flow.quantized(20.0).unwrap();
    assert_eq!((x, y), (vec![0, 128], vec![255, 159]));
    assert!(matches!(flow.quantized(0.0), Err(FlowError::BadBound(_))));
    let (jx, jy) = flow.to_jpeg_xy(20.0).unwrap();
    assert_eq!((&jx[..2], &jy[..2]), (&[0xFF, 0xD8][..], &[0xFF, 0xD8][..]));
    assert_eq!(&flow.to_color_png().unwrap()[..4], b"\x89PNG");
}

#[test]
fn bad_input_is_refused() {
    let a = textured(64, 48, 0.0, 0.0);
    let b = textured(48, 64, 0.0, 0.0);
    assert!(matches!(
        FlowEngine::new(Algorithm::Farneback).compute(&a, &b),
        Err(FlowError::SizeMismatch { .. })
    ));
    assert!(matches!(
        "lucas-kanade".parse::<Algorithm>(),
        Err(FlowError::UnknownAlgorithm(_))
    ));
    let broken = GrayImage {
        width: 10,
        height: 10,
        data: vec![0; 5],
    };
    assert!(matches!(
        FlowEngine::new(Algorithm::DisFast).compute(&broken, &broken),
        Err(FlowError::BadImage { .. })
    ));
    assert!(GrayImage::read(std::path::Path::new("/no/such.png")).is_err());
    assert!(GrayImage::from_rgb(&[0; 10], 2, 2).is_err());
}

/// DIS instances are kept per thread: a pair computed after other pairs (of another size
/// too) gives exactly the field a fresh instance gives.
#[test]
fn a_reused_dis_instance_gives_the_fresh_instances_field() {
    let pair = || (textured(160, 120, 2.0, -1.0), textured(160, 120, 3.5, 0.5));
    let other = || (textured(96, 64, 1.0, 1.0), textured(96, 64, -1.0, 2.0));
    for algorithm in [Algorithm::DisUltrafast, Algorithm::DisMedium] {
        let fresh = std::thread::spawn(move || {
            let (a, b) = pair();
            FlowEngine::new(algorithm).compute(&a, &b).unwrap().data
        })
        .join()
        .unwrap();
        let reused = std::thread::spawn(move || {
            let engine = FlowEngine::new(algorithm);
            let (c, d) = other();
            let (a, b) = pair();
            engine.compute(&a, &b).unwrap();
            engine.compute(&c, &d).unwrap();
            engine.compute(&b, &a).unwrap();
            engine.compute(&a, &b).unwrap().data
        })
        .join()
        .unwrap();
        assert!(
            fresh == reused,
            "{}: the reused instance's field differs",
            algorithm.name()
        );
    }
}

/// The engine lets OpenCV write into the field's own buffer: every algorithm gives exactly the
/// field OpenCV returns into a fresh output (what opencv-python users get).
#[test]
fn the_field_written_in_place_equals_opencvs_own_output() {
    use opencv::core::{Mat, Vec2f};
    use opencv::prelude::*;
    let (a, b) = (textured(120, 90, 2.0, -1.0), textured(120, 90, 3.5, 0.5));
    let mat = |g: &GrayImage| {
        Mat::new_rows_cols_with_data(g.height as i32, g.width as i32, &g.data)
            .unwrap()
            .try_clone()
            .unwrap()
    };
    let (ma, mb) = (mat(&a), mat(&b));
    for algorithm in [
        Algorithm::Farneback,
        Algorithm::DisUltrafast,
        Algorithm::DisFast,
        Algorithm::DisMedium,
    ] {
        let mut out = Mat::default();
        match algorithm {
            Algorithm::Farneback => opencv::video::calc_optical_flow_farneback(
                &ma, &mb, &mut out, 0.5, 3, 15, 3, 5, 1.2, 0,
            )
            .unwrap(),
            _ => {
                let preset = match algorithm {
                    Algorithm::DisUltrafast => opencv::video::DISOpticalFlow_PRESET_ULTRAFAST,
                    Algorithm::DisFast => opencv::video::DISOpticalFlow_PRESET_FAST,
                    _ => opencv::video::DISOpticalFlow_PRESET_MEDIUM,
                };
                let mut dis = opencv::video::DISOpticalFlow::create(preset).unwrap();
                opencv::video::DenseOpticalFlowTrait::calc(&mut dis, &ma, &mb, &mut out).unwrap();
            }
        }
        let expected: Vec<f32> = out
            .data_typed::<Vec2f>()
            .unwrap()
            .iter()
            .flat_map(|p| [p[0], p[1]])
            .collect();
        let got = FlowEngine::new(algorithm).compute(&a, &b).unwrap();
        assert_eq!((got.width, got.height), (120, 90));
        assert!(
            expected.iter().any(|v| *v != 0.0),
            "{}: OpenCV found no motion",
            algorithm.name()
        );
        assert!(
            got.data == expected,
            "{}: the in-place field differs from OpenCV's",
            algorithm.name()
        );
    }
}
