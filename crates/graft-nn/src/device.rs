//! Device selection from the CLI's `--device` word.

use crate::{NnError, Result};
use tch::Device;

/// `cpu`, `cuda`, `cuda:N`, or `auto` (CUDA when libtorch has it, CPU otherwise).
pub fn parse_device(s: &str) -> Result<Device> {
    match s {
        "cpu" => Ok(Device::Cpu),
        "auto" => Ok(Device::cuda_if_available()),
        "cuda" => cuda(0),
        _ => match s
            .strip_prefix("cuda:")
            .and_then(|i| i.parse::<usize>().ok())
        {
            Some(i) => cuda(i),
            None => Err(NnError::Invalid(format!(
                "--device `{s}`: expected cpu, cuda, cuda:N or auto"
            ))),
        },
    }
}

fn cuda(i: usize) -> Result<Device> {
    let n = tch::Cuda::device_count() as usize;
    if i < n {
        Ok(Device::Cuda(i))
    } else {
        Err(NnError::Invalid(format!(
            "--device cuda:{i}: libtorch sees {n} CUDA device(s) (a CPU-only libtorch sees none)"
        )))
    }
}
