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

/// Decoding threads for a pass that decodes images while the model runs (extraction). On a CPU
/// the kernels already use all `threads`, and decoding and resizing cost a few milliseconds an
/// image against tens for the forward pass, so a quarter of them (at least one) keep the loader
/// ahead; more would only take cores from the kernels, whose threads then wait for each other
/// at every barrier. On a GPU decoding is the CPU's whole job, so it gets them all.
pub fn streaming_decoders(threads: usize, device: tch::Device) -> usize {
    match device {
        tch::Device::Cpu => threads.div_ceil(4).max(1),
        _ => threads.max(1),
    }
}
