//! Architectures with the key names of their published checkpoints (torchvision, timm,
//! efficientnet_pytorch), and the registry that maps names to them.

pub mod backbone;
pub mod bert;
pub mod convnext;
pub mod efficientnet_lite;
pub mod input;
pub mod layers;
pub mod lenet;
pub mod lora;
pub mod mlp;
pub mod registry;
pub mod resnet;
pub mod vit;

pub use backbone::{Backbone, StageInfo};
pub use input::ModelInput;
pub use registry::{find, registry, ModelSpec};
