//! One thread count for libtorch's kernels and graft's own decoding pool.

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
///
/// libtorch accepts the inter-op count once per process, and only before any parallel work; a
/// library may be called many times, so that setting is tried once and a refusal (a process
/// that already ran kernels) is left alone instead of failing the call.
pub fn configure_torch(n: usize) {
    tch::set_num_threads(n as i32);
    static INTEROP: std::sync::Once = std::sync::Once::new();
    INTEROP.call_once(|| {
        if tch::get_num_interop_threads() == 1 {
            return;
        }
        // SAFETY: plain libtorch calls; the error string libtorch leaves behind is owned by us
        // and freed with the allocator that made it (malloc), as tch's own wrappers do.
        unsafe {
            torch_sys::at_set_num_interop_threads(1);
            let err = torch_sys::get_and_reset_last_err();
            if !err.is_null() {
                let msg = std::ffi::CStr::from_ptr(err).to_string_lossy().into_owned();
                libc::free(err as *mut libc::c_void);
                tracing::debug!("libtorch kept its inter-op threads: {msg}");
            }
        }
    });
}
