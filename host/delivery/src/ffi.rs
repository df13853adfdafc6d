//! The raw FFmpeg calls of a stream copy that ffmpeg-next does not wrap: asking a muxer
//! whether it takes a codec, and clearing a copied stream's codec tag. Each `unsafe` block
//! says why it is sound.

#![allow(unsafe_code)]

use ffmpeg_next as ffmpeg;

/// Whether the output format can hold `codec` (FFmpeg's `avformat_query_codec`): `Some`
/// with the answer, `None` when the muxer does not say.
pub(crate) fn muxer_takes(output: &ffmpeg::format::context::Output, codec: ffmpeg::codec::Id) -> Option<bool> {
    // SAFETY: the output context and its `oformat` are valid for the life of `output`;
    // the query only reads the muxer's static codec tables.
    let answer = unsafe { ffmpeg::ffi::avformat_query_codec((*output.as_ptr()).oformat, codec.into(), ffmpeg::ffi::FF_COMPLIANCE_NORMAL) };
    match answer {
        1 => Some(true),
        0 => Some(false),
        _ => None,
    }
}

/// Clears the codec tag copied from the input, so the muxer picks its own (as `ffmpeg -c
/// copy` does): a tag valid in one container is often wrong in another.
pub(crate) fn clear_codec_tag(stream: &mut ffmpeg::format::stream::StreamMut) {
    // SAFETY: a plain field write on the new stream's codec parameters, which the output
    // context owns, before the header is written.
    unsafe {
        (*(*stream.as_mut_ptr()).codecpar).codec_tag = 0;
    }
}
