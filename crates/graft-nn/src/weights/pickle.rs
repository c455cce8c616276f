//! graft's own reader for the pickle streams inside PyTorch checkpoints.
//!
//! Pickle is a small stack machine whose `GLOBAL` and `REDUCE` opcodes import and call any Python
//! function, which is why `torch.load` on an untrusted file can run code. This reader runs nothing.
//! It understands the data opcodes of protocols 0-5, plain containers, and the few torch helpers
//! that `torch.save` uses to describe tensors; those helpers are interpreted here, never called.
//! Any other global is refused, by name, as soon as it appears. The result is a tree of [`Value`]s
//! in an arena, with tensors as bounds-checked references into storages that the caller
//! (`pth`) reads afterwards, so nothing is ever handed to libtorch's unpickler.
//!
//! Memory is bounded by the input: every object costs at least one input byte, every length is
//! checked against the bytes that remain before anything is allocated, the memo is a map (a huge
//! memo index costs nothing), and containers and marks may nest at most [`MAX_DEPTH`] levels.

mod machine;
#[cfg(test)]
mod tests;
mod whitelist;

pub use whitelist::Global;

use std::collections::BTreeMap;
use std::fmt;

/// Deepest nesting of containers (and of `MARK`s) accepted. State dicts nest a handful of levels;
/// the limit only exists so that a hostile file cannot make later recursive walks overflow the
/// stack.
pub const MAX_DEPTH: usize = 1000;

/// Most dimensions a tensor may have (libtorch's own limit is 64 too).
const MAX_DIMS: usize = 64;

/// The tensor element types a checkpoint may hold, one per torch storage class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dtype {
    F64,
    F32,
    F16,
    BF16,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}

impl Dtype {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Dtype::F64 | Dtype::I64 => 8,
            Dtype::F32 | Dtype::I32 => 4,
            Dtype::F16 | Dtype::BF16 | Dtype::I16 => 2,
            Dtype::I8 | Dtype::U8 | Dtype::Bool => 1,
        }
    }

    pub fn kind(self) -> tch::Kind {
        match self {
            Dtype::F64 => tch::Kind::Double,
            Dtype::F32 => tch::Kind::Float,
            Dtype::F16 => tch::Kind::Half,
            Dtype::BF16 => tch::Kind::BFloat16,
            Dtype::I64 => tch::Kind::Int64,
            Dtype::I32 => tch::Kind::Int,
            Dtype::I16 => tch::Kind::Int16,
            Dtype::I8 => tch::Kind::Int8,
            Dtype::U8 => tch::Kind::Uint8,
            Dtype::Bool => tch::Kind::Bool,
        }
    }

    /// PyTorch's name for it, as users see it in `tensor.dtype`.
    pub fn name(self) -> &'static str {
        match self {
            Dtype::F64 => "float64",
            Dtype::F32 => "float32",
            Dtype::F16 => "float16",
            Dtype::BF16 => "bfloat16",
            Dtype::I64 => "int64",
            Dtype::I32 => "int32",
            Dtype::I16 => "int16",
            Dtype::I8 => "int8",
            Dtype::U8 => "uint8",
            Dtype::Bool => "bool",
        }
    }

    /// `UntypedStorage` holds bytes: a tensor built on it is `uint8`, as in PyTorch.
    fn from_storage_class(name: &str) -> Option<Dtype> {
        Some(match name {
            "DoubleStorage" => Dtype::F64,
            "FloatStorage" => Dtype::F32,
            "HalfStorage" => Dtype::F16,
            "BFloat16Storage" => Dtype::BF16,
            "LongStorage" => Dtype::I64,
            "IntStorage" => Dtype::I32,
            "ShortStorage" => Dtype::I16,
            "CharStorage" => Dtype::I8,
            "ByteStorage" | "UntypedStorage" => Dtype::U8,
            "BoolStorage" => Dtype::Bool,
            _ => return None,
        })
    }
}

/// Index of an object in a [`Pickle`]'s arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Id(usize);

/// One unpickled object. Containers hold [`Id`]s, so objects shared through the memo (tied
/// weights, a storage used by several tensors) are shared here too.
#[derive(Debug, Clone)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    /// An integer wider than 64 bits, as its little-endian two's-complement bytes.
    BigInt(Vec<u8>),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Id>),
    List(Vec<Id>),
    /// `dict` and `OrderedDict`, in insertion order; a repeated key keeps both entries (readers
    /// take the last, as Python would).
    Dict(Vec<(Id, Id)>),
    Set(Vec<Id>),
    /// A whitelisted global that has not been called (yet).
    Global(Global),
    Storage(StorageRef),
    Tensor(TensorRef),
    /// An instance of a harmless class (see [`Global::Inert`]) whose contents are dropped.
    Inert(&'static str),
}

impl Value {
    /// Short description for error messages.
    pub fn kind(&self) -> String {
        match self {
            Value::None => "None".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) | Value::BigInt(_) => "int".into(),
            Value::Float(_) => "float".into(),
            Value::Str(_) => "str".into(),
            Value::Bytes(_) => "bytes".into(),
            Value::Tuple(_) => "tuple".into(),
            Value::List(_) => "list".into(),
            Value::Dict(_) => "dict".into(),
            Value::Set(_) => "set".into(),
            Value::Global(g) => format!("reference to {}", g.name()),
            Value::Storage(_) => "storage".into(),
            Value::Tensor(_) => "tensor".into(),
            Value::Inert(name) => format!("{name} object"),
        }
    }
}

/// A storage as a persistent id names it: the record `key` (zip: `data/<key>`; legacy: the key
/// listed after the main pickle) holding `numel` elements, of which this reference sees
/// `len` elements from `offset` (legacy storage views; otherwise `0..numel`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageRef {
    pub key: String,
    pub dtype: Dtype,
    pub numel: u64,
    pub offset: u64,
    pub len: u64,
}

/// A tensor as `_rebuild_tensor_v2` describes it: a strided view of a storage. Checked when
/// parsed: every element it reaches lies inside the storage reference, and it has no more
/// elements than the storage (so materialising it never allocates more than the file holds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorRef {
    pub storage: StorageRef,
    /// In elements, from the start of the storage reference.
    pub offset: u64,
    pub size: Vec<i64>,
    pub stride: Vec<i64>,
}

/// What a persistent id declared for each storage key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageInfo {
    pub dtype: Dtype,
    pub numel: u64,
}

impl StorageInfo {
    /// Cannot overflow: checked when the persistent id was read.
    pub fn nbytes(&self) -> u64 {
        self.numel * self.dtype.size() as u64
    }
}

/// A parse failure: what was wrong, and the byte offset of the opcode, within the pickle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickleError {
    pub offset: usize,
    pub what: String,
}

impl fmt::Display for PickleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (pickle byte {})", self.what, self.offset)
    }
}

impl std::error::Error for PickleError {}

type PResult<T> = Result<T, PickleError>;

/// One unpickled stream: the arena, its root object, and the storages it references.
#[derive(Debug)]
pub struct Pickle {
    nodes: Vec<Node>,
    root: Id,
    storages: BTreeMap<String, StorageInfo>,
}

impl Pickle {
    pub fn root(&self) -> Id {
        self.root
    }

    pub fn value(&self, id: Id) -> &Value {
        &self.nodes[id.0].value
    }

    /// Every storage key a persistent id named, with its dtype and element count.
    pub fn storages(&self) -> &BTreeMap<String, StorageInfo> {
        &self.storages
    }

    /// The value as text, if it is a `str` (or ASCII/UTF-8 `bytes`, as Python 2 wrote keys).
    pub fn as_str(&self, id: Id) -> Option<&str> {
        match self.value(id) {
            Value::Str(s) => Some(s),
            Value::Bytes(b) => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }
}

#[derive(Debug)]
struct Node {
    value: Value,
    /// Container nesting below this node (0 for scalars), kept to enforce [`MAX_DEPTH`].
    depth: usize,
}

/// Parses one pickle from the start of `data`, returning it and the number of bytes it used
/// (legacy checkpoints are several pickles back to back, followed by raw storage bytes).
pub fn parse(data: &[u8]) -> Result<(Pickle, usize), PickleError> {
    machine::Parser::new(data).finish()
}
