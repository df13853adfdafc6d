//! Batches written into one buffer the caller owns ([`Video::frames_into`],
//! [`DecoderTeam::frames_into`](crate::DecoderTeam::frames_into)): the frames at any indices
//! (repeats allowed) as RGB24, back to back in the order asked, each distinct frame decoded
//! once and rendered straight into the first slot that asked for it (swscale writes there
//! itself when nothing but the RGB conversion is asked), then copied to any repeat. This is
//! what a NumPy batch, an HTTP body or a clip tensor is: no per-frame allocation, no second
//! pass to concatenate. Slots are disjoint, so a team's decoders fill theirs at the same time
//! without taking turns at one lock.

use std::sync::Mutex;

use crate::{FrameId, MediaError, RenderOptions, Result, Video};

/// Where each frame of a batch goes in the caller's buffer.
pub(crate) struct BatchSlots<'a> {
    /// (frame index, slot), sorted by frame: a frame asked twice has two entries.
    by_frame: Vec<(usize, usize)>,
    slots: Vec<Mutex<&'a mut [u8]>>,
    width: u32,
    height: u32,
}

impl<'a> BatchSlots<'a> {
    /// Slots for `indices` rendered as `width`×`height`, over `out` (exactly that many frames).
    pub(crate) fn new(indices: &[usize], (width, height): (u32, u32), out: &'a mut [u8]) -> Result<BatchSlots<'a>> {
        let frame_bytes = width as usize * height as usize * 3;
        if out.len() != frame_bytes * indices.len() {
            return Err(MediaError::InvalidOption(format!(
                "a batch of {} frames of {width}x{height} needs {} bytes, the buffer holds {}",
                indices.len(),
                frame_bytes * indices.len(),
                out.len()
            )));
        }
        let mut by_frame: Vec<(usize, usize)> = indices.iter().copied().enumerate().map(|(slot, i)| (i, slot)).collect();
        by_frame.sort_unstable();
        // A zero-sized frame has no bytes to split; its (empty) slots are still counted.
        let slots = if frame_bytes == 0 {
            indices.iter().map(|_| Mutex::new(<&mut [u8]>::default())).collect()
        } else {
            out.chunks_exact_mut(frame_bytes).map(Mutex::new).collect()
        };
        Ok(BatchSlots { by_frame, slots, width, height })
    }

    /// The distinct frames to decode, ascending.
    pub(crate) fn distinct(&self) -> Vec<usize> {
        let mut d: Vec<usize> = self.by_frame.iter().map(|(i, _)| *i).collect();
        d.dedup();
        d
    }

    /// Renders frame `id` (with `render`, into one packed frame) into the first slot that
    /// asked for it and copies it to the others. Only one decoder renders a given frame, so
    /// each slot's lock is taken once and never waited on.
    pub(crate) fn fill(&self, id: FrameId, render: impl FnOnce((u32, u32), &mut [u8]) -> Result<()>) -> Result<()> {
        let first = self.by_frame.partition_point(|(i, _)| *i < id.index);
        let mut slots = self.by_frame[first..].iter().take_while(|(i, _)| *i == id.index).map(|&(_, slot)| slot);
        let Some(head) = slots.next() else { return Ok(()) };
        let mut rendered = self.slots[head].lock().unwrap_or_else(|p| p.into_inner());
        render((self.width, self.height), &mut rendered)?;
        for slot in slots {
            self.slots[slot].lock().unwrap_or_else(|p| p.into_inner()).copy_from_slice(&rendered);
        }
        Ok(())
    }

    /// Copies `view` into every slot frame `id` has, through [`BatchSlots::fill`] (a
    /// renderer's copy when the graph renders).
    #[cfg(test)]
    pub(crate) fn place(&self, id: FrameId, view: crate::RgbView<'_>) -> Result<()> {
        self.fill(id, |(w, h), dst| {
            if (view.width, view.height) != (w, h) {
                return Err(MediaError::InvalidOption(format!("frame {} rendered as {}x{}, not {w}x{h}", id.index, view.width, view.height)));
            }
            for (to, from) in dst.chunks_exact_mut(w as usize * 3).zip(view.rows()) {
                to.copy_from_slice(from);
            }
            Ok(())
        })
    }
}

impl Video {
    /// The size frames come out at with `options` (crop and resize applied, rotated unless
    /// `autorotate` is off): one slot of a batch.
    pub fn output_size(&self, options: &RenderOptions) -> (u32, u32) {
        let (w, h) = if options.autorotate { (self.info().width, self.info().height) } else { (self.info().coded_width, self.info().coded_height) };
        options.output_size(w, h)
    }

    /// The frames at `indices` (any order, repeats allowed) written into `out` as RGB24, back
    /// to back in the order asked; `out` holds exactly `indices.len()` frames of
    /// [`Video::output_size`]. Each distinct frame is decoded once, as
    /// [`Video::for_each_view_at`] does.
    pub fn frames_into(&mut self, indices: &[usize], options: &RenderOptions, out: &mut [u8]) -> Result<()> {
        let slots = BatchSlots::new(indices, self.output_size(options), out)?;
        self.fill_slots(&slots.distinct(), options, &slots)
    }

    /// Decodes `frames` (a part of `slots`' frames) and renders each into its slots.
    pub(crate) fn fill_slots(&mut self, frames: &[usize], options: &RenderOptions, slots: &BatchSlots<'_>) -> Result<()> {
        self.walk_to_each(frames, options, |video, id| slots.fill(id, |size, dst| video.render_current_into(options, size, dst)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RgbView;

    #[test]
    fn slots_follow_the_asked_order_with_repeats() {
        let mut out = vec![0u8; 4 * 3];
        let slots = BatchSlots::new(&[7, 2, 7, 5], (1, 1), &mut out).expect("sized");
        assert_eq!(slots.distinct(), vec![2, 5, 7]);
        for (i, value) in [(2usize, 20u8), (5, 50), (7, 70)] {
            let pixel = [value, value + 1, value + 2];
            let view = RgbView::packed(1, 1, &pixel);
            slots.place(FrameId { index: i, pts: i as i64, seconds: 0.0, key: false }, view).expect("placed");
        }
        drop(slots);
        assert_eq!(out, vec![70, 71, 72, 20, 21, 22, 70, 71, 72, 50, 51, 52]);
    }

    #[test]
    fn a_buffer_of_the_wrong_size_or_a_frame_of_the_wrong_size_is_refused() {
        let mut out = vec![0u8; 5];
        assert!(BatchSlots::new(&[1, 2], (1, 1), &mut out).is_err());
        let mut out = vec![0u8; 6];
        let slots = BatchSlots::new(&[1, 2], (1, 1), &mut out).expect("sized");
        let pixels = [0u8; 6];
        let wide = RgbView::packed(2, 1, &pixels);
        assert!(slots.place(FrameId { index: 1, pts: 1, seconds: 0.0, key: false }, wide).is_err());
    }
}
