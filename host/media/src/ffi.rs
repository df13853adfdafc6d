//! Every raw FFmpeg call the media core makes, behind small safe functions: the fields and
//! functions ffmpeg-next does not wrap (seeking, decoder threads and pixel limit, packet and
//! demuxer flags, codec parameters, display matrices, pixel formats, the filter graph's
//! scaler flags, copying a frame's planes) and `RgbScaler`, the graph's RGB conversion made
//! with swscale directly. The only module of the crate with `unsafe`;
//! each block says why it is sound.

#![allow(unsafe_code)]

use ffmpeg_next as ffmpeg;
use ffmpeg::codec::packet::Ref as _;
use ffmpeg::ffi::AVPixelFormat;

/// Seeks the demuxer to the key frame at or before `ts` (stream time base) of stream
/// `stream_index`. Returns FFmpeg's status (negative on failure).
pub(crate) fn seek_backward(input: &mut ffmpeg::format::context::Input, stream_index: usize, ts: i64) -> i32 {
    // SAFETY: the format context is valid and owned by `input`; av_seek_frame only
    // repositions the demuxer.
    unsafe { ffmpeg::ffi::av_seek_frame(input.as_mut_ptr(), stream_index as i32, ts, ffmpeg::ffi::AVSEEK_FLAG_BACKWARD as i32) }
}

/// The codec's out-of-band setup bytes (an H.264 `avcC` record, ...), empty when none.
pub(crate) fn extradata(params: &ffmpeg::codec::Parameters) -> Vec<u8> {
    // SAFETY: `extradata` points to `extradata_size` bytes owned by the parameters, which
    // outlive this copy; a null pointer or non-positive size means none.
    unsafe {
        let p = params.as_ptr();
        if (*p).extradata.is_null() || (*p).extradata_size <= 0 {
            return Vec::new();
        }
        std::slice::from_raw_parts((*p).extradata, (*p).extradata_size as usize).to_vec()
    }
}

/// Sets a not yet opened decoder's thread count and, when given, its pixel limit (FFmpeg
/// refuses pictures bigger than that, also when met mid-stream).
pub(crate) fn set_decoder_limits(ctx: &mut ffmpeg::codec::Context, threads: usize, max_pixels: Option<u64>) {
    // SAFETY: plain field writes on the codec context we own, before it is opened. The
    // thread type stays FFmpeg's default (frame and slice), as in the ffmpeg CLI.
    unsafe {
        (*ctx.as_mut_ptr()).thread_count = threads as i32;
        if let Some(max) = max_pixels {
            (*ctx.as_mut_ptr()).max_pixels = max.min(i64::MAX as u64) as i64;
        }
    }
}

/// The field order a stream's codec parameters declare.
pub(crate) fn field_order(params: &ffmpeg::codec::Parameters) -> ffmpeg::ffi::AVFieldOrder {
    // SAFETY: reading a plain field of the stream's AVCodecParameters.
    unsafe { (*params.as_ptr()).field_order }
}

/// The codec parameters' coded width, height and raw pixel format.
pub(crate) fn coded_size_and_format(params: &ffmpeg::codec::Parameters) -> (u32, u32, i32) {
    // SAFETY: reading plain fields of the AVCodecParameters FFmpeg owns for this stream.
    unsafe {
        let p = &*params.as_ptr();
        (p.width.max(0) as u32, p.height.max(0) as u32, p.format)
    }
}

/// The demuxer's `AVInputFormat.flags`.
pub(crate) fn demuxer_flags(input: &ffmpeg::format::context::Input) -> i32 {
    // SAFETY: reading the flags of the demuxer's static AVInputFormat, valid while `input` is.
    unsafe { (*input.format().as_ptr()).flags }
}

/// A packet's `flags`, including the DISCARD bit ffmpeg-next does not expose.
pub(crate) fn packet_flags(packet: &ffmpeg::Packet) -> i32 {
    // SAFETY: reading the flags field of a packet we own.
    unsafe { (*packet.as_ptr()).flags }
}

/// The rotation a display matrix describes, in degrees (0 when it describes none).
pub(crate) fn display_rotation(m: &[i32; 9]) -> f64 {
    // SAFETY: av_display_rotation_get only reads the 9 int32 values of the matrix.
    let r = unsafe { ffmpeg::ffi::av_display_rotation_get(m.as_ptr()) };
    if r.is_nan() { 0.0 } else { r }
}

/// An AVFrame's or codec context's `format` field as a pixel format; `None` for values
/// outside the enum, which a Rust enum must never hold.
pub(crate) fn pixel_format(fmt: i32) -> Option<AVPixelFormat> {
    if fmt < AVPixelFormat::AV_PIX_FMT_NONE as i32 || fmt >= AVPixelFormat::AV_PIX_FMT_NB as i32 {
        return None;
    }
    // SAFETY: in range, checked above; the #[repr(i32)] enum's values run contiguously from
    // AV_PIX_FMT_NONE (-1) to AV_PIX_FMT_NB, as in FFmpeg's pixfmt.h.
    Some(unsafe { std::mem::transmute::<i32, AVPixelFormat>(fmt) })
}

/// FFmpeg's name of a raw pixel format (`yuv420p`), `none` when it has none.
pub(crate) fn pixel_format_name(fmt: i32) -> String {
    let Some(fmt) = pixel_format(fmt) else { return "none".into() };
    // SAFETY: av_get_pix_fmt_name returns a static C string or NULL for any enum value.
    unsafe {
        let p = ffmpeg::ffi::av_get_pix_fmt_name(fmt);
        if p.is_null() {
            "none".into()
        } else {
            std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    }
}

/// A decoded frame's raw `format` field.
pub(crate) fn frame_format(f: &ffmpeg::frame::Video) -> i32 {
    // SAFETY: reading the format field of a valid AVFrame.
    unsafe { (*f.as_ptr()).format }
}

/// Sets the scaler flags of the conversions a filter graph inserts by itself (the ffmpeg
/// CLI's default `-sws_flags`, which decides their pixels).
pub(crate) fn set_graph_scaler_flags(graph: &mut ffmpeg::filter::Graph, flags: &std::ffi::CStr) {
    // SAFETY: the graph is valid; FFmpeg frees scale_sws_opts with the graph.
    unsafe {
        let g = graph.as_mut_ptr();
        (*g).scale_sws_opts = ffmpeg::ffi::av_strdup(flags.as_ptr());
    }
}

/// Sets how many threads the filters of a graph may use; call before adding filters (the
/// graph starts its thread pool with the first one).
pub(crate) fn set_graph_threads(graph: &mut ffmpeg::filter::Graph, threads: i32) {
    // SAFETY: the graph is valid and has no filters yet; nb_threads is a plain int FFmpeg
    // reads when it creates the graph's thread pool.
    unsafe {
        (*graph.as_mut_ptr()).nb_threads = threads;
    }
}

/// The planes of a decoded frame in pixel format `fmt`, copied into one tightly packed
/// buffer (alignment 1), or FFmpeg's error code.
pub(crate) fn copy_frame_planes(f: &ffmpeg::frame::Video, fmt: AVPixelFormat) -> Result<Vec<u8>, (&'static str, i32)> {
    // SAFETY: querying and copying the planes of a valid decoded AVFrame into a buffer of
    // exactly the size av_image_get_buffer_size reports for it (alignment 1, no padding).
    unsafe {
        let p = f.as_ptr();
        let size = ffmpeg::ffi::av_image_get_buffer_size(fmt, (*p).width, (*p).height, 1);
        if size < 0 {
            return Err(("sizing raw frame", size));
        }
        let mut buf = vec![0u8; size as usize];
        let rc = ffmpeg::ffi::av_image_copy_to_buffer(
            buf.as_mut_ptr(),
            size,
            (*p).data.as_ptr() as *const *const u8,
            (*p).linesize.as_ptr(),
            fmt,
            (*p).width,
            (*p).height,
            1,
        );
        if rc < 0 {
            return Err(("copying raw frame", rc));
        }
        Ok(buf)
    }
}

/// The RGB24 conversion the ffmpeg CLI's auto-inserted `scale` filter makes (FFmpeg 5.1's
/// `vf_scale.c` with the CLI's `flags=bicubic`, one thread), done with swscale directly into
/// memory the caller owns: the same context options when it is created, the same colour
/// matrix and range set before each frame, the same `sws_scale`. `render.rs` says when it
/// may stand in for the filter graph.
pub(crate) struct RgbScaler {
    ctx: *mut ffmpeg::ffi::SwsContext,
    /// (width, height, format, the frame colour range the context was made for).
    key: (i32, i32, i32, i32),
}

// SAFETY: the context is owned by one RgbScaler and only used through &mut self; swscale
// keeps no thread-affine state, it only must not be used from two threads at once.
unsafe impl Send for RgbScaler {}

impl RgbScaler {
    /// A scaler for frames like `f` (size, format, colour range), or FFmpeg's error code.
    pub(crate) fn new(f: &ffmpeg::frame::Video) -> Result<RgbScaler, i32> {
        use ffmpeg::ffi::*;
        let (w, h, format, range) = layout(f);
        // SAFETY: a fresh context, configured through the AVOptions vf_scale sets (by name,
        // on the context itself) and initialised once; freed on failure and in Drop.
        unsafe {
            let ctx = sws_alloc_context();
            if ctx.is_null() {
                return Err(-12); // AVERROR(ENOMEM)
            }
            let obj = ctx as *mut std::ffi::c_void;
            let set = |name: &std::ffi::CStr, value: i64| av_opt_set_int(obj, name.as_ptr(), value, 0);
            set(c"srcw", w as i64);
            set(c"srch", h as i64);
            set(c"src_format", format as i64);
            set(c"dstw", w as i64);
            set(c"dsth", h as i64);
            set(c"dst_format", AVPixelFormat::AV_PIX_FMT_RGB24 as i64);
            set(c"sws_flags", SWS_BICUBIC as i64);
            set(c"param0", SWS_PARAM_DEFAULT as i64);
            set(c"param1", SWS_PARAM_DEFAULT as i64);
            set(c"threads", 1);
            if range != AVColorRange::AVCOL_RANGE_UNSPECIFIED as i32 {
                set(c"src_range", (range == AVColorRange::AVCOL_RANGE_JPEG as i32) as i64);
            }
            // MPEG-2 chroma siting for 4:2:0 planar input, as vf_scale overrides it.
            let v_chroma = if format == AVPixelFormat::AV_PIX_FMT_YUV420P as i32 { 128 } else { -513 };
            set(c"src_h_chr_pos", -513);
            set(c"src_v_chr_pos", v_chroma);
            set(c"dst_h_chr_pos", -513);
            set(c"dst_v_chr_pos", -513);
            let status = sws_init_context(ctx, std::ptr::null_mut(), std::ptr::null_mut());
            if status < 0 {
                sws_freeContext(ctx);
                return Err(status);
            }
            Ok(RgbScaler { ctx, key: (w, h, format, range) })
        }
    }

    /// Whether this scaler converts `f` as vf_scale would without rebuilding: same size and
    /// format, and no new colour range (an unspecified one keeps the last, as vf_scale does).
    pub(crate) fn fits(&self, f: &ffmpeg::frame::Video) -> bool {
        let (w, h, format, range) = layout(f);
        let unspecified = ffmpeg::ffi::AVColorRange::AVCOL_RANGE_UNSPECIFIED as i32;
        (w, h, format) == (self.key.0, self.key.1, self.key.2) && (range == unspecified || range == self.key.3)
    }

    /// Converts `f` into `dst`: `height` rows of `width * 3` bytes, `stride` bytes apart.
    pub(crate) fn convert(&mut self, f: &ffmpeg::frame::Video, dst: &mut [u8], stride: usize) -> Result<(), i32> {
        use ffmpeg::ffi::*;
        let (w, h) = (self.key.0 as usize, self.key.1 as usize);
        assert!(stride >= w * 3 && dst.len() >= stride * (h.max(1) - 1) + w * 3, "the destination holds the frame");
        // SAFETY: the context is valid; `f` is a valid frame of the size and format it was
        // made for (fits()); `dst` holds `h` rows of `w * 3` bytes at `stride` (asserted);
        // the colour tables are swscale's own static ones.
        unsafe {
            let p = f.as_ptr();
            // vf_scale (in_color_matrix "auto"): the frame's matrix, BT.601 when unknown...
            let colorspace = match (*p).colorspace as i32 {
                c if (1..=10).contains(&c) && c != 8 => c,
                _ => AVColorSpace::AVCOL_SPC_BT470BG as i32,
            };
            let matrix = sws_getCoefficients(colorspace);
            let (mut inv, mut table) = (std::ptr::null_mut(), std::ptr::null_mut());
            let (mut in_full, mut out_full, mut brightness, mut contrast, mut saturation) = (0, 0, 0, 0, 0);
            sws_getColorspaceDetails(self.ctx, &mut inv, &mut in_full, &mut table, &mut out_full, &mut brightness, &mut contrast, &mut saturation);
            // ...and its range when it states one.
            let range = (*p).color_range as i32;
            if range != AVColorRange::AVCOL_RANGE_UNSPECIFIED as i32 {
                in_full = (range == AVColorRange::AVCOL_RANGE_JPEG as i32) as i32;
            }
            sws_setColorspaceDetails(self.ctx, matrix, in_full, matrix, out_full, brightness, contrast, saturation);
            let planes = [dst.as_mut_ptr(), std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut()];
            let strides = [stride as std::ffi::c_int, 0, 0, 0];
            let status = sws_scale(self.ctx, (*p).data.as_ptr() as *const *const u8, (*p).linesize.as_ptr(), 0, h as std::ffi::c_int, planes.as_ptr(), strides.as_ptr());
            if status < 0 {
                return Err(status);
            }
        }
        Ok(())
    }
}

/// A frame's (width, height, format, colour range): what an [`RgbScaler`] is made for.
fn layout(f: &ffmpeg::frame::Video) -> (i32, i32, i32, i32) {
    // SAFETY: reading plain fields of a valid AVFrame.
    unsafe {
        let p = f.as_ptr();
        ((*p).width, (*p).height, (*p).format, (*p).color_range as i32)
    }
}

impl Drop for RgbScaler {
    fn drop(&mut self) {
        // SAFETY: the context was allocated by sws_alloc_context and is freed once.
        unsafe { ffmpeg::ffi::sws_freeContext(self.ctx) }
    }
}

/// The sample format, rate and channel layout of a decoded audio frame, as libswresample
/// takes them (an unordered layout becomes FFmpeg's default one for its channel count, as
/// the ffmpeg CLI guesses it).
#[derive(Clone, Copy)]
pub(crate) struct AudioShape {
    pub format: i32,
    pub rate: i32,
    layout: ffmpeg::ffi::AVChannelLayout,
}

// SAFETY: the layouts kept are native or unspecified (see `of`): plain values whose
// pointer fields are null, so the shape may move between threads.
unsafe impl Send for AudioShape {}

impl AudioShape {
    pub fn of(frame: &ffmpeg::frame::Audio) -> AudioShape {
        // SAFETY: reading plain fields of a frame we own; the layout is copied by value
        // only for native/unspecified orders, which hold no pointers (custom ones are
        // replaced by the default layout for their channel count).
        unsafe {
            let f = &*frame.as_ptr();
            let mut layout = f.ch_layout;
            if layout.order != ffmpeg::ffi::AVChannelOrder::AV_CHANNEL_ORDER_NATIVE {
                let channels = layout.nb_channels;
                layout = std::mem::zeroed();
                ffmpeg::ffi::av_channel_layout_default(&mut layout, channels);
            }
            AudioShape { format: f.format, rate: f.sample_rate, layout }
        }
    }

    pub fn channels(&self) -> usize {
        self.layout.nb_channels.max(0) as usize
    }

    /// Planar float at `rate` with FFmpeg's default layout for `channels` (what `-ac`
    /// selects).
    pub fn planar_float(channels: u32, rate: u32) -> AudioShape {
        let mut layout = AudioShape::empty_layout();
        // SAFETY: av_channel_layout_default only writes the layout it is given.
        unsafe { ffmpeg::ffi::av_channel_layout_default(&mut layout, channels as i32) };
        AudioShape { format: ffmpeg::ffi::AVSampleFormat::AV_SAMPLE_FMT_FLTP as i32, rate: rate as i32, layout }
    }

    fn empty_layout() -> ffmpeg::ffi::AVChannelLayout {
        // SAFETY: an all-zero AVChannelLayout is the unspecified layout with no channels.
        unsafe { std::mem::zeroed() }
    }

    /// Same format, rate and channel order as `other`.
    pub fn same_as(&self, other: &AudioShape) -> bool {
        // SAFETY: both layouts are native or unspecified (see `of`); comparing reads them only.
        self.format == other.format && self.rate == other.rate && unsafe { ffmpeg::ffi::av_channel_layout_compare(&self.layout, &other.layout) } == 0
    }
}

/// libswresample with FFmpeg's default options (those of the `aresample` filter the ffmpeg
/// CLI inserts for `-ar`/`-ac`/`-f f32le`): decoded frames in, planar float out, appended to
/// one `Vec` per channel.
pub(crate) struct Resampler {
    ctx: *mut ffmpeg::ffi::SwrContext,
    channels: usize,
}

// SAFETY: the SwrContext is owned by this value alone and used by one thread at a time.
unsafe impl Send for Resampler {}

impl Resampler {
    pub fn new(input: &AudioShape, output: &AudioShape) -> Result<Resampler, ffmpeg::Error> {
        let mut ctx = std::ptr::null_mut();
        let (mut in_layout, mut out_layout) = (input.layout, output.layout);
        // SAFETY: swr_alloc_set_opts2 allocates a context into `ctx` from layouts it only
        // reads; the formats are FFmpeg's own values (from a decoded frame or FLTP).
        let rc = unsafe {
            use ffmpeg::ffi::AVSampleFormat;
            ffmpeg::ffi::swr_alloc_set_opts2(
                &mut ctx,
                &mut out_layout,
                std::mem::transmute::<i32, AVSampleFormat>(output.format),
                output.rate,
                &mut in_layout,
                std::mem::transmute::<i32, AVSampleFormat>(input.format),
                input.rate,
                0,
                std::ptr::null_mut(),
            )
        };
        let resampler = Resampler { ctx, channels: output.channels() };
        if rc < 0 || ctx.is_null() {
            return Err(if rc < 0 { ffmpeg::Error::from(rc) } else { ffmpeg::Error::InvalidData });
        }
        // SAFETY: `ctx` is the allocated, configured context.
        let rc = unsafe { ffmpeg::ffi::swr_init(ctx) };
        if rc < 0 {
            return Err(ffmpeg::Error::from(rc));
        }
        Ok(resampler)
    }

    /// Converts `frame` (its shape must be the input shape), or with `None` drains what the
    /// resampler holds back; appends to `out` (one vector per output channel). Returns the
    /// samples appended per channel.
    pub fn convert(&mut self, frame: Option<&ffmpeg::frame::Audio>, out: &mut [Vec<f32>]) -> Result<usize, ffmpeg::Error> {
        assert_eq!(out.len(), self.channels, "one output vector per channel");
        let mut total = 0;
        loop {
            let in_count = frame.map_or(0, |f| f.samples()) as i32;
            // SAFETY: a bound on the output for `in_count` more input samples; reads the context only.
            let room = unsafe { ffmpeg::ffi::swr_get_out_samples(self.ctx, in_count) };
            if room < 0 {
                return Err(ffmpeg::Error::from(room));
            }
            let room = room as usize + 16;
            let start = out[0].len();
            let mut planes: Vec<*mut u8> = out
                .iter_mut()
                .map(|plane| {
                    plane.resize(start + room, 0.0);
                    // SAFETY: `start` is within the plane just resized to `start + room`.
                    unsafe { plane.as_mut_ptr().add(start) as *mut u8 }
                })
                .collect();
            let in_data = frame.map_or(std::ptr::null_mut(), |f| {
                // SAFETY: a decoded frame's extended_data points to its planes.
                unsafe { (*f.as_ptr()).extended_data as *mut *const u8 }
            });
            // SAFETY: each output plane has `room` floats free at its pointer; the input
            // planes hold `in_count` samples of the input shape (or are null to drain).
            let n = unsafe { ffmpeg::ffi::swr_convert(self.ctx, planes.as_mut_ptr(), room as i32, in_data, in_count) };
            let got = n.max(0) as usize;
            for plane in out.iter_mut() {
                plane.truncate(start + got);
            }
            if n < 0 {
                return Err(ffmpeg::Error::from(n));
            }
            total += got;
            // Fed once; when draining, until nothing more comes out.
            if frame.is_some() || got == 0 {
                return Ok(total);
            }
        }
    }
}

impl Drop for Resampler {
    fn drop(&mut self) {
        // SAFETY: the context was allocated by swr_alloc_set_opts2 and is freed once here.
        unsafe { ffmpeg::ffi::swr_free(&mut self.ctx) }
    }
}
