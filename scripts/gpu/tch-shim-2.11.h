// Force-included (g++ -include, through CXXFLAGS) when torch-sys 0.26 compiles its C++ wrapper
// against libtorch 2.11 instead of the 2.13 it was generated from. 15 of its wrappers fail there:
// 14 call the 13 ATen functions below that 2.11 lacks, one passes an argument 2.11 does not take,
// and any one failure stops the whole crate. graft calls none of them (nor does tch itself): each
// stand-in throws, should anything ever reach one: an Err from tch's f_ methods, a panic otherwise.
//
// A declaration placed directly in namespace torch wins over the ATen one that reaches torch
// through `using namespace at`, which is what lets the MPS-only op below be overridden too.
#pragma once
#include <stdexcept>
#include <torch/torch.h>

#define GRAFT_TORCH_MISSING(ret, name)                                                       \
  template <typename... Args> inline ret name(Args&&...) {                                  \
    throw std::runtime_error(#name " is not available in this libtorch (2.11)");            \
  }

namespace torch {
GRAFT_TORCH_MISSING(at::Tensor, _flash_attention_forward_no_dropout_inplace)
GRAFT_TORCH_MISSING(at::Tensor, _philox_key_fold_in)
GRAFT_TORCH_MISSING(at::Tensor, _philox_key_split)
GRAFT_TORCH_MISSING(at::Tensor, _philox_normal)
GRAFT_TORCH_MISSING(at::Tensor, _philox_normal_)
GRAFT_TORCH_MISSING(at::Tensor, _philox_normal_out)
GRAFT_TORCH_MISSING(at::Tensor, _philox_uniform)
GRAFT_TORCH_MISSING(at::Tensor, _philox_uniform_)
GRAFT_TORCH_MISSING(at::Tensor, _philox_uniform_out)
GRAFT_TORCH_MISSING(at::Tensor, _upsample_lanczos2d_aa)
GRAFT_TORCH_MISSING(at::Tensor, _upsample_lanczos2d_aa_backward)
GRAFT_TORCH_MISSING(at::Tensor, _upsample_lanczos2d_aa_backward_out)
GRAFT_TORCH_MISSING(at::Tensor, _upsample_lanczos2d_aa_out)
// 2.13 added `enable_gqa`; MPS-only, so nothing on Linux reaches it.
using GraftTensorPair = std::tuple<at::Tensor, at::Tensor>;
GRAFT_TORCH_MISSING(GraftTensorPair, _scaled_dot_product_attention_math_for_mps)
}  // namespace torch

#undef GRAFT_TORCH_MISSING
