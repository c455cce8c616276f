//! graft as a library: transfer-learning runs (fine-tuning, pre-training, feature extraction)
//! as calls that take a spec, a [`Runtime`], an [`Observer`] and a [`CancelToken`] and return
//! typed results or an [`Error`]; the run directory, recipes, the feature cache, model loading
//! with weights, finished runs and reports. The `graft` executable only turns flags into these
//! calls and renders their progress. Nothing here prints or exits.
//!
//! ```no_run
//! use graft::{train, CancelToken, Runtime, Silent};
//!
//! let spec = train::TrainSpec::finetune("resnet18", "data/flowers")
//!     .weights("resnet18.safetensors")
//!     .out("runs/flowers");
//! let outcome = train::run(&spec, &Runtime::default(), &mut Silent, &CancelToken::new())?;
//! println!("accuracy {:?}", outcome.summary.accuracy);
//! # Ok::<(), graft::Error>(())
//! ```

pub mod adapt;
pub mod align;
pub mod auto;
pub mod backbone_load;
pub mod cancel;
pub mod decode_size;
pub mod demo;
pub mod error;
pub mod eval;
pub mod extract;
pub mod feature_cache;
pub mod feature_input;
pub mod finished_run;
pub mod image_data;
pub mod model_ref;
pub mod observe;
pub mod predict;
pub mod probe;
pub mod rank;
pub mod recipe;
pub mod report;
pub mod reweight;
pub mod run_dir;
pub mod runtime;
pub mod shallow_head;
pub mod shallow_io;
pub mod summary;
pub mod text_data;
pub mod text_features;
pub mod threads;
pub mod train;
pub mod vector_data;
pub mod weights_file;

pub use cancel::CancelToken;
pub use error::{Error, Result};
pub use observe::{Event, Observer, Silent};
pub use run_dir::RunDir;
pub use runtime::Runtime;

// The crates a program using graft works with directly (data sets, shallow methods, models).
pub use graft_data;
pub use graft_nn;
pub use graft_shallow;
