//! [`Disposability`]: which packets no other frame is predicted from, read from the
//! bitstream, so that reaching frame N from its key frame can leave out the ones shown
//! before N. What is left decodes to the same pixels (nothing refers to what was left out).
//!
//! - H.264: every slice NAL of the access unit has `nal_ref_idc == 0` (AVCC length-prefixed
//!   NALs in MP4/Matroska, Annex B start codes in MPEG-TS and raw streams).
//! - HEVC in MP4/Matroska (`hvcC`) with one temporal layer: every VCL NAL of the access
//!   unit is a sub-layer non-reference type (`TRAIL_N`, `TSA_N`, `STSA_N`, `RADL_N`,
//!   `RASL_N`, reserved `_N`). With more temporal layers an `_N` picture may still be a
//!   reference for a higher layer, so nothing is left out there.
//! - MPEG-4 Part 2: every VOP of the packet is a B-VOP (packed B-frames included).
//! - MPEG-1/2 video: every picture of the packet is a B picture.
//!
//! Anything else (HEVC in Annex B, VP8/9, AV1, unknown layouts) is never called disposable:
//! the VPx/AV1 flags need a header parse; a packet that does not parse is kept.

use ffmpeg_next as ffmpeg;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Disposability {
    /// H.264, with the NAL length size of AVCC packets (`None`: Annex B start codes).
    H264 { nal_length: Option<usize> },
    /// HEVC with length-prefixed NALs of this size and a single temporal layer.
    Hevc { nal_length: usize },
    Mpeg4Part2,
    Mpeg12,
    Never,
}

impl Disposability {
    /// For a stream of `codec` whose codec extradata is `extradata`.
    pub(crate) fn for_codec(codec: ffmpeg::codec::Id, extradata: &[u8]) -> Disposability {
        use ffmpeg::codec::Id;
        match codec {
            Id::H264 => {
                // An avcC record starts with version 1; its 5th byte holds the length size - 1.
                let nal_length = (extradata.len() >= 7 && extradata[0] == 1).then(|| (extradata[4] & 3) as usize + 1);
                Disposability::H264 { nal_length }
            }
            // An hvcC record: byte 21 holds numTemporalLayers (bits 3-5) and the length size
            // - 1 (bits 0-1).
            Id::HEVC if extradata.len() >= 23 && extradata[0] == 1 && (extradata[21] >> 3) & 7 == 1 => {
                Disposability::Hevc { nal_length: (extradata[21] & 3) as usize + 1 }
            }
            Id::MPEG4 => Disposability::Mpeg4Part2,
            Id::MPEG1VIDEO | Id::MPEG2VIDEO => Disposability::Mpeg12,
            _ => Disposability::Never,
        }
    }

    /// Whether no other frame needs the frame in this packet.
    pub(crate) fn is_disposable(self, data: &[u8]) -> bool {
        match self {
            Disposability::H264 { nal_length } => h264_disposable(data, nal_length),
            Disposability::Hevc { nal_length } => hevc_disposable(data, nal_length),
            Disposability::Mpeg4Part2 => all_pictures_are_b(data, 0xB6, |rest| rest.first().map(|b| b >> 6 == 2)),
            // picture_start_code 00 00 01 00, then temporal_reference (10 bits) and
            // picture_coding_type (3 bits): 3 is B.
            Disposability::Mpeg12 => all_pictures_are_b(data, 0x00, |rest| rest.get(1).map(|b| (b >> 3) & 7 == 3)),
            Disposability::Never => false,
        }
    }
}

/// The NAL units of an H.264 access unit.
fn nal_units(data: &[u8], nal_length: Option<usize>) -> Vec<&[u8]> {
    let mut units = Vec::new();
    match nal_length {
        Some(n) => {
            let mut at = 0;
            while at + n <= data.len() {
                let len = data[at..at + n].iter().fold(0usize, |acc, &b| (acc << 8) | b as usize);
                at += n;
                if len == 0 || at + len > data.len() {
                    // Not length-prefixed after all (or damaged): nothing trustworthy.
                    return Vec::new();
                }
                units.push(&data[at..at + len]);
                at += len;
            }
        }
        None => {
            let starts: Vec<usize> = start_codes(data).collect();
            for (k, &s) in starts.iter().enumerate() {
                let end = starts.get(k + 1).map_or(data.len(), |&next| next - 3);
                if s < end {
                    units.push(&data[s..end]);
                }
            }
        }
    }
    units
}

/// Offsets just past each `00 00 01` in `data`.
fn start_codes(data: &[u8]) -> impl Iterator<Item = usize> + '_ {
    (0..data.len().saturating_sub(2)).filter(move |&i| data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1).map(|i| i + 3)
}

fn h264_disposable(data: &[u8], nal_length: Option<usize>) -> bool {
    let mut slices = 0;
    for unit in nal_units(data, nal_length) {
        let Some(&header) = unit.first() else { continue };
        let (ref_idc, kind) = ((header >> 5) & 3, header & 0x1f);
        match kind {
            // Coded slices (non-IDR, partition A) and IDR: referenced unless nal_ref_idc is 0.
            1 | 2 | 5 => {
                if ref_idc != 0 {
                    return false;
                }
                slices += 1;
            }
            // SVC/MVC extensions: not judged here.
            14 | 20 | 21 => return false,
            _ => {}
        }
    }
    slices > 0
}

fn hevc_disposable(data: &[u8], nal_length: usize) -> bool {
    let mut slices = 0;
    for unit in nal_units(data, Some(nal_length)) {
        let Some(&header) = unit.first() else { continue };
        let kind = (header >> 1) & 0x3f;
        match kind {
            // VCL NAL types 0..=31: the even ones below 16 are sub-layer non-reference.
            0..=15 if kind % 2 == 0 => slices += 1,
            0..=31 => return false,
            _ => {}
        }
    }
    slices > 0
}

/// Whether `data` holds at least one picture (after start code `00 00 01 code`) and all are
/// B (`is_b` reads the bytes after the start code; `None` when too short: not disposable).
fn all_pictures_are_b(data: &[u8], code: u8, is_b: impl Fn(&[u8]) -> Option<bool>) -> bool {
    let mut pictures = 0;
    for at in start_codes(data) {
        if data.get(at) != Some(&code) {
            continue;
        }
        match is_b(&data[at + 1..]) {
            Some(true) => pictures += 1,
            _ => return false,
        }
    }
    pictures > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn avcc(nals: &[&[u8]]) -> Vec<u8> {
        nals.iter().flat_map(|n| (n.len() as u32).to_be_bytes().into_iter().chain(n.iter().copied())).collect()
    }

    #[test]
    fn h264_non_reference_slices_are_disposable_in_both_layouts() {
        let avc = Disposability::H264 { nal_length: Some(4) };
        // SEI (6) then a slice with nal_ref_idc 0 (0x01): a non-reference B.
        assert!(avc.is_disposable(&avcc(&[&[0x06, 0x05, 0x00], &[0x01, 0x9a, 0x00]])));
        // A referenced P slice (nal_ref_idc 2: 0x41) and an IDR (0x65) are not.
        assert!(!avc.is_disposable(&avcc(&[&[0x41, 0x9a, 0x00]])));
        assert!(!avc.is_disposable(&avcc(&[&[0x65, 0x88, 0x80]])));
        // One referenced slice among non-referenced ones keeps the picture.
        assert!(!avc.is_disposable(&avcc(&[&[0x01, 0x9a], &[0x21, 0x9a]])));
        // No slice at all (parameter sets only), or lengths that do not add up: kept.
        assert!(!avc.is_disposable(&avcc(&[&[0x67, 0x64], &[0x68, 0xee]])));
        assert!(!avc.is_disposable(&[0, 0, 0, 9, 0x01, 0x9a]));
        let annex_b = Disposability::H264 { nal_length: None };
        assert!(annex_b.is_disposable(&[0, 0, 0, 1, 0x09, 0x10, 0, 0, 1, 0x01, 0x9e, 0x11]));
        assert!(!annex_b.is_disposable(&[0, 0, 0, 1, 0x09, 0x10, 0, 0, 1, 0x41, 0x9e, 0x11]));
    }

    #[test]
    fn hevc_non_reference_pictures_are_disposable_with_one_temporal_layer() {
        let hvcc = |layers: u8| {
            let mut record = vec![0u8; 23];
            record[0] = 1;
            record[21] = (layers << 3) | 3;
            record
        };
        let hevc = Disposability::for_codec(ffmpeg::codec::Id::HEVC, &hvcc(1));
        assert_eq!(hevc, Disposability::Hevc { nal_length: 4 });
        // The NAL header's type is bits 1-6 of its first byte: TRAIL_N (0) and RASL_N (8)
        // are non-reference; TRAIL_R (1) and IDR_W_RADL (19) are not; SEI (39) is no picture.
        assert!(hevc.is_disposable(&avcc(&[&[39 << 1, 1, 0], &[0 << 1, 1, 0xaf]])));
        assert!(hevc.is_disposable(&avcc(&[&[8 << 1, 1, 0xaf]])));
        assert!(!hevc.is_disposable(&avcc(&[&[1 << 1, 1, 0xaf]])));
        assert!(!hevc.is_disposable(&avcc(&[&[19 << 1, 1, 0xaf]])));
        assert!(!hevc.is_disposable(&avcc(&[&[39 << 1, 1, 0]])));
        // With temporal layers, or without an hvcC, nothing is left out.
        assert_eq!(Disposability::for_codec(ffmpeg::codec::Id::HEVC, &hvcc(2)), Disposability::Never);
        assert_eq!(Disposability::for_codec(ffmpeg::codec::Id::HEVC, &[]), Disposability::Never);
    }

    #[test]
    fn mpeg_b_pictures_are_disposable() {
        // VOP start code then vop_coding_type in the top two bits: 10 = B, 01 = P.
        assert!(Disposability::Mpeg4Part2.is_disposable(&[0, 0, 1, 0xB6, 0b1000_0000, 0x12]));
        assert!(!Disposability::Mpeg4Part2.is_disposable(&[0, 0, 1, 0xB6, 0b0100_0000, 0x12]));
        // Packed: a P-VOP and a B-VOP in one packet is not disposable.
        assert!(!Disposability::Mpeg4Part2.is_disposable(&[0, 0, 1, 0xB6, 0x40, 0, 0, 0, 1, 0xB6, 0x80]));
        // MPEG-2 picture header: temporal_reference then picture_coding_type 3 (B) / 2 (P).
        assert!(Disposability::Mpeg12.is_disposable(&[0, 0, 1, 0x00, 0x00, 0b0001_1000, 0xff]));
        assert!(!Disposability::Mpeg12.is_disposable(&[0, 0, 1, 0x00, 0x00, 0b0001_0000, 0xff]));
        assert!(!Disposability::Never.is_disposable(&[0, 0, 1, 0x01]));
    }
}
