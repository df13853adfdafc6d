//! Opening a container and choosing its video stream: the first thing every path through
//! the media core does, and nothing else (a leaf: it depends only on the errors).

use std::path::Path;

use ffmpeg_next as ffmpeg;
use ffmpeg::format::context::Input;
use ffmpeg::media::Type as MediaType;

use crate::error::{MediaError, Result};

/// Opens a container — a file, or an object registered with [`crate::remote::register`]
/// (read with ranged requests through a custom I/O context) — mapping FFmpeg's errors onto
/// ones that name the problem.
pub fn open_input(path: &Path) -> Result<Input> {
    crate::init();
    let opened = match crate::remote::source(path) {
        Some(source) => {
            let reader = crate::remote::RangeReader::new(source, path);
            ffmpeg::format::context::StreamIo::from_read_seek_with_capacity(reader, 64 << 10)
                .and_then(|io| ffmpeg::format::input_from_stream(io, path.to_str(), None))
        }
        None if !path.exists() => return Err(MediaError::NotFound(path.to_path_buf())),
        None => ffmpeg::format::input(&path),
    };
    let input = opened.map_err(|e| match (crate::remote::failure(path), e) {
        (Some(reason), _) => MediaError::SourceUnavailable { path: path.to_path_buf(), reason },
        (None, e @ (ffmpeg::Error::InvalidData | ffmpeg::Error::DemuxerNotFound)) => {
            MediaError::NotMedia { path: path.to_path_buf(), reason: e.to_string() }
        }
        (None, other) => MediaError::Unreadable { path: path.to_path_buf(), reason: other.to_string() },
    })?;
    // FFmpeg's tty demuxer turns any text file into "ANSI art" video; nobody uploads that.
    if TEXT_DEMUXERS.contains(&input.format().name()) {
        return Err(MediaError::NotMedia {
            path: path.to_path_buf(),
            reason: format!("it looks like text (FFmpeg's '{}' demuxer)", input.format().name()),
        });
    }
    Ok(input)
}

/// Seeks `input` to the key packet at or before `ts` (stream `stream`'s time base; a
/// [`crate::SeekPoint`]'s `ts`): where a stream copy of a frame range starts reading.
/// False when the demuxer cannot seek (read from the start instead).
pub fn seek_to_key(input: &mut Input, stream: usize, ts: i64) -> bool {
    crate::ffi::seek_backward(input, stream, ts) >= 0
}

/// Demuxers that accept arbitrary text and so must not count as video.
const TEXT_DEMUXERS: &[&str] = &["tty"];

/// Picks the video stream: the one asked for, or FFmpeg's "best" video stream
/// (what `ffmpeg -i` maps by default).
pub(crate) fn select_stream(input: &Input, path: &Path, wanted: Option<usize>) -> Result<usize> {
    let video: Vec<usize> = input
        .streams()
        .filter(|s| s.parameters().medium() == MediaType::Video && !is_attached_picture(s))
        .map(|s| s.index())
        .collect();
    match wanted {
        Some(n) if video.contains(&n) => Ok(n),
        Some(n) => Err(MediaError::NotAVideoStream { path: path.to_path_buf(), stream: n, available: video }),
        None => best_stream(input, MediaType::Video, &video).ok_or_else(|| MediaError::NoVideoStream(path.to_path_buf())),
    }
}

fn is_attached_picture(stream: &ffmpeg::format::stream::Stream) -> bool {
    stream.disposition().contains(ffmpeg::format::stream::Disposition::ATTACHED_PIC)
}

/// Picks the audio stream: the one asked for, or FFmpeg's "best" audio stream (what
/// `ffmpeg -i` maps by default, and torchcodec's default).
pub(crate) fn select_audio_stream(input: &Input, path: &Path, wanted: Option<usize>) -> Result<usize> {
    let audio: Vec<usize> = input.streams().filter(|s| s.parameters().medium() == MediaType::Audio).map(|s| s.index()).collect();
    match wanted {
        Some(n) if audio.contains(&n) => Ok(n),
        Some(n) if n >= input.nb_streams() as usize => {
            Err(MediaError::NoSuchStream { path: path.to_path_buf(), stream: n, count: input.nb_streams() as usize })
        }
        Some(n) => Err(MediaError::NotAnAudioStream { path: path.to_path_buf(), stream: n, available: audio }),
        None => best_stream(input, MediaType::Audio, &audio).ok_or_else(|| {
                let kinds: Vec<String> = input.streams().map(|s| format!("{:?}", s.parameters().medium()).to_lowercase()).collect();
                let kinds = if kinds.is_empty() { "none".to_string() } else { kinds.join(", ") };
                MediaError::NoAudioStream { path: path.to_path_buf(), kinds }
            }),
    }
}

/// FFmpeg's best stream of `kind` if it is one of `among`, else the first of `among`.
fn best_stream(input: &Input, kind: MediaType, among: &[usize]) -> Option<usize> {
    input.streams().best(kind).map(|s| s.index()).filter(|i| among.contains(i)).or_else(|| among.first().copied())
}
