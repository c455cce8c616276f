//! The training engine: data held as tensors, augmentation, parameter groups, optimisers,
//! schedules, the loss, the loop with its checkpoints, and evaluation.

pub mod adapt;
pub mod checkpoint;
pub mod data;
pub mod engine;
pub mod input;
pub mod loss;
pub mod loss_scale;
pub mod memory;
pub mod metrics;
pub mod optim;
pub mod params;
pub mod schedule;

pub use data::{SampleKind, Samples};
pub use engine::{
    evaluate, features, predict_proba, BnMode, EpochRecord, Event, Progress, RunFiles, TrainConfig,
    Trainer,
};
pub use input::{Augment, InputSpec};
pub use metrics::ClassMetrics;
pub use optim::OptimizerSpec;
pub use params::GroupSpec;
pub use schedule::Schedule;
