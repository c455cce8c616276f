//! Where and how a run computes: device, threads and the JPEG decode size. Options of every
//! call, never process-wide state that a library reads behind its caller's back.

use graft_data::image_io::DecodeSize;
use graft_nn::precision::Precision;
use tch::Device;

#[derive(Clone, Debug)]
pub struct Runtime {
    pub device: Device,
    /// Threads for libtorch's kernels and for decoding (0: every core the process may use).
    pub threads: usize,
    /// The JPEG decode size asked for; `None` lets a run that recorded one use its own and a
    /// new run decode at reduced size (see [`crate::decode_size`]).
    pub decode_size: Option<DecodeSize>,
    /// Precision of the forward passes of inference calls (extract, probe, rank, eval,
    /// predict). Training takes its precision from its options, which its recipe records.
    pub precision: Precision,
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime {
            device: Device::Cpu,
            threads: 0,
            decode_size: None,
            precision: Precision::Fp32,
        }
    }
}

impl Runtime {
    /// The number of threads: the option, else every core the process may use.
    pub fn threads(&self) -> usize {
        crate::threads::resolve(Some(self.threads))
    }

    /// Gives libtorch [`Runtime::threads`] intra-op threads (libtorch's own setting is
    /// process-wide, so a call that runs kernels sets it) and returns the count.
    pub fn apply_threads(&self) -> usize {
        let n = self.threads();
        crate::threads::configure_torch(n);
        n
    }

    /// The device's name as a person writes it (`cpu`, `cuda:0`), for records.
    pub fn device_name(&self) -> String {
        match self.device {
            Device::Cpu => "cpu".into(),
            Device::Cuda(i) => format!("cuda:{i}"),
            d => format!("{d:?}").to_lowercase(),
        }
    }
}
