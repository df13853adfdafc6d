//! Command-line parsing for every command, and the media commands (`probe`, `frame`,
//! `frames`). The commands needing OpenCV or the component runtime are run by
//! `frameflow-full` (host/frameflow-full) from this same [`Cli`]: their flow options are kept
//! as names here (checked against [`FLOW_ALGORITHMS`] and [`FLOW_FORMATS`]) and parsed there,
//! so this crate links FFmpeg only.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use frameflow_media::{
    Crop, FrameIndex, FrameSelector, ImageFormat, OpenOptions, RenderOptions, ResizeFilter, Video,
    DEFAULT_JPEG_QUALITY,
};

/// The flow algorithms `frameflow-full` knows (frameflow_flow::Algorithm's names; a test
/// there keeps the two equal).
pub const FLOW_ALGORITHMS: [&str; 5] = ["farneback", "dis-ultrafast", "dis-fast", "dis-medium", "tvl1"];
/// The flow output formats (frameflow_flow::FlowFormat's names; `jpeg` and `colour` are
/// accepted too).
pub const FLOW_FORMATS: [&str; 3] = ["jpeg-xy", "flo", "color"];

fn flow_formats() -> clap::builder::PossibleValuesParser {
    use clap::builder::PossibleValue;
    clap::builder::PossibleValuesParser::new([
        PossibleValue::new(FLOW_FORMATS[0]).alias("jpeg"),
        PossibleValue::new(FLOW_FORMATS[1]),
        PossibleValue::new(FLOW_FORMATS[2]).alias("colour"),
    ])
}
/// The default quantization bound (frameflow_flow::DEFAULT_BOUND).
pub const DEFAULT_FLOW_BOUND: f32 = 20.0;

#[derive(Parser, Debug)]
#[command(name = "frameflow", version, about = "Exact frames and optical flow from video")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// How `serve` writes log lines.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the HTTP API: routes from a Spin-style manifest, each handled by a component.
    Serve {
        /// Route manifest: which component serves which routes.
        #[arg(long, default_value = "infra/frameflow.toml", value_name = "FILE")]
        config: PathBuf,
        /// Runtime config: store, keys, limits (default: runtime-config.toml beside the
        /// manifest, when there is one).
        #[arg(long, value_name = "FILE")]
        runtime_config: Option<PathBuf>,
        /// Address to listen on (port 0: any free port; the bound address is printed).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Object store URL (file://DIR or s3://BUCKET/PREFIX), overriding the runtime config.
        #[arg(long, value_name = "URL")]
        store: Option<String>,
        /// Directory served by the seed-001 route /frame/{path}, overriding the runtime config.
        #[arg(long, value_name = "DIR")]
        media_root: Option<PathBuf>,
        /// Largest accepted request body in bytes, overriding the runtime config.
        #[arg(long, value_name = "BYTES")]
        upload_limit: Option<u64>,
        /// Log lines as text, or as JSON objects (one per line, with the span fields:
        /// tenant, video, job, component). The filter is `FRAMEFLOW_LOG` or `RUST_LOG`.
        #[arg(long, value_enum, default_value = "text")]
        log_format: LogFormat,
    },
    /// Describe a video as JSON: frame count from a packet scan, sizes, rotation, timing.
    Probe {
        video: PathBuf,
        #[command(flatten)]
        open: OpenArgs,
        /// Include every frame's {index, pts, seconds, key}.
        #[arg(long)]
        frames: bool,
        /// Also write the packet index (reusable with --index-file) to this file.
        #[arg(long, value_name = "FILE")]
        save_index: Option<PathBuf>,
    },
    /// Write one frame (to stdout without -o).
    Frame {
        video: PathBuf,
        #[command(flatten)]
        open: OpenArgs,
        #[command(flatten)]
        select: SelectArgs,
        #[command(flatten)]
        image: ImageArgs,
        /// Output file; stdout when absent or '-'.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Write many frames: files {index:06}.{ext} plus frames.jsonl into --out, or back to back on stdout with -o -.
    Frames {
        video: PathBuf,
        #[command(flatten)]
        open: OpenArgs,
        /// Comma-separated 0-based indices, e.g. 0,5,17.
        #[arg(long, value_delimiter = ',', conflicts_with = "all", required_unless_present = "all")]
        indices: Vec<u64>,
        /// Every frame, in order.
        #[arg(long)]
        all: bool,
        #[command(flatten)]
        image: ImageArgs,
        /// '-' writes the frames back to back to stdout.
        #[arg(short = 'o', long = "output", value_name = "-", conflicts_with = "out", required_unless_present = "out")]
        output: Option<String>,
        /// Directory for one file per frame and frames.jsonl.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Optical flow from frame t to t+step for `count` frames, denseflow names (flow_x_00000.jpg, ...) and flows.jsonl in --out.
    Flow {
        video: PathBuf,
        #[command(flatten)]
        open: OpenArgs,
        #[arg(long, default_value_t = 0)]
        from_index: usize,
        #[arg(long, default_value_t = 1)]
        count: usize,
        #[arg(long, default_value_t = 1)]
        step: usize,
        /// farneback, dis-ultrafast, dis-fast, dis-medium, tvl1.
        #[arg(long, default_value = "dis-medium", value_parser = FLOW_ALGORITHMS)]
        algorithm: String,
        /// Quantization bound b for jpeg-xy: v = clamp(round(255(f+b)/(2b)), 0, 255).
        #[arg(long, default_value_t = DEFAULT_FLOW_BOUND)]
        bound: f32,
        /// jpeg-xy (two greyscale JPEGs), flo (Middlebury, exact) or color (PNG).
        #[arg(long, default_value = "jpeg-xy", value_parser = flow_formats())]
        format: String,
        /// Resize frames before flow (bilinear); one side keeps the aspect ratio.
        #[arg(long)]
        width: Option<u32>,
        #[arg(long)]
        height: Option<u32>,
        /// Resize so that the shorter side has this many pixels (denseflow's habit).
        #[arg(long, conflicts_with_all = ["width", "height"])]
        short_side: Option<u32>,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Optical flow between two image files (PNG, PPM, JPEG).
    FlowPair {
        first: PathBuf,
        second: PathBuf,
        #[arg(long, default_value = "dis-medium", value_parser = FLOW_ALGORITHMS)]
        algorithm: String,
        #[arg(long, default_value = "flo", value_parser = flow_formats())]
        format: String,
        #[arg(long, default_value_t = DEFAULT_FLOW_BOUND)]
        bound: f32,
        /// Output file; for jpeg-xy a stem (OUT_x.jpg, OUT_y.jpg).
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
    /// Run a sampling job locally with the sampler components: clips of RGB frames, flow
    /// or both into OUT/clips/{clip}/ plus OUT/manifest.jsonl, with a progress bar.
    Sample {
        #[arg(required = true)]
        videos: Vec<PathBuf>,
        /// A built-in sampler (random-clip, uniform, regular-clip) or a sampler .wasm file.
        #[arg(long, default_value = "random-clip")]
        sampler: String,
        /// The sampler's JSON params, e.g. '{"num_clips": 4, "frames_per_clip": 16}'.
        #[arg(long, default_value = "{}")]
        params: String,
        /// rgb, flow or rgb+flow.
        #[arg(long, default_value = "rgb")]
        modality: String,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The manifest naming the built-in samplers.
        #[arg(long, default_value = "infra/frameflow.toml", value_name = "FILE")]
        config: PathBuf,
        /// jpeg or png for RGB frames.
        #[arg(long, default_value = "jpeg")]
        format: ImageFormat,
        #[arg(long, default_value_t = 90)]
        quality: u8,
        #[arg(long, default_value = "dis-medium", value_parser = FLOW_ALGORITHMS)]
        algorithm: String,
        #[arg(long, default_value_t = DEFAULT_FLOW_BOUND)]
        bound: f32,
        #[arg(long)]
        width: Option<u32>,
        #[arg(long)]
        height: Option<u32>,
    },
}

#[derive(Args, Debug)]
pub struct OpenArgs {
    /// Absolute stream index (default: FFmpeg's best video stream).
    #[arg(long)]
    stream: Option<usize>,
    /// Decoder threads (0 = automatic, like ffmpeg).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// A packet index saved by `probe --save-index`, to skip the scan.
    #[arg(long, value_name = "FILE")]
    index_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct SelectArgs {
    /// 0-based index in presentation order.
    #[arg(long)]
    index: Option<u64>,
    /// Exact pts in the stream time base.
    #[arg(long, allow_hyphen_values = true)]
    pts: Option<i64>,
    /// Seconds: the first frame whose pts is at or after this time (the `ffmpeg -ss` rule).
    #[arg(long)]
    time: Option<f64>,
}

#[derive(Args, Debug)]
pub struct ImageArgs {
    /// jpeg, png or rgb24 (raw HWC bytes).
    #[arg(long, default_value = "jpeg")]
    format: ImageFormat,
    /// JPEG quality 1..=100.
    #[arg(long, default_value_t = DEFAULT_JPEG_QUALITY)]
    quality: u8,
    #[arg(long)]
    width: Option<u32>,
    #[arg(long)]
    height: Option<u32>,
    /// Resize filter: bilinear (default), bicubic, area, lanczos, neighbor.
    #[arg(long, default_value = "bilinear")]
    resize_filter: ResizeFilter,
    /// Crop x,y,w,h in displayed pixels, applied before resizing.
    #[arg(long)]
    crop: Option<Crop>,
    /// Keep the coded orientation (ignore the rotation metadata).
    #[arg(long)]
    no_autorotate: bool,
}

impl ImageArgs {
    fn render_options(&self) -> RenderOptions {
        RenderOptions {
            autorotate: !self.no_autorotate,
            crop: self.crop,
            width: self.width,
            height: self.height,
            pad: None,
            resize_filter: self.resize_filter,
        }
    }
}

/// Opens `video` as the command line asked (stream, threads, a saved packet index).
pub fn open(video: &Path, args: &OpenArgs) -> Result<Video> {
    let index = match &args.index_file {
        Some(p) => {
            let text = fs::read_to_string(p).with_context(|| format!("reading packet index {}", p.display()))?;
            Some(std::sync::Arc::new(FrameIndex::from_json(&text)?))
        }
        None => None,
    };
    Ok(Video::open_with(video, OpenOptions { stream: args.stream, threads: args.threads, index, max_pixels: None })?)
}

impl Cli {
    /// Whether the command needs OpenCV or the component runtime (`serve`, `flow`,
    /// `flow-pair`, `sample`): those run in `frameflow-full`; the media commands do not.
    pub fn needs_full(&self) -> bool {
        matches!(self.command, Command::Serve { .. } | Command::Flow { .. } | Command::FlowPair { .. } | Command::Sample { .. })
    }
}

/// Runs the media commands (`probe`, `frame`, `frames`): FFmpeg only, which is all the
/// `frameflow` binary links, so they start as fast as `ffmpeg` does.
pub fn run_media(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Probe { video, open: o, frames, save_index } => {
            let v = open(&video, &o)?;
            let mut json = serde_json::to_value(v.info())?;
            if frames {
                json["frames"] = serde_json::to_value(v.frame_ids())?;
            }
            if let Some(p) = save_index {
                fs::write(&p, v.index().to_json()).with_context(|| format!("writing {}", p.display()))?;
            }
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
        Command::Frame { video, open: o, select, image, output } => {
            let mut v = open(&video, &o)?;
            let selector = FrameSelector::one_of(select.index, select.pts, select.time)
                .map_err(|_| anyhow::anyhow!("give exactly one of --index, --pts or --time"))?;
            let i = v.resolve(selector)?;
            let frame = v.frame(i, &image.render_options())?;
            let bytes = frame.encode(image.format, image.quality)?;
            match output.as_deref() {
                None => write_stdout(&bytes)?,
                Some(p) if p == Path::new("-") => write_stdout(&bytes)?,
                Some(p) => fs::write(p, &bytes).with_context(|| format!("writing {}", p.display()))?,
            }
        }
        Command::Frames { video, open: o, indices, all, image, output, out } => {
            let mut v = open(&video, &o)?;
            let indices: Vec<usize> = if all {
                (0..v.frame_count()).collect()
            } else {
                indices.iter().map(|&i| v.resolve(FrameSelector::Index(i))).collect::<Result<_, _>>()?
            };
            let options = image.render_options();
            match (output.as_deref(), out) {
                (Some("-"), _) => {
                    let stdout = std::io::stdout();
                    let mut w = BufWriter::with_capacity(1 << 20, stdout.lock());
                    if all && image.format == ImageFormat::Rgb24 {
                        // Rows go from the filter graph to stdout without an intermediate copy.
                        v.for_each_view_at(&indices, &options, |_, view| {
                            view.rows().try_for_each(|row| write_frame(&mut w, row))
                        })?;
                    } else if all {
                        v.for_each_frame_at(&indices, &options, |f| write_frame(&mut w, &f.encode(image.format, image.quality)?))?;
                    } else {
                        // In the order asked, each distinct frame decoded once.
                        for f in v.frames(&indices, &options)? {
                            write_frame(&mut w, &f.encode(image.format, image.quality)?)?;
                        }
                    }
                    w.flush().context("writing to stdout")?;
                }
                (Some(other), _) => bail!("-o only takes '-' (stdout) for many frames, got '{other}'; use --out DIR for files"),
                (None, Some(dir)) => {
                    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
                    let mut ids = BufWriter::new(
                        fs::File::create(dir.join("frames.jsonl")).with_context(|| format!("creating {}/frames.jsonl", dir.display()))?,
                    );
                    let ext = image.format.extension();
                    v.for_each_frame_at(&indices, &options, |f| {
                        let name = format!("{:06}.{ext}", f.id.index);
                        let bytes = f.encode(image.format, image.quality)?;
                        fs::write(dir.join(&name), bytes).map_err(|e| io_err(&dir.join(&name), e))?;
                        let mut line = serde_json::to_value(f.id).expect("frame id serializes");
                        line["file"] = name.into();
                        line["width"] = f.image.width.into();
                        line["height"] = f.image.height.into();
                        writeln!(ids, "{line}").map_err(|e| io_err(&dir.join("frames.jsonl"), e))
                    })?;
                    ids.flush().context("writing frames.jsonl")?;
                }
                (None, None) => bail!("give --out DIR or -o -"),
            }
        }
        Command::Serve { .. } | Command::Flow { .. } | Command::FlowPair { .. } | Command::Sample { .. } => {
            bail!("this command runs in frameflow-full (see Cli::needs_full)")
        }
    }
    Ok(())
}

fn io_err(path: &Path, source: std::io::Error) -> frameflow_media::MediaError {
    frameflow_media::MediaError::Io { context: format!("writing {}", path.display()), source }
}

fn write_frame(w: &mut impl Write, bytes: &[u8]) -> frameflow_media::Result<()> {
    w.write_all(bytes).map_err(|e| frameflow_media::MediaError::Io { context: "writing to stdout".into(), source: e })
}

fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes).and_then(|_| out.flush()).context("writing to stdout")
}
