//! glibc's allocator settings, chosen per kind of work.
//!
//! libtorch takes every activation buffer from `malloc`. By default glibc maps each block above a
//! threshold on its own and unmaps it on `free`, so the next batch faults in fresh, zeroed pages
//! for the same sizes again: with a 1 MiB threshold (what bounded extraction's memory before),
//! a quarter of a training run's CPU time went to page faults, and EfficientNet-Lite0 ran its
//! forward pass at a third of its speed. Three settings fix it:
//! - a fixed mmap threshold, so blocks below it are reused from the heap batch after batch
//!   (fixing it also stops glibc from moving it, which made peak memory vary between identical
//!   runs when decoded images were freed on other threads than the ones that made them);
//! - libtorch's own transparent-huge-page option (`THP_MEM_ALLOC_ENABLE`), so the blocks that
//!   are still mapped fault in 2 MiB at a time instead of 4 KiB;
//! - a cap of 4 heaps, which bounds how much freed space the decoding threads keep.
//!
//! What made memory grow was never libtorch's buffers but graft's own: decoded images of every
//! size, allocated on the decoding threads and freed on another, fragment the heaps they come
//! from. So Rust's allocations of 1 MiB and more ([`MappedLarge`], the global allocator) get a
//! mapping of their own, returned to the system when freed whatever glibc's settings, and
//! libtorch's activations stay in the heap, where each batch reuses the last one's space.
//! Streaming work (extraction, probing, ranking) keeps activations up to 32 MiB in the heap, so
//! the few larger ones are still returned between batches; training keeps everything up to
//! 256 MiB.

/// What the process is about to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// One pass over data, memory bounded whatever its size: extract, probe, rank, predict.
    Streaming,
    /// Many steps over the same buffer sizes: pretrain, finetune, adapt, auto.
    Training,
}

/// Applies the settings for `work`; a no-op where the allocator is not glibc's.
pub fn configure(work: Workload) {
    let mmap_threshold: i32 = match work {
        Workload::Streaming => 32 << 20,
        Workload::Training => 256 << 20,
    };
    // Read by libtorch (c10's CPU allocator) at its first allocation, which has not happened yet.
    std::env::set_var("THP_MEM_ALLOC_ENABLE", "1");
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tuning parameters; called from main before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, mmap_threshold);
        libc::mallopt(libc::M_TRIM_THRESHOLD, mmap_threshold.saturating_mul(2));
        libc::mallopt(libc::M_ARENA_MAX, 4);
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = mmap_threshold;
}

/// Rust's global allocator: [`std::alloc::System`] for blocks under [`MAP_MIN`], a private
/// anonymous mapping for larger ones (see the module's comment for why).
pub struct MappedLarge;

/// Blocks from this size on get their own mapping.
pub const MAP_MIN: usize = 1 << 20;

#[cfg(target_os = "linux")]
mod mapped {
    use super::{MappedLarge, MAP_MIN};
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::ptr::null_mut;

    /// mmap returns page-aligned memory; stricter alignments go to the system allocator.
    const PAGE: usize = 4096;

    fn mapped(l: &Layout) -> bool {
        l.size() >= MAP_MIN && l.align() <= PAGE
    }

    unsafe fn map(size: usize) -> *mut u8 {
        let p = libc::mmap(
            null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if p == libc::MAP_FAILED {
            null_mut()
        } else {
            p.cast()
        }
    }

    // SAFETY: every block is freed by the same branch that allocated it, since the branch depends
    // only on the layout, which Rust passes back unchanged; mappings are zero-filled.
    unsafe impl GlobalAlloc for MappedLarge {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            if mapped(&l) {
                map(l.size())
            } else {
                System.alloc(l)
            }
        }

        unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
            if mapped(&l) {
                map(l.size())
            } else {
                System.alloc_zeroed(l)
            }
        }

        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            if mapped(&l) {
                libc::munmap(p.cast(), l.size());
            } else {
                System.dealloc(p, l)
            }
        }

        unsafe fn realloc(&self, p: *mut u8, l: Layout, new_size: usize) -> *mut u8 {
            let new = Layout::from_size_align_unchecked(new_size, l.align());
            match (mapped(&l), mapped(&new)) {
                (false, false) => System.realloc(p, l, new_size),
                (true, true) => {
                    let q = libc::mremap(p.cast(), l.size(), new_size, libc::MREMAP_MAYMOVE);
                    if q == libc::MAP_FAILED {
                        null_mut()
                    } else {
                        q.cast()
                    }
                }
                _ => {
                    let q = self.alloc(new);
                    if !q.is_null() {
                        std::ptr::copy_nonoverlapping(p, q, l.size().min(new_size));
                        self.dealloc(p, l);
                    }
                    q
                }
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
// SAFETY: forwards to the system allocator.
unsafe impl std::alloc::GlobalAlloc for MappedLarge {
    unsafe fn alloc(&self, l: std::alloc::Layout) -> *mut u8 {
        std::alloc::System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: std::alloc::Layout) {
        std::alloc::System.dealloc(p, l)
    }
}

#[cfg(test)]
mod tests {
    use super::MAP_MIN;

    #[test]
    fn blocks_keep_their_contents_across_every_kind_of_resize() {
        // The graft binary's tests run under MappedLarge, so these Vecs exercise it.
        for (from, to) in [
            (1000, 2000),
            (1000, MAP_MIN + 10),
            (MAP_MIN + 10, 3 * MAP_MIN),
            (3 * MAP_MIN, MAP_MIN + 1),
            (MAP_MIN + 10, 100),
        ] {
            let mut v: Vec<u8> = (0..from).map(|i| (i % 251) as u8).collect();
            v.shrink_to_fit();
            if to > from {
                v.reserve_exact(to - from);
            } else {
                v.truncate(to);
                v.shrink_to_fit();
            }
            let n = from.min(to);
            assert!(v[..n]
                .iter()
                .enumerate()
                .all(|(i, &b)| b == (i % 251) as u8));
        }
        let z = vec![0u64; MAP_MIN];
        assert!(z.iter().all(|&x| x == 0));
    }
}
