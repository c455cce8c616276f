//! The batch loader behind feature extraction and training: images are decoded and preprocessed
//! in parallel, at most a few batches ahead of the consumer (memory stays bounded whatever the
//! dataset size), and batches come out in an order fixed by the seed alone, whatever the thread
//! count or timing.

use crate::error::{DataError, Result};
use crate::image_folder::{ImageDataset, UNLABELLED};
use crate::image_io::{decode_for, DecodeSize, Preprocessor};
use crate::preprocess::Preprocess;
use crossbeam_channel::{Receiver, Sender};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// How [`image_batches`] reads a dataset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoaderOptions {
    pub batch_size: usize,
    /// Decoding threads; 0 means all available cores.
    pub threads: usize,
    /// Batches decoded ahead of the consumer (at least 1). Memory use is about
    /// `(prefetch + 1) * batch_size * C * H * W * 4` bytes.
    pub prefetch: usize,
    /// Visit samples in a random order drawn from `seed` (ChaCha8). For a new order each epoch,
    /// derive the seed from the epoch.
    pub shuffle: bool,
    pub seed: u64,
    /// Leave unreadable images out of their batch (reported in [`ImageBatch::skipped`]) instead
    /// of failing.
    pub skip_bad: bool,
    /// Drop a last batch smaller than `batch_size`.
    pub drop_last: bool,
    /// Each sample in HWC order instead of CHW (see [`ImageBatch::channels_last`]).
    pub channels_last: bool,
    /// Decode large JPEGs at reduced size ahead of the resize (the default), or always at full
    /// size for PIL's exact pixels.
    pub decode_size: DecodeSize,
}

impl Default for LoaderOptions {
    fn default() -> Self {
        LoaderOptions {
            batch_size: 32,
            threads: 0,
            prefetch: 2,
            shuffle: false,
            seed: 0,
            skip_bad: false,
            drop_last: false,
            channels_last: false,
            decode_size: DecodeSize::default(),
        }
    }
}

/// One batch of preprocessed images.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageBatch {
    /// `N*C*H*W` values, sample-major, each sample CHW, or HWC when `channels_last`.
    pub data: Vec<f32>,
    /// The samples are HWC: `data` is then an NCHW tensor with channels-last strides
    /// `[H*W*C, 1, W*C, C]`, which channels-last networks take as it is.
    pub channels_last: bool,
    /// `[N, C, H, W]`; N counts only the images that loaded.
    pub shape: [usize; 4],
    /// Class index per image; -1 for unlabelled samples.
    pub labels: Vec<i64>,
    /// Index into `dataset.samples` of each image.
    pub indices: Vec<usize>,
    /// Images of this batch left out with `skip_bad`, with the reason.
    pub skipped: Vec<(PathBuf, String)>,
}

/// Iterator over the batches of one pass through a dataset. Dropping it stops the workers.
pub struct ImageLoader {
    job: Arc<Job>,
    pool: rayon::ThreadPool,
    tx: Sender<(usize, Result<ImageBatch>)>,
    rx: Receiver<(usize, Result<ImageBatch>)>,
    num_batches: usize,
    prefetch: usize,
    submitted: usize,
    next: usize,
    pending: BTreeMap<usize, Result<ImageBatch>>,
    failed: bool,
}

/// What every worker needs, shared.
struct Job {
    ds: Arc<ImageDataset>,
    pre: Preprocessor,
    order: Vec<usize>,
    batch_size: usize,
    sample_len: usize,
    chw: [usize; 3],
    skip_bad: bool,
    channels_last: bool,
    decode_size: DecodeSize,
    cancel: AtomicBool,
}

/// Starts a pass over `ds` with recipe `p`. The recipe must set a crop, so that every image
/// yields a tensor of the same size.
pub fn image_batches(
    ds: Arc<ImageDataset>,
    p: Preprocess,
    o: LoaderOptions,
) -> Result<ImageLoader> {
    if o.batch_size == 0 {
        return Err(DataError::Options("batch_size must be at least 1".into()));
    }
    let Some((h, w)) = p.crop else {
        return Err(DataError::Options(
            "the batch loader needs a fixed image size: set a crop in the preprocessing recipe"
                .into(),
        ));
    };
    let pre = Preprocessor::new(&p)?;
    let threads = if o.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        o.threads
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("graft-loader-{i}"))
        .build()
        .map_err(|e| DataError::Options(format!("cannot start {threads} decoding threads: {e}")))?;
    let mut order: Vec<usize> = (0..ds.samples.len()).collect();
    if o.shuffle {
        order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(o.seed));
    }
    let n = order.len();
    let num_batches = if o.drop_last {
        n / o.batch_size
    } else {
        n.div_ceil(o.batch_size)
    };
    let chw = [p.channels(), h as usize, w as usize];
    let (tx, rx) = crossbeam_channel::unbounded();
    Ok(ImageLoader {
        job: Arc::new(Job {
            ds,
            pre,
            order,
            batch_size: o.batch_size,
            sample_len: chw.iter().product(),
            chw,
            skip_bad: o.skip_bad,
            channels_last: o.channels_last,
            decode_size: o.decode_size,
            cancel: AtomicBool::new(false),
        }),
        pool,
        tx,
        rx,
        num_batches,
        prefetch: o.prefetch.max(1),
        submitted: 0,
        next: 0,
        pending: BTreeMap::new(),
        failed: false,
    })
}

impl ImageLoader {
    /// Batches in this pass.
    pub fn num_batches(&self) -> usize {
        self.num_batches
    }

    fn submit(&mut self, b: usize) {
        let job = self.job.clone();
        let tx = self.tx.clone();
        self.pool.spawn(move || {
            let batch =
                std::panic::catch_unwind(AssertUnwindSafe(|| job.batch(b))).unwrap_or_else(|e| {
                    Err(DataError::Options(format!(
                        "batch {b}: worker panicked: {}",
                        panic_text(&e)
                    )))
                });
            // The receiver is gone when the loader was dropped: nothing left to do.
            let _ = tx.send((b, batch));
        });
    }
}

fn panic_text(e: &Box<dyn std::any::Any + Send>) -> String {
    e.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| e.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// The error message without its leading "path: ", for lists that already show the path.
fn reason_of(e: &DataError) -> String {
    let s = e.to_string();
    match e.path() {
        Some(p) => s
            .strip_prefix(&format!("{}: ", p.display()))
            .map(String::from)
            .unwrap_or(s),
        None => s,
    }
}

impl Job {
    fn load_into(&self, sample: usize, slot: &mut [f32]) -> Result<()> {
        let path = &self.ds.samples[sample].0;
        // A decoder bug must not take the process down: treat a panic as a bad image.
        let decode = || decode_for(path, self.pre.recipe(), self.decode_size);
        let img = std::panic::catch_unwind(AssertUnwindSafe(decode)).unwrap_or_else(|e| {
            Err(DataError::Image {
                path: path.clone(),
                reason: format!("decoder panicked: {}", panic_text(&e)),
            })
        })?;
        self.pre.run_decoded_into(&img, slot, self.channels_last)
    }

    fn batch(&self, b: usize) -> Result<ImageBatch> {
        let ids =
            &self.order[b * self.batch_size..((b + 1) * self.batch_size).min(self.order.len())];
        let len = self.sample_len;
        let mut data = vec![0f32; ids.len() * len];
        let results: Vec<Result<()>> = data
            .par_chunks_mut(len)
            .zip(ids.par_iter())
            .map(|(slot, &i)| {
                if self.cancel.load(Ordering::Relaxed) {
                    return Ok(());
                }
                self.load_into(i, slot)
            })
            .collect();
        let mut out = ImageBatch {
            data: Vec::new(),
            channels_last: self.channels_last,
            shape: [0, self.chw[0], self.chw[1], self.chw[2]],
            labels: Vec::with_capacity(ids.len()),
            indices: Vec::with_capacity(ids.len()),
            skipped: Vec::new(),
        };
        let mut kept = 0;
        for (k, (r, &i)) in results.into_iter().zip(ids).enumerate() {
            match r {
                Ok(()) => {
                    if kept != k {
                        data.copy_within(k * len..(k + 1) * len, kept * len);
                    }
                    kept += 1;
                    let label = self.ds.samples[i].1;
                    out.labels.push(if label == UNLABELLED {
                        -1
                    } else {
                        label as i64
                    });
                    out.indices.push(i);
                }
                Err(e) if self.skip_bad => out
                    .skipped
                    .push((self.ds.samples[i].0.clone(), reason_of(&e))),
                Err(e) => return Err(e),
            }
        }
        data.truncate(kept * len);
        out.data = data;
        out.shape[0] = kept;
        Ok(out)
    }
}

impl Iterator for ImageLoader {
    type Item = Result<ImageBatch>;

    /// The next batch in order. After an error the pass ends.
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.next >= self.num_batches {
            return None;
        }
        while self.submitted < self.num_batches && self.submitted < self.next + self.prefetch {
            self.submit(self.submitted);
            self.submitted += 1;
        }
        loop {
            if let Some(b) = self.pending.remove(&self.next) {
                self.next += 1;
                self.failed = b.is_err();
                return Some(b);
            }
            match self.rx.recv() {
                Ok((i, b)) => {
                    self.pending.insert(i, b);
                }
                Err(_) => unreachable!("the loader holds a sender"),
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = if self.failed {
            0
        } else {
            self.num_batches - self.next
        };
        (0, Some(left))
    }
}

impl Drop for ImageLoader {
    fn drop(&mut self) {
        self.job.cancel.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocess::{ColorMode, Interpolation, Normalization};
    use std::path::Path;

    fn recipe() -> Preprocess {
        Preprocess {
            resize_shorter: Some(12),
            crop: Some((10, 10)),
            interpolation: Interpolation::Bilinear,
            color: ColorMode::Rgb,
            normalization: Normalization::UnitRange,
        }
    }

    /// 2 classes x `per` images, each a flat colour that encodes its index in its red channel.
    fn dataset(root: &Path, per: usize) -> Arc<ImageDataset> {
        for (k, c) in ["a", "b"].iter().enumerate() {
            std::fs::create_dir_all(root.join(c)).unwrap();
            for i in 0..per {
                let v = (k * per + i) as u8 * 10;
                image::RgbImage::from_pixel(16 + i as u32, 14, image::Rgb([v, 7, 9]))
                    .save(root.join(c).join(format!("{i:02}.png")))
                    .unwrap();
            }
        }
        Arc::new(ImageDataset::from_folder(root).unwrap())
    }

    fn collect(ds: &Arc<ImageDataset>, o: LoaderOptions) -> Vec<ImageBatch> {
        image_batches(ds.clone(), recipe(), o)
            .unwrap()
            .map(|b| b.unwrap())
            .collect()
    }

    #[test]
    fn batches_in_order_with_labels_and_exact_pixels() {
        let d = tempfile::tempdir().unwrap();
        let ds = dataset(d.path(), 5);
        let o = LoaderOptions {
            batch_size: 4,
            threads: 2,
            ..Default::default()
        };
        let loader = image_batches(ds.clone(), recipe(), o.clone()).unwrap();
        assert_eq!(loader.num_batches(), 3);
        let batches: Vec<ImageBatch> = loader.map(|b| b.unwrap()).collect();
        assert_eq!(
            batches.iter().map(|b| b.shape[0]).collect::<Vec<_>>(),
            vec![4, 4, 2]
        );
        assert_eq!(batches[0].shape, [4, 3, 10, 10]);
        let idx: Vec<usize> = batches.iter().flat_map(|b| b.indices.clone()).collect();
        assert_eq!(idx, (0..10).collect::<Vec<_>>());
        let labels: Vec<i64> = batches.iter().flat_map(|b| b.labels.clone()).collect();
        assert_eq!(labels, vec![0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
        for b in &batches {
            for (k, &i) in b.indices.iter().enumerate() {
                // Flat colours survive resize and crop unchanged.
                let red = b.data[k * 300];
                assert_eq!(red, (i as f32 * 10.0) / 255.0);
                assert_eq!(b.data[k * 300 + 100], 7.0 / 255.0);
            }
        }
        let dropped = collect(
            &ds,
            LoaderOptions {
                drop_last: true,
                ..o
            },
        );
        assert_eq!(dropped.len(), 2);
    }

    #[test]
    fn shuffle_depends_only_on_the_seed() {
        let d = tempfile::tempdir().unwrap();
        let ds = dataset(d.path(), 6);
        let order = |seed, threads, batch_size| -> Vec<usize> {
            let o = LoaderOptions {
                batch_size,
                threads,
                shuffle: true,
                seed,
                prefetch: 3,
                ..Default::default()
            };
            collect(&ds, o)
                .iter()
                .flat_map(|b| b.indices.clone())
                .collect()
        };
        let a = order(5, 1, 3);
        assert_eq!(a, order(5, 2, 3));
        assert_eq!(a, order(5, 2, 5));
        assert_ne!(a, order(6, 2, 3));
        assert_ne!(a, (0..12).collect::<Vec<_>>());
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, (0..12).collect::<Vec<_>>());
    }

    #[test]
    fn bad_images_fail_or_are_skipped() {
        let d = tempfile::tempdir().unwrap();
        let ds = dataset(d.path(), 3);
        std::fs::write(&ds.samples[1].0, b"garbage").unwrap();
        let o = LoaderOptions {
            batch_size: 2,
            threads: 2,
            ..Default::default()
        };
        let mut it = image_batches(ds.clone(), recipe(), o.clone()).unwrap();
        let e = it.next().unwrap().unwrap_err().to_string();
        assert!(
            e.contains("01.png") && e.contains("not a recognised image format"),
            "{e}"
        );
        assert!(it.next().is_none(), "the pass ends after an error");

        let batches = collect(
            &ds,
            LoaderOptions {
                skip_bad: true,
                ..o
            },
        );
        assert_eq!(batches[0].shape[0], 1);
        assert_eq!(batches[0].indices, vec![0]);
        assert_eq!(batches[0].data.len(), 300);
        assert_eq!(batches[0].skipped.len(), 1);
        assert!(batches[0].skipped[0].0.ends_with("a/01.png"));
        assert!(
            batches[0].skipped[0].1.starts_with("cannot decode image"),
            "{}",
            batches[0].skipped[0].1
        );
        let total: usize = batches.iter().map(|b| b.indices.len()).sum();
        assert_eq!(total, 5);
    }

    #[test]
    fn decode_size_reaches_the_decoder() {
        // 96x64 JPEG, resize 12: 64 // 24 = 2, so the default decodes it at 1/2.
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("a")).unwrap();
        let img = image::RgbImage::from_fn(96, 64, |x, y| {
            image::Rgb([(x * 2) as u8, (y * 3) as u8, ((x ^ y) * 4) as u8])
        });
        let path = d.path().join("a").join("big.jpg");
        img.save(&path).unwrap();
        let one = crate::image_folder::OpenOptions { min_classes: 1 };
        let ds = Arc::new(ImageDataset::open_with(d.path(), one).unwrap());
        let run = |decode_size| {
            let o = LoaderOptions {
                decode_size,
                ..Default::default()
            };
            collect(&ds, o).remove(0).data
        };
        let pre = Preprocessor::new(&recipe()).unwrap();
        let full = pre
            .run(&crate::image_io::decode_rgb(&path).unwrap())
            .unwrap();
        assert_eq!(run(DecodeSize::Full), full);
        let reduced = run(DecodeSize::Reduced);
        assert_eq!(reduced.len(), full.len());
        assert_ne!(reduced, full);
        assert_eq!(LoaderOptions::default().decode_size, DecodeSize::Reduced);
    }

    #[test]
    fn options_are_checked() {
        let d = tempfile::tempdir().unwrap();
        let ds = dataset(d.path(), 1);
        let e = image_batches(
            ds.clone(),
            recipe(),
            LoaderOptions {
                batch_size: 0,
                ..Default::default()
            },
        );
        assert!(e.err().unwrap().to_string().contains("batch_size"));
        let mut p = recipe();
        p.crop = None;
        let e = image_batches(ds, p, LoaderOptions::default());
        assert!(e.err().unwrap().to_string().contains("crop"));
    }

    #[test]
    fn dropping_early_stops_cleanly() {
        let d = tempfile::tempdir().unwrap();
        let ds = dataset(d.path(), 8);
        let mut it = image_batches(
            ds,
            recipe(),
            LoaderOptions {
                batch_size: 1,
                threads: 2,
                prefetch: 4,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(it.next().unwrap().is_ok());
        drop(it);
    }
}
