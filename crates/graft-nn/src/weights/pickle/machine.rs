//! The pickle stack machine: opcodes, input, stack, memo and the object arena. What a call or a
//! persistent id means is decided in `whitelist`.

use super::{Id, Node, PResult, Pickle, PickleError, StorageInfo, Value, MAX_DEPTH};
use std::collections::{BTreeMap, HashMap};

pub(super) struct Parser<'a> {
    pub(super) data: &'a [u8],
    pub(super) pos: usize,
    /// Start of the opcode being executed, for error messages.
    pub(super) op_pos: usize,
    pub(super) nodes: Vec<Node>,
    pub(super) stack: Vec<Id>,
    /// Stack heights at each `MARK`.
    pub(super) marks: Vec<usize>,
    pub(super) memo: HashMap<u64, Id>,
    pub(super) storages: BTreeMap<String, StorageInfo>,
}

impl<'a> Parser<'a> {
    pub(super) fn new(data: &'a [u8]) -> Self {
        Parser {
            data,
            pos: 0,
            op_pos: 0,
            nodes: Vec::new(),
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
            storages: BTreeMap::new(),
        }
    }

    /// Runs to the STOP opcode; returns the pickle and the number of bytes it used.
    pub(super) fn finish(mut self) -> PResult<(Pickle, usize)> {
        let root = self.run()?;
        Ok((
            Pickle {
                nodes: self.nodes,
                root,
                storages: self.storages,
            },
            self.pos,
        ))
    }

    pub(super) fn err<T>(&self, what: impl Into<String>) -> PResult<T> {
        Err(PickleError {
            offset: self.op_pos,
            what: what.into(),
        })
    }

    fn run(&mut self) -> PResult<Id> {
        loop {
            self.op_pos = self.pos;
            let Some(&op) = self.data.get(self.pos) else {
                return self.err("truncated: the pickle ends without a STOP opcode");
            };
            self.pos += 1;
            if op == b'.' {
                return self.pop();
            }
            self.step(op)?;
        }
    }

    fn step(&mut self, op: u8) -> PResult<()> {
        match op {
            // PROTO
            0x80 => {
                let v = self.u8()?;
                if v > 5 {
                    return self.err(format!("pickle protocol {v} is newer than 5"));
                }
            }
            // FRAME: protocol 4 framing only chunks the stream.
            0x95 => {
                self.take(8)?;
            }
            b'(' => {
                if self.marks.len() >= MAX_DEPTH {
                    return self.err(format!("nested deeper than {MAX_DEPTH} levels"));
                }
                self.marks.push(self.stack.len());
            }
            // POP: an empty frame pops its mark, as in Python.
            b'0' => {
                if self.stack.len() > self.frame_base() {
                    self.stack.pop();
                } else {
                    self.pop_mark()?;
                }
            }
            b'1' => {
                self.pop_mark()?;
            }
            b'2' => {
                let top = self.top()?;
                self.stack.push(top);
            }

            // Integers, floats, None and booleans.
            b'I' => {
                let line = self.line()?;
                let v = match line {
                    b"00" => Value::Bool(false),
                    b"01" => Value::Bool(true),
                    _ => Value::Int(self.parse_int(line)?),
                };
                self.push(v)?;
            }
            b'J' => {
                let b = self.take(4)?;
                let v = i32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                self.push(Value::Int(v.into()))?;
            }
            b'K' => {
                let v = self.u8()?;
                self.push(Value::Int(v.into()))?;
            }
            b'M' => {
                let b = self.take(2)?;
                self.push(Value::Int(u16::from_le_bytes([b[0], b[1]]).into()))?;
            }
            b'L' => {
                let line = self.line()?;
                let line = line.strip_suffix(b"L").unwrap_or(line);
                let v = self.parse_int(line)?;
                self.push(Value::Int(v))?;
            }
            0x8a => {
                let n = self.u8()? as usize;
                self.long(n)?;
            }
            0x8b => {
                let n = self.u32()?;
                if n > i32::MAX as u32 {
                    return self.err("LONG4 with a negative length");
                }
                self.long(n as usize)?;
            }
            b'F' => {
                let line = self.line()?;
                let v = std::str::from_utf8(line)
                    .ok()
                    .and_then(|s| s.trim().parse::<f64>().ok());
                match v {
                    Some(v) => self.push(Value::Float(v))?,
                    None => return self.err("FLOAT opcode with an unreadable number"),
                }
            }
            b'G' => {
                let b = self.take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                self.push(Value::Float(f64::from_be_bytes(a)))?;
            }
            b'N' => self.push(Value::None)?,
            0x88 => self.push(Value::Bool(true))?,
            0x89 => self.push(Value::Bool(false))?,

            // Strings and bytes.
            b'S' => {
                let line = self.line()?;
                let inner = match line {
                    [q, inner @ .., e] if (*q == b'\'' || *q == b'"') && q == e => inner,
                    _ => return self.err("STRING opcode without quotes"),
                };
                if inner.contains(&b'\\') {
                    return self.err("STRING opcode with escapes is not supported");
                }
                let v = py2_str(inner.to_vec());
                self.push(v)?;
            }
            b'T' => {
                let n = self.u32()?;
                if n > i32::MAX as u32 {
                    return self.err("BINSTRING with a negative length");
                }
                let v = py2_str(self.take(n as usize)?.to_vec());
                self.push(v)?;
            }
            b'U' => {
                let n = self.u8()? as usize;
                let v = py2_str(self.take(n)?.to_vec());
                self.push(v)?;
            }
            b'V' => {
                let line = self.line()?;
                let s = match raw_unicode_escape(line) {
                    Some(s) => s,
                    None => return self.err("UNICODE opcode with an invalid escape"),
                };
                self.push(Value::Str(s))?;
            }
            b'X' => {
                let n = self.u32()? as u64;
                self.unicode(n)?;
            }
            0x8c => {
                let n = self.u8()? as u64;
                self.unicode(n)?;
            }
            0x8d => {
                let n = self.u64()?;
                self.unicode(n)?;
            }
            b'B' => {
                let n = self.u32()? as u64;
                self.bytes(n)?;
            }
            b'C' => {
                let n = self.u8()? as u64;
                self.bytes(n)?;
            }
            0x8e | 0x96 => {
                let n = self.u64()?;
                self.bytes(n)?;
            }

            // Containers.
            b')' => self.push(Value::Tuple(Vec::new()))?,
            b't' => {
                let items = self.pop_mark()?;
                self.push(Value::Tuple(items))?;
            }
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                let at = self.stack.len().checked_sub(n);
                match at {
                    Some(at) if at >= self.frame_base() => {
                        let items = self.stack.split_off(at);
                        self.push(Value::Tuple(items))?;
                    }
                    _ => return self.err("stack underflow building a tuple"),
                }
            }
            b']' => self.push(Value::List(Vec::new()))?,
            b'l' => {
                let items = self.pop_mark()?;
                self.push(Value::List(items))?;
            }
            b'a' => {
                let v = self.pop()?;
                self.extend(vec![v])?;
            }
            b'e' => {
                let items = self.pop_mark()?;
                self.extend(items)?;
            }
            b'}' => self.push(Value::Dict(Vec::new()))?,
            b'd' => {
                let items = self.pop_mark()?;
                let pairs = self.pairs(items)?;
                self.push(Value::Dict(pairs))?;
            }
            b's' => {
                let v = self.pop()?;
                let k = self.pop()?;
                self.set_items(vec![(k, v)])?;
            }
            b'u' => {
                let items = self.pop_mark()?;
                let pairs = self.pairs(items)?;
                self.set_items(pairs)?;
            }
            0x8f => self.push(Value::Set(Vec::new()))?,
            0x90 => {
                let items = self.pop_mark()?;
                self.extend(items)?;
            }
            0x91 => {
                let items = self.pop_mark()?;
                self.push(Value::Set(items))?;
            }

            // Memo.
            b'p' => {
                let line = self.line()?;
                let i = self.parse_index(line)?;
                self.put(i)?;
            }
            b'q' => {
                let i = self.u8()?;
                self.put(i.into())?;
            }
            b'r' => {
                let i = self.u32()?;
                self.put(i.into())?;
            }
            0x94 => {
                let i = self.memo.len() as u64;
                self.put(i)?;
            }
            b'g' => {
                let line = self.line()?;
                let i = self.parse_index(line)?;
                self.get(i)?;
            }
            b'h' => {
                let i = self.u8()?;
                self.get(i.into())?;
            }
            b'j' => {
                let i = self.u32()?;
                self.get(i.into())?;
            }

            // Globals and calls: only the whitelist, interpreted, never executed.
            b'c' => {
                let module = self.text_line()?;
                let name = self.text_line()?;
                let g = self.global(&module, &name)?;
                self.push(Value::Global(g))?;
            }
            0x93 => {
                let name = self.pop()?;
                let module = self.pop()?;
                let (Value::Str(module), Value::Str(name)) =
                    (self.value(module).clone(), self.value(name).clone())
                else {
                    return self.err("STACK_GLOBAL needs two strings");
                };
                let g = self.global(&module, &name)?;
                self.push(Value::Global(g))?;
            }
            b'R' => {
                let args = self.pop()?;
                let f = self.pop()?;
                let id = self.call(f, args)?;
                self.stack.push(id);
            }
            0x81 => {
                let args = self.pop()?;
                let cls = self.pop()?;
                let id = self.call(cls, args)?;
                self.stack.push(id);
            }
            0x92 => {
                let kwargs = self.pop()?;
                let args = self.pop()?;
                let cls = self.pop()?;
                if !matches!(self.value(kwargs), Value::Dict(d) if d.is_empty()) {
                    return self.err("NEWOBJ_EX with keyword arguments is not supported");
                }
                let id = self.call(cls, args)?;
                self.stack.push(id);
            }
            b'i' => {
                let module = self.text_line()?;
                let name = self.text_line()?;
                let g = self.global(&module, &name)?;
                let items = self.pop_mark()?;
                let f = self.new_node(Value::Global(g))?;
                let args = self.new_node(Value::Tuple(items))?;
                let id = self.call(f, args)?;
                self.stack.push(id);
            }
            b'o' => {
                let mut items = self.pop_mark()?;
                if items.is_empty() {
                    return self.err("OBJ without a class");
                }
                let f = items.remove(0);
                let args = self.new_node(Value::Tuple(items))?;
                let id = self.call(f, args)?;
                self.stack.push(id);
            }
            b'b' => {
                let _state = self.pop()?;
                let target = self.top()?;
                // Attributes set on containers (an OrderedDict's `_metadata` of module versions),
                // tensors and inert objects do not matter to the weights.
                match self.value(target) {
                    Value::Dict(_) | Value::Tensor(_) | Value::Inert(_) => {}
                    other => {
                        let kind = other.kind();
                        return self.err(format!("BUILD (setting the state of) a {kind}"));
                    }
                }
            }

            // Persistent ids: how torch.save points at storages.
            b'P' => return self.err("text persistent ids (PERSID) are not used by torch.save"),
            b'Q' => {
                let pid = self.pop()?;
                let v = self.persistent(pid)?;
                self.push(v)?;
            }

            0x82..=0x84 => {
                return self.err("extension registry codes (EXT1/2/4) are not supported");
            }
            0x97 | 0x98 => {
                return self.err("out-of-band buffers (pickle protocol 5) are not in the file");
            }
            _ => return self.err(format!("unknown pickle opcode 0x{op:02x}")),
        }
        Ok(())
    }

    // ---- input ----

    pub(super) fn take(&mut self, n: usize) -> PResult<&'a [u8]> {
        let left = self.data.len() - self.pos;
        if n > left {
            return self.err(format!(
                "truncated: needs {n} more bytes, only {left} remain"
            ));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub(super) fn take_u64(&mut self, n: u64) -> PResult<&'a [u8]> {
        match usize::try_from(n) {
            Ok(n) => self.take(n),
            Err(_) => self.err(format!("declared length {n} does not fit in memory")),
        }
    }

    pub(super) fn u8(&mut self) -> PResult<u8> {
        Ok(self.take(1)?[0])
    }

    pub(super) fn u32(&mut self) -> PResult<u32> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(super) fn u64(&mut self) -> PResult<u64> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    pub(super) fn line(&mut self) -> PResult<&'a [u8]> {
        let rest = &self.data[self.pos..];
        match rest.iter().position(|&b| b == b'\n') {
            Some(n) => {
                self.pos += n + 1;
                Ok(&rest[..n])
            }
            None => self.err("truncated: a text argument has no end of line"),
        }
    }

    pub(super) fn text_line(&mut self) -> PResult<String> {
        let line = self.line()?;
        match std::str::from_utf8(line) {
            Ok(s) => Ok(s.to_string()),
            Err(_) => self.err("a global's name is not valid UTF-8"),
        }
    }

    pub(super) fn parse_int(&self, line: &[u8]) -> PResult<i64> {
        match std::str::from_utf8(line)
            .ok()
            .and_then(|s| s.trim().parse::<i64>().ok())
        {
            Some(v) => Ok(v),
            None => self.err("integer that is not a number or does not fit in 64 bits"),
        }
    }

    pub(super) fn parse_index(&self, line: &[u8]) -> PResult<u64> {
        match std::str::from_utf8(line)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
        {
            Some(v) => Ok(v),
            None => self.err("memo index that is not a number"),
        }
    }

    pub(super) fn long(&mut self, n: usize) -> PResult<()> {
        let b = self.take(n)?;
        let v = if n == 0 {
            Value::Int(0)
        } else if n <= 8 {
            let fill = if b[n - 1] & 0x80 != 0 { 0xff } else { 0 };
            let mut a = [fill; 8];
            a[..n].copy_from_slice(b);
            Value::Int(i64::from_le_bytes(a))
        } else {
            Value::BigInt(b.to_vec())
        };
        self.push(v)
    }

    pub(super) fn unicode(&mut self, n: u64) -> PResult<()> {
        let b = self.take_u64(n)?;
        match std::str::from_utf8(b) {
            Ok(s) => {
                let s = s.to_string();
                self.push(Value::Str(s))
            }
            Err(_) => self.err("string that is not valid UTF-8"),
        }
    }

    pub(super) fn bytes(&mut self, n: u64) -> PResult<()> {
        let b = self.take_u64(n)?.to_vec();
        self.push(Value::Bytes(b))
    }

    // ---- stack and arena ----

    pub(super) fn value(&self, id: Id) -> &Value {
        &self.nodes[id.0].value
    }

    pub(super) fn frame_base(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    pub(super) fn new_node(&mut self, value: Value) -> PResult<Id> {
        let children: &[Id] = match &value {
            Value::Tuple(v) | Value::List(v) | Value::Set(v) => v,
            _ => &[],
        };
        let mut depth = children.iter().map(|c| self.nodes[c.0].depth + 1).max();
        if let Value::Dict(pairs) = &value {
            depth = pairs
                .iter()
                .map(|(k, v)| self.nodes[k.0].depth.max(self.nodes[v.0].depth) + 1)
                .max();
        }
        let depth = depth.unwrap_or(0);
        if depth > MAX_DEPTH {
            return self.err(format!("objects nested deeper than {MAX_DEPTH} levels"));
        }
        self.nodes.push(Node { value, depth });
        Ok(Id(self.nodes.len() - 1))
    }

    pub(super) fn push(&mut self, value: Value) -> PResult<()> {
        let id = self.new_node(value)?;
        self.stack.push(id);
        Ok(())
    }

    pub(super) fn pop(&mut self) -> PResult<Id> {
        if self.stack.len() <= self.frame_base() {
            return self.err("stack underflow (malformed pickle)");
        }
        Ok(self.stack.pop().expect("checked above"))
    }

    pub(super) fn top(&self) -> PResult<Id> {
        if self.stack.len() <= self.frame_base() {
            return self.err("stack underflow (malformed pickle)");
        }
        Ok(*self.stack.last().expect("checked above"))
    }

    pub(super) fn pop_mark(&mut self) -> PResult<Vec<Id>> {
        match self.marks.pop() {
            Some(at) => Ok(self.stack.split_off(at)),
            None => self.err("no MARK to pop to (malformed pickle)"),
        }
    }

    pub(super) fn pairs(&self, items: Vec<Id>) -> PResult<Vec<(Id, Id)>> {
        let pairs = items.chunks_exact(2);
        if !pairs.remainder().is_empty() {
            return self.err("dict items with a key but no value");
        }
        Ok(pairs.map(|c| (c[0], c[1])).collect())
    }

    /// Records that container `target` now holds `children`, keeping its depth current.
    pub(super) fn deepen(&mut self, target: Id, children: impl Iterator<Item = Id>) -> PResult<()> {
        let d = children
            .map(|c| self.nodes[c.0].depth + 1)
            .max()
            .unwrap_or(0);
        let node = &mut self.nodes[target.0];
        node.depth = node.depth.max(d);
        if node.depth > MAX_DEPTH {
            return self.err(format!("objects nested deeper than {MAX_DEPTH} levels"));
        }
        Ok(())
    }

    /// APPEND(S) and ADDITEMS.
    pub(super) fn extend(&mut self, items: Vec<Id>) -> PResult<()> {
        let target = self.top()?;
        self.deepen(target, items.iter().copied())?;
        match &mut self.nodes[target.0].value {
            Value::List(v) | Value::Set(v) => v.extend(items),
            Value::Inert(_) => {}
            other => {
                let kind = other.kind();
                return self.err(format!("appending to a {kind}"));
            }
        }
        Ok(())
    }

    /// SETITEM(S).
    pub(super) fn set_items(&mut self, pairs: Vec<(Id, Id)>) -> PResult<()> {
        let target = self.top()?;
        self.deepen(target, pairs.iter().flat_map(|&(k, v)| [k, v]))?;
        match &mut self.nodes[target.0].value {
            Value::Dict(d) => d.extend(pairs),
            Value::Inert(_) => {}
            other => {
                let kind = other.kind();
                return self.err(format!("setting items of a {kind}"));
            }
        }
        Ok(())
    }

    pub(super) fn put(&mut self, i: u64) -> PResult<()> {
        let top = self.top()?;
        self.memo.insert(i, top);
        Ok(())
    }

    pub(super) fn get(&mut self, i: u64) -> PResult<()> {
        match self.memo.get(&i) {
            Some(&id) => {
                self.stack.push(id);
                Ok(())
            }
            None => self.err(format!("memo entry {i} is used before it is stored")),
        }
    }
}

/// Python 2 `str` (BINSTRING): text when it decodes, else bytes.
fn py2_str(b: Vec<u8>) -> Value {
    match String::from_utf8(b) {
        Ok(s) => Value::Str(s),
        Err(e) => Value::Bytes(e.into_bytes()),
    }
}

/// Decodes protocol 0's `raw-unicode-escape`: bytes are Latin-1, except `\uXXXX`/`\UXXXXXXXX`.
fn raw_unicode_escape(line: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        let b = line[i];
        if b == b'\\' && i + 1 < line.len() && (line[i + 1] == b'u' || line[i + 1] == b'U') {
            let n = if line[i + 1] == b'u' { 4 } else { 8 };
            let hex = line.get(i + 2..i + 2 + n)?;
            let code = u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
            out.push(char::from_u32(code)?);
            i += 2 + n;
        } else {
            out.push(char::from(b));
            i += 1;
        }
    }
    Some(out)
}
