//! The numeric precision of forward passes: `fp32`, or `bf16` / `fp16` through libtorch's own
//! autocast (matrix products and convolutions in the half type, reductions, normalisations and
//! losses in float32, weights kept in float32), which is what `torch.autocast` does in PyTorch.
//! fp16's narrow exponent range needs loss scaling in training ([`crate::train::loss_scale`]);
//! bf16 has float32's range and does not.
//!
//! tch's `autocast` only switches CUDA's autocast and does nothing on a CPU, so the guard here
//! calls libtorch's `at::autocast` functions directly, for the CPU or the CUDA device type. They
//! are C++ functions without a C wrapper; their (Itanium-mangled) names are those of libtorch
//! 2.13, which the build pins, so a libtorch without them fails at link time, not at run time.

use crate::{NnError, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use tch::Device;

/// Precision of the forward passes of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Everything in float32.
    #[default]
    Fp32,
    /// bfloat16 autocast: float32 weights and gradients, bfloat16 matrix products.
    Bf16,
    /// float16 autocast, with dynamic loss scaling in training: the fast half type of CUDA
    /// GPUs. CPUs without float16 matrix units run it slower than bf16.
    Fp16,
}

impl Precision {
    pub fn name(self) -> &'static str {
        match self {
            Precision::Fp32 => "fp32",
            Precision::Bf16 => "bf16",
            Precision::Fp16 => "fp16",
        }
    }

    /// A note for the user when this precision is a poor choice on `device`. Most CPUs have no
    /// float16 kernels: fp16 extraction of EfficientNet-Lite0 ran 5x slower than fp32 on an
    /// AVX-512 BF16 CPU, bf16 2.7x faster.
    pub fn advice(self, device: Device) -> Option<&'static str> {
        (self == Precision::Fp16 && device == Device::Cpu).then_some(
            "fp16 on a CPU runs without float16 kernels on most CPUs, several times slower than \
             fp32; bf16 is the half precision for CPUs (fp16 is for CUDA GPUs)",
        )
    }

    /// Whether training at this precision needs its loss scaled (fp16 gradients underflow).
    pub fn needs_loss_scaling(self) -> bool {
        self == Precision::Fp16
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Precision {
    type Err = NnError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "fp32" | "float32" => Ok(Precision::Fp32),
            "bf16" | "bfloat16" => Ok(Precision::Bf16),
            "fp16" | "float16" | "half" => Ok(Precision::Fp16),
            _ => Err(NnError::Invalid(format!(
                "precision `{s}`: expected fp32, bf16 or fp16"
            ))),
        }
    }
}

/// libtorch's `c10::DeviceType` and `c10::ScalarType` values (both `int8_t` enums).
const DEVICE_CPU: i8 = 0;
const DEVICE_CUDA: i8 = 1;
const SCALAR_HALF: i8 = 5;
const SCALAR_BFLOAT16: i8 = 15;

mod ffi {
    extern "C" {
        #[link_name = "_ZN2at8autocast20set_autocast_enabledEN3c1010DeviceTypeEb"]
        pub fn set_autocast_enabled(device: i8, enabled: bool);
        #[link_name = "_ZN2at8autocast19is_autocast_enabledEN3c1010DeviceTypeE"]
        pub fn is_autocast_enabled(device: i8) -> bool;
        #[link_name = "_ZN2at8autocast18set_autocast_dtypeEN3c1010DeviceTypeENS1_10ScalarTypeE"]
        pub fn set_autocast_dtype(device: i8, dtype: i8);
        #[link_name = "_ZN2at8autocast17increment_nestingEv"]
        pub fn increment_nesting() -> i32;
        #[link_name = "_ZN2at8autocast17decrement_nestingEv"]
        pub fn decrement_nesting() -> i32;
        #[link_name = "_ZN2at8autocast11clear_cacheEv"]
        pub fn clear_cache();
    }
}

/// Autocast switched on for this thread (libtorch keeps the state per thread) until dropped;
/// a no-op for `fp32`. Nested guards restore the state they found, and the outermost one
/// empties libtorch's cache of weights cast for the region, as `torch.autocast` does on exit.
#[must_use = "autocast stops when the guard is dropped"]
pub struct Autocast {
    /// Device type switched on and whether it was on before; `None` for a no-op guard.
    state: Option<(i8, bool)>,
}

impl Autocast {
    pub fn enter(precision: Precision, device: Device) -> Autocast {
        let dtype = match precision {
            Precision::Fp32 => return Autocast { state: None },
            Precision::Bf16 => SCALAR_BFLOAT16,
            Precision::Fp16 => SCALAR_HALF,
        };
        let ty = match device {
            Device::Cuda(_) => DEVICE_CUDA,
            _ => DEVICE_CPU,
        };
        // SAFETY: plain setters of libtorch's thread-local autocast state; they take and return
        // trivially copyable values and do not throw.
        let was = unsafe {
            let was = ffi::is_autocast_enabled(ty);
            ffi::set_autocast_dtype(ty, dtype);
            ffi::set_autocast_enabled(ty, true);
            ffi::increment_nesting();
            was
        };
        Autocast {
            state: Some((ty, was)),
        }
    }
}

impl Drop for Autocast {
    fn drop(&mut self) {
        if let Some((ty, was)) = self.state {
            // SAFETY: as in `enter`.
            unsafe {
                if ffi::decrement_nesting() == 0 {
                    ffi::clear_cache();
                }
                ffi::set_autocast_enabled(ty, was);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Kind, Tensor};

    #[test]
    fn autocast_runs_matrix_products_in_bf16_and_restores_the_state() {
        let a = Tensor::ones([4, 4], (Kind::Float, Device::Cpu));
        assert_eq!(a.matmul(&a).kind(), Kind::Float);
        {
            let _outer = Autocast::enter(Precision::Bf16, Device::Cpu);
            assert_eq!(a.matmul(&a).kind(), Kind::BFloat16);
            {
                let _inner = Autocast::enter(Precision::Bf16, Device::Cpu);
                assert_eq!(a.matmul(&a).kind(), Kind::BFloat16);
            }
            // The inner guard found autocast on and leaves it on.
            assert_eq!(a.matmul(&a).kind(), Kind::BFloat16);
            let _noop = Autocast::enter(Precision::Fp32, Device::Cpu);
            assert_eq!(a.matmul(&a).kind(), Kind::BFloat16);
        }
        assert_eq!(a.matmul(&a).kind(), Kind::Float);
    }

    #[test]
    fn fp16_autocast_runs_matrix_products_in_half() {
        let a = Tensor::ones([4, 4], (Kind::Float, Device::Cpu));
        {
            let _g = Autocast::enter(Precision::Fp16, Device::Cpu);
            assert_eq!(a.matmul(&a).kind(), Kind::Half);
        }
        assert_eq!(a.matmul(&a).kind(), Kind::Float);
    }

    #[test]
    fn precision_names_parse() {
        assert_eq!("bf16".parse::<Precision>().unwrap(), Precision::Bf16);
        assert_eq!("fp32".parse::<Precision>().unwrap(), Precision::Fp32);
        assert_eq!("fp16".parse::<Precision>().unwrap(), Precision::Fp16);
        for p in [Precision::Fp32, Precision::Bf16, Precision::Fp16] {
            assert_eq!(p.to_string().parse::<Precision>().unwrap(), p);
        }
        let e = "fp8".parse::<Precision>().unwrap_err().to_string();
        assert!(e.contains("expected fp32, bf16 or fp16"), "{e}");
    }
}
