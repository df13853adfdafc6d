//! Decoding one batch of frames on several decoders at once ([`DecoderTeam`]): the frames are
//! grouped by the key frame their decode starts from (one group per GOP touched), and the
//! groups are shared out among decoders of the same file, each on a thread of its own with
//! one FFmpeg thread. GOPs decode independently, so this scales with cores where FFmpeg's
//! frame threads (which pass every picture between threads and refill their pipeline after
//! each seek) do not: on 2 cores, 10 random frames of a 640×360 H.264 file took 94 ms on one
//! frame-threaded decoder and 56 ms on two single-threaded ones. Each member decodes and
//! renders its frames as one [`Video`] does, so the pixels are the same.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use crate::{Frame, FrameId, FrameIndex, MediaError, OpenOptions, RenderOptions, Result, RgbView, Video};

/// Up to `size` decoders of one video file that share out a batch's GOPs (see the module
/// docs). Members are opened when a batch first needs them, from the file's path and its
/// packet index (no second scan).
pub struct DecoderTeam {
    path: PathBuf,
    stream: usize,
    index: Arc<FrameIndex>,
    size: usize,
    max_pixels: Option<u64>,
    interrupt: Option<Arc<AtomicBool>>,
    members: Vec<Video>,
}

/// The most decoders one team shares a batch among.
const MAX_SIZE: usize = 4;

impl DecoderTeam {
    /// The team size for this machine: one decoder per core, at most [`MAX_SIZE`].
    pub fn size_for_this_machine() -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_SIZE)
    }

    /// Whether the team would decode `indices` faster than one decoder: it has two or more
    /// decoders and the frames start in two or more GOPs.
    pub fn shares(&self, indices: &[usize]) -> bool {
        self.size >= 2 && self.groups(indices) >= 2
    }

    /// A team of at most `size` decoders (at least one) for `video`'s file.
    pub fn for_video(video: &Video, size: usize) -> DecoderTeam {
        DecoderTeam::new(video.path().to_path_buf(), video.info().stream_index, video.shared_index(), size, None)
    }

    /// A team of at most `size` decoders (at least one) for stream `stream` of the file at
    /// `path`, whose packet index is `index`; members refuse pictures over `max_pixels` as
    /// [`OpenOptions::max_pixels`] says.
    pub fn new(path: PathBuf, stream: usize, index: Arc<FrameIndex>, size: usize, max_pixels: Option<u64>) -> DecoderTeam {
        DecoderTeam { path, stream, index, size: size.max(1), max_pixels, interrupt: None, members: Vec::new() }
    }

    /// Stops the team's decodes when `flag` is set, as [`Video::set_interrupt`] does for one.
    pub fn set_interrupt(&mut self, flag: Option<Arc<AtomicBool>>) {
        for member in &mut self.members {
            member.set_interrupt(flag.clone());
        }
        self.interrupt = flag;
    }

    /// Frames at `indices` (any order, repeats allowed) in the order asked, like
    /// [`Video::frames`], each distinct frame decoded once with the GOPs shared out.
    pub fn frames(&mut self, indices: &[usize], options: &RenderOptions) -> Result<Vec<Frame>> {
        let mut sorted = indices.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let slots: Vec<Mutex<Option<Frame>>> = sorted.iter().map(|_| Mutex::new(None)).collect();
        self.for_each_view_at(&sorted, options, &|id, view| {
            let at = sorted.binary_search(&id.index).expect("only asked frames are decoded");
            *slots[at].lock().unwrap_or_else(|p| p.into_inner()) = Some(Frame { id, image: view.to_image() });
            Ok(())
        })?;
        let decoded: Vec<Frame> = slots
            .into_iter()
            .map(|slot| slot.into_inner().unwrap_or_else(|p| p.into_inner()).expect("every asked frame was decoded"))
            .collect();
        Ok(crate::video::in_asked_order(indices, &sorted, decoded))
    }

    /// [`Video::frames_into`] with the GOPs shared out: the frames at `indices` written into
    /// `out` (sized by [`Video::output_size`]) in the order asked, each decoder filling its
    /// frames' slots as it goes.
    pub fn frames_into(&mut self, indices: &[usize], options: &RenderOptions, out: &mut [u8]) -> Result<()> {
        self.open_members(1)?;
        let slots = crate::batch::BatchSlots::new(indices, self.members[0].output_size(options), out)?;
        self.share_out(&slots.distinct(), &|member, frames| member.fill_slots(frames, options, &slots))
    }

    /// Opens members until the team has `n` (members stay open between batches).
    fn open_members(&mut self, n: usize) -> Result<()> {
        while self.members.len() < n {
            let mut member = Video::open_with(
                &self.path,
                OpenOptions { stream: Some(self.stream), threads: 1, index: Some(self.index.clone()), max_pixels: self.max_pixels },
            )?;
            member.set_interrupt(self.interrupt.clone());
            self.members.push(member);
        }
        Ok(())
    }

    /// Frames decoded by the team's decoders so far.
    pub fn frames_decoded(&self) -> u64 {
        self.members.iter().map(Video::frames_decoded).sum()
    }

    /// How many GOPs a decode of `indices` starts in: the work a team can share out.
    pub fn groups(&self, indices: &[usize]) -> usize {
        let mut sorted = indices.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        self.split(&sorted).len()
    }

    /// The sorted, distinct `sorted` indices split by the key frame their decode starts
    /// from, with the work each group costs (frames from its key frame to its last frame).
    fn split(&self, sorted: &[usize]) -> Vec<(Vec<usize>, usize)> {
        let mut groups: Vec<(Option<i64>, Vec<usize>, usize)> = Vec::new();
        for &i in sorted {
            if i >= self.index.len() {
                // Left to the member, which reports it as every decode does.
                groups.push((None, vec![i], 1));
                continue;
            }
            let key = self.index.seek_point_for(i).map(|s| s.pts);
            match groups.last_mut() {
                Some((k, members, _)) if *k == key && key.is_some() => members.push(i),
                _ => groups.push((key, vec![i], 0)),
            }
        }
        groups
            .into_iter()
            .map(|(key, frames, work)| {
                let start = key.and_then(|pts| self.index.position_of_pts(pts).ok()).unwrap_or(frames[0]);
                let last = *frames.last().expect("a group has a frame");
                (frames, work.max(last.saturating_sub(start) + 1))
            })
            .collect()
    }

    /// Like [`Video::for_each_view_at`] (each distinct frame decoded once and lent to
    /// `sink`), with the GOPs decoded in parallel: `sink` may be called from several threads
    /// at once and in no particular order across GOPs (in ascending order within one).
    pub fn for_each_view_at(
        &mut self,
        indices: &[usize],
        options: &RenderOptions,
        sink: &(dyn Fn(FrameId, RgbView<'_>) -> Result<()> + Sync),
    ) -> Result<()> {
        self.share_out(indices, &|member, frames| member.for_each_view_at(frames, options, sink))
    }

    /// Splits `indices` into GOP groups, shares them out among the members and runs `work`
    /// on each member with its frames (ascending), each on a thread of its own.
    fn share_out(&mut self, indices: &[usize], work: &(dyn Fn(&mut Video, &[usize]) -> Result<()> + Sync)) -> Result<()> {
        let mut sorted = indices.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let mut groups = self.split(&sorted);
        let n = self.size.min(groups.len()).max(1);
        self.open_members(n)?;
        if n == 1 {
            return work(&mut self.members[0], &sorted);
        }
        // The largest groups first, each to the member with the least work so far.
        groups.sort_by(|a, b| b.1.cmp(&a.1));
        let mut lists: Vec<(Vec<usize>, usize)> = vec![(Vec::new(), 0); n];
        for (frames, work) in groups {
            let least = lists.iter_mut().min_by_key(|(_, w)| *w).expect("n >= 1");
            least.0.extend(frames);
            least.1 += work;
        }
        std::thread::scope(|scope| {
            let running: Vec<_> = self
                .members
                .iter_mut()
                .zip(lists)
                .map(|(member, (mut list, _))| {
                    list.sort_unstable();
                    scope.spawn(move || work(member, &list))
                })
                .collect();
            let mut outcome = Ok(());
            for handle in running {
                let result = handle
                    .join()
                    .unwrap_or_else(|_| Err(MediaError::InvalidOption("a decoder thread of the team panicked".into())));
                if outcome.is_ok() {
                    outcome = result;
                }
            }
            outcome
        })
    }
}
