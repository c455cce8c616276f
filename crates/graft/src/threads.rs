//! One `--threads` setting for libtorch's kernels and graft's own decoding pool.

/// The number of threads to use: the flag, else every core the process may use.
pub fn resolve(flag: Option<usize>) -> usize {
    flag.filter(|&n| n > 0).unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    })
}

/// Gives libtorch `n` intra-op threads and one inter-op thread: graft runs one model at a time,
/// so parallelism inside each kernel is what pays.
pub fn configure_torch(n: usize) {
    tch::set_num_threads(n as i32);
    tch::set_num_interop_threads(1);
}
