//! Flag groups that many commands share: where they compute (`--device`, `--threads`) and how
//! they answer (`--json`). `--decode-size` is global and read at start-up.

use graft_data::image_io::DecodeSize;
use std::sync::OnceLock;

/// `--device` and `--threads`.
#[derive(clap::Args, Debug, Clone)]
pub struct RuntimeArgs {
    /// cpu, cuda, cuda:N or auto
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Threads for libtorch and decoding (default: all cores)
    #[arg(long)]
    pub threads: Option<usize>,
}

/// `--decode-size` as given on the command line (`None`: not given).
static DECODE_SIZE: OnceLock<Option<DecodeSize>> = OnceLock::new();

/// Records the global `--decode-size`; called once, at start-up.
pub fn set_decode_size(d: Option<DecodeSize>) {
    let _ = DECODE_SIZE.set(d);
}

/// The global `--decode-size`, when given.
pub fn decode_size() -> Option<DecodeSize> {
    DECODE_SIZE.get().copied().flatten()
}

impl RuntimeArgs {
    /// The library's runtime options for these flags.
    pub fn runtime(&self) -> anyhow::Result<graft::Runtime> {
        runtime(&self.device, self.threads)
    }
}

/// The library's runtime options for a device name and a thread count.
pub fn runtime(device: &str, threads: Option<usize>) -> anyhow::Result<graft::Runtime> {
    Ok(graft::Runtime {
        device: graft_nn::device::parse_device(device)?,
        threads: threads.unwrap_or(0),
        decode_size: decode_size(),
        ..graft::Runtime::default()
    })
}

/// `--device`, `--threads` and `--precision`: how a backbone runs in the commands that only
/// run it forward (extract, probe, rank, eval, predict).
#[derive(clap::Args, Debug, Clone)]
pub struct InferenceArgs {
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    #[arg(long, default_value_t = graft_nn::precision::Precision::Fp32, help = graft::train::PRECISION_HELP)]
    pub precision: graft_nn::precision::Precision,
}

impl InferenceArgs {
    /// The library's runtime options for these flags.
    pub fn runtime(&self) -> anyhow::Result<graft::Runtime> {
        Ok(graft::Runtime {
            precision: self.precision,
            ..self.runtime.runtime()?
        })
    }
}
