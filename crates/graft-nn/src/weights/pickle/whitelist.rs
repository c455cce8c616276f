//! What graft lets a checkpoint's pickle name and call: plain containers and the torch helpers
//! that describe tensors and storages, each interpreted here, never executed.

use super::machine::Parser;
use super::MAX_DIMS;
use super::{Dtype, Id, PResult, PickleError, StorageInfo, StorageRef, TensorRef, Value};

/// The globals a checkpoint may name. Everything else is refused when the pickle names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Global {
    OrderedDict,
    RebuildTensor,
    RebuildTensorV2,
    RebuildParameter,
    RebuildParameterWithState,
    RebuildFromTypeV2,
    /// `torch.Tensor` / `torch.nn.Parameter`: allowed only as the type argument of
    /// `_rebuild_from_type_v2`.
    TensorClass,
    ParameterClass,
    /// `torch.FloatStorage` and friends: allowed only inside a storage's persistent id.
    Storage(Dtype, &'static str),
    /// `_codecs.encode(str, "latin1")`: how protocol 2 spells a `bytes` object.
    CodecsEncode,
    /// Classes whose instances are common in training checkpoints beside the weights (the
    /// training script's `argparse.Namespace`, NumPy scalars such as a best accuracy). They are
    /// never constructed: they become an opaque [`Value::Inert`] and are ignored.
    Inert(&'static str),
}

const STORAGE_CLASSES: &[&str] = &[
    "DoubleStorage",
    "FloatStorage",
    "HalfStorage",
    "BFloat16Storage",
    "LongStorage",
    "IntStorage",
    "ShortStorage",
    "CharStorage",
    "ByteStorage",
    "UntypedStorage",
    "BoolStorage",
];

const INERT: &[(&str, &str, &str)] = &[
    ("argparse", "Namespace", "argparse.Namespace"),
    ("numpy", "dtype", "numpy.dtype"),
    ("numpy", "ndarray", "numpy.ndarray"),
    ("numpy.core.multiarray", "scalar", "numpy scalar"),
    ("numpy._core.multiarray", "scalar", "numpy scalar"),
    ("numpy.core.multiarray", "_reconstruct", "numpy array"),
    ("numpy._core.multiarray", "_reconstruct", "numpy array"),
];

impl Global {
    fn resolve(module: &str, name: &str) -> Option<Global> {
        let g = match (module, name) {
            ("collections", "OrderedDict") => Global::OrderedDict,
            ("torch._utils", "_rebuild_tensor") => Global::RebuildTensor,
            ("torch._utils", "_rebuild_tensor_v2") => Global::RebuildTensorV2,
            ("torch._utils", "_rebuild_parameter") => Global::RebuildParameter,
            ("torch._utils", "_rebuild_parameter_with_state") => Global::RebuildParameterWithState,
            ("torch._tensor", "_rebuild_from_type_v2") => Global::RebuildFromTypeV2,
            ("torch", "Tensor") | ("torch._tensor", "Tensor") => Global::TensorClass,
            ("torch.nn.parameter", "Parameter") | ("torch.nn", "Parameter") => {
                Global::ParameterClass
            }
            ("_codecs", "encode") => Global::CodecsEncode,
            ("torch", _) | ("torch.cuda", _) => {
                let class = STORAGE_CLASSES.iter().find(|c| **c == name)?;
                Global::Storage(Dtype::from_storage_class(class)?, class)
            }
            _ => {
                let (_, _, label) = INERT.iter().find(|(m, n, _)| *m == module && *n == name)?;
                Global::Inert(label)
            }
        };
        Some(g)
    }

    pub fn name(&self) -> String {
        match self {
            Global::OrderedDict => "collections.OrderedDict".into(),
            Global::RebuildTensor => "torch._utils._rebuild_tensor".into(),
            Global::RebuildTensorV2 => "torch._utils._rebuild_tensor_v2".into(),
            Global::RebuildParameter => "torch._utils._rebuild_parameter".into(),
            Global::RebuildParameterWithState => {
                "torch._utils._rebuild_parameter_with_state".into()
            }
            Global::RebuildFromTypeV2 => "torch._tensor._rebuild_from_type_v2".into(),
            Global::TensorClass => "torch.Tensor".into(),
            Global::ParameterClass => "torch.nn.Parameter".into(),
            Global::Storage(_, class) => format!("torch.{class}"),
            Global::CodecsEncode => "_codecs.encode".into(),
            Global::Inert(label) => (*label).into(),
        }
    }
}

/// GLOBAL, the call opcodes (REDUCE, NEWOBJ, INST, OBJ) and BINPERSID, as `machine` hands them over.
impl Parser<'_> {
    pub(super) fn global(&self, module: &str, name: &str) -> PResult<Global> {
        if let Some(g) = Global::resolve(module, name) {
            return Ok(g);
        }
        let mut what = format!(
            "refuses to call {module}.{name}: graft reads only tensors and plain containers \
             from a checkpoint and never runs code from it"
        );
        if module.starts_with("__torch__") {
            what.push_str(" (this is a TorchScript archive: save model.state_dict() instead)");
        } else if name.starts_with(|c: char| c.is_ascii_uppercase()) {
            what.push_str(
                " (if the file holds a whole model or other Python object, re-save just \
                 model.state_dict() with torch.save)",
            );
        }
        self.err(what)
    }

    fn tuple_items(&self, args: Id, of: &str) -> PResult<Vec<Id>> {
        match self.value(args) {
            Value::Tuple(items) => Ok(items.clone()),
            other => self.err(format!(
                "arguments of {of} are a {}, expected a tuple",
                other.kind()
            )),
        }
    }

    /// REDUCE / NEWOBJ / INST / OBJ: interprets a call to a whitelisted global.
    pub(super) fn call(&mut self, f: Id, args: Id) -> PResult<Id> {
        let g = match self.value(f) {
            Value::Global(g) => *g,
            other => {
                let kind = other.kind();
                return self.err(format!(
                    "calling a {kind}: only whitelisted globals are called"
                ));
            }
        };
        let name = g.name();
        let items = self.tuple_items(args, &name)?;
        let op_pos = self.op_pos;
        let n_args = items.len();
        let arity = |ok: bool| -> PResult<()> {
            if ok {
                Ok(())
            } else {
                Err(PickleError {
                    offset: op_pos,
                    what: format!("{name} called with {n_args} arguments"),
                })
            }
        };
        match g {
            Global::OrderedDict => match items.as_slice() {
                [] => self.new_node(Value::Dict(Vec::new())),
                [src] => {
                    let pairs = self.pair_list(*src)?;
                    self.new_node(Value::Dict(pairs))
                }
                _ => arity(false).map(|()| f),
            },
            Global::RebuildTensor => {
                arity(items.len() == 4)?;
                self.tensor(&items)
            }
            Global::RebuildTensorV2 => {
                // (storage, offset, size, stride, requires_grad, backward_hooks[, metadata])
                arity(items.len() == 6 || items.len() == 7)?;
                self.tensor(&items[..4])
            }
            Global::RebuildParameter | Global::RebuildParameterWithState => {
                // (data, requires_grad, backward_hooks[, state]): the weights are `data`.
                arity(items.len() == 3 || items.len() == 4)?;
                match self.value(items[0]) {
                    Value::Tensor(_) => Ok(items[0]),
                    other => self.err(format!("{name} of a {}, expected a tensor", other.kind())),
                }
            }
            Global::RebuildFromTypeV2 => {
                // (func, new_type, args, state): a plain Tensor or Parameter rebuilt by `func`.
                arity(items.len() == 4)?;
                let func = items[0];
                let ok_func = matches!(
                    self.value(func),
                    Value::Global(
                        Global::RebuildTensor
                            | Global::RebuildTensorV2
                            | Global::RebuildParameter
                            | Global::RebuildParameterWithState
                    )
                );
                let ok_type = matches!(
                    self.value(items[1]),
                    Value::Global(Global::TensorClass | Global::ParameterClass)
                );
                if !(ok_func && ok_type) {
                    return self.err(format!(
                        "{name} of a {} into a {}: only plain tensors are read",
                        self.value(func).kind(),
                        self.value(items[1]).kind()
                    ));
                }
                self.call(func, items[2])
            }
            Global::CodecsEncode => {
                arity(items.len() == 2)?;
                let (Value::Str(s), Value::Str(enc)) = (self.value(items[0]), self.value(items[1]))
                else {
                    return self.err("_codecs.encode needs two strings");
                };
                if enc != "latin1" && enc != "latin-1" {
                    return self.err(format!("_codecs.encode to {enc}, expected latin1"));
                }
                let bytes: Option<Vec<u8>> = s.chars().map(|c| u8::try_from(c).ok()).collect();
                match bytes {
                    Some(b) => self.new_node(Value::Bytes(b)),
                    None => self.err("_codecs.encode of text that is not latin1"),
                }
            }
            Global::Inert(label) => self.new_node(Value::Inert(label)),
            Global::TensorClass | Global::ParameterClass | Global::Storage(..) => {
                self.err(format!(
                    "refuses to call {name}: it may only name a type inside a tensor's description"
                ))
            }
        }
    }

    /// The argument of `OrderedDict([(k, v), ...])`.
    fn pair_list(&self, src: Id) -> PResult<Vec<(Id, Id)>> {
        let items = match self.value(src) {
            Value::List(v) | Value::Tuple(v) => v,
            other => return self.err(format!("OrderedDict of a {}", other.kind())),
        };
        items
            .iter()
            .map(|&p| match self.value(p) {
                Value::Tuple(kv) if kv.len() == 2 => Ok((kv[0], kv[1])),
                _ => self.err("OrderedDict items must be (key, value) pairs"),
            })
            .collect()
    }

    fn uint(&self, id: Id, what: &str) -> PResult<u64> {
        match self.value(id) {
            Value::Int(v) if *v >= 0 => Ok(*v as u64),
            Value::Int(v) => self.err(format!("{what} is {v}, expected >= 0")),
            Value::BigInt(_) => self.err(format!("{what} does not fit in 64 bits")),
            other => self.err(format!("{what} is a {}, expected an int", other.kind())),
        }
    }

    fn dims(&self, id: Id, what: &str) -> PResult<Vec<i64>> {
        let items = match self.value(id) {
            Value::Tuple(v) | Value::List(v) => v,
            other => return self.err(format!("{what} is a {}, expected a tuple", other.kind())),
        };
        if items.len() > MAX_DIMS {
            return self.err(format!(
                "{what} has {} dimensions, at most {MAX_DIMS}",
                items.len()
            ));
        }
        items
            .iter()
            .map(|&d| match self.value(d) {
                Value::Int(v) if *v >= 0 => Ok(*v),
                other => self.err(format!(
                    "{what} holds {}, expected non-negative ints",
                    match other {
                        Value::Int(v) => v.to_string(),
                        o => format!("a {}", o.kind()),
                    }
                )),
            })
            .collect()
    }

    /// `_rebuild_tensor(storage, storage_offset, size, stride)`, with every reachable element
    /// checked to lie inside the storage.
    fn tensor(&mut self, args: &[Id]) -> PResult<Id> {
        let storage = match self.value(args[0]) {
            Value::Storage(s) => s.clone(),
            other => {
                return self.err(format!(
                    "tensor built on a {}, expected a storage reference",
                    other.kind()
                ))
            }
        };
        let offset = self.uint(args[1], "tensor storage offset")?;
        let size = self.dims(args[2], "tensor size")?;
        let stride = self.dims(args[3], "tensor stride")?;
        if size.len() != stride.len() {
            return self.err(format!(
                "tensor size {size:?} and stride {stride:?} have different lengths"
            ));
        }
        let count = size
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
        let in_bounds = match count {
            None => false,
            Some(0) => offset <= storage.len,
            Some(count) => {
                let last = size.iter().zip(&stride).try_fold(offset, |acc, (&d, &s)| {
                    ((d - 1) as u64)
                        .checked_mul(s as u64)
                        .and_then(|x| acc.checked_add(x))
                });
                // An overlapping view (stride 0, as from `expand`) could materialise more
                // elements than the file holds: refused, so that memory stays bounded by the file.
                matches!(last, Some(last) if last < storage.len) && count <= storage.len
            }
        };
        if !in_bounds {
            return self.err(format!(
                "tensor of size {size:?}, stride {stride:?} at offset {offset} does not fit in \
                 storage {} of {} {} elements (an out-of-bounds or overlapping view)",
                storage.key,
                storage.len,
                storage.dtype.name()
            ));
        }
        self.new_node(Value::Tensor(TensorRef {
            storage,
            offset,
            size,
            stride,
        }))
    }

    /// `('storage', storage_type, key, location, numel[, view_metadata])`: the zip format's
    /// persistent id has five entries, the legacy format's six.
    pub(super) fn persistent(&mut self, pid: Id) -> PResult<Value> {
        let items = match self.value(pid) {
            Value::Tuple(v) => v.clone(),
            other => {
                return self.err(format!(
                    "persistent id is a {}, expected a tuple",
                    other.kind()
                ))
            }
        };
        let text = |p: &Self, id: Id| -> Option<String> {
            match p.value(id) {
                Value::Str(s) => Some(s.clone()),
                Value::Bytes(b) => String::from_utf8(b.clone()).ok(),
                Value::Int(i) => Some(i.to_string()),
                _ => None,
            }
        };
        let typename = items
            .first()
            .and_then(|&t| text(self, t))
            .unwrap_or_default();
        match typename.as_str() {
            "storage" => {}
            "module" => {
                return self.err(
                    "the checkpoint pickles a whole nn.Module (torch.save(model)); graft reads \
                     state dicts: re-save model.state_dict()",
                )
            }
            other => return self.err(format!("unknown persistent id type `{other}`")),
        }
        if items.len() != 5 && items.len() != 6 {
            return self.err(format!(
                "storage persistent id has {} entries, expected 5 or 6",
                items.len()
            ));
        }
        let dtype = match self.value(items[1]) {
            Value::Global(Global::Storage(d, _)) => *d,
            other => {
                return self.err(format!(
                    "storage type is a {}, expected a torch storage class",
                    other.kind()
                ))
            }
        };
        let Some(key) = text(self, items[2]) else {
            return self.err("storage key is not a string");
        };
        let numel = self.uint(items[4], "storage element count")?;
        if numel.checked_mul(dtype.size() as u64).is_none() {
            return self.err(format!("storage {key} declares {numel} elements: too many"));
        }
        let info = StorageInfo { dtype, numel };
        match self.storages.get(&key) {
            Some(prev) if *prev != info => {
                return self.err(format!(
                    "storage {key} is declared twice, as {} x {} and as {} x {}",
                    prev.numel,
                    prev.dtype.name(),
                    numel,
                    dtype.name()
                ))
            }
            Some(_) => {}
            None => {
                self.storages.insert(key.clone(), info);
            }
        }
        let (offset, len) = match items.get(5).map(|&v| self.value(v)) {
            None | Some(Value::None) => (0, numel),
            Some(Value::Tuple(view)) if view.len() == 3 => {
                let offset = self.uint(view[1], "storage view offset")?;
                let len = self.uint(view[2], "storage view size")?;
                if offset.checked_add(len).is_none_or(|end| end > numel) {
                    return self.err(format!(
                        "storage view {offset}..+{len} outside storage {key} of {numel} elements"
                    ));
                }
                (offset, len)
            }
            Some(other) => {
                return self.err(format!(
                    "storage view is a {}, expected a tuple",
                    other.kind()
                ))
            }
        };
        Ok(Value::Storage(StorageRef {
            key,
            dtype,
            numel,
            offset,
            len,
        }))
    }
}
