//! Which part of an unpickled checkpoint is the model's state dict (rules in `pth`'s docs).

use crate::weights::pickle::{Id, Pickle, Value, MAX_DEPTH};
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashSet};

/// Keys under which training scripts store the model's weights, most specific first.
const WRAPPER_KEYS: &[&str] = &["state_dict", "model_state_dict", "model", "module"];

/// Prefixes added by wrappers around a model: `nn.DataParallel` / DDP, and `torch.compile`.
const WRAPPER_PREFIXES: &[&str] = &["module.", "_orig_mod."];

/// The state dict's tensors by final key name. `Err` says what the checkpoint holds instead.
pub(super) fn state_dict_entries(p: &Pickle) -> Result<Vec<(String, Id)>, String> {
    let mut cur = p.root();
    let mut path: Vec<&str> = Vec::new();
    loop {
        let Value::Dict(pairs) = p.value(cur) else {
            let at = if path.is_empty() {
                "the checkpoint".to_string()
            } else {
                format!("checkpoint[{}]", path.join("]["))
            };
            return Err(format!(
                "{at} is a {}, expected a dict of tensors (a state dict)",
                p.value(cur).kind()
            ));
        };
        if pairs
            .iter()
            .any(|(_, v)| matches!(p.value(*v), Value::Tensor(_)))
        {
            break;
        }
        let wrapped = WRAPPER_KEYS.iter().find_map(|w| {
            last_value(p, pairs, w)
                .filter(|v| matches!(p.value(*v), Value::Dict(_)))
                .map(|v| (*w, v))
        });
        match wrapped {
            Some((w, v)) if path.len() < MAX_DEPTH => {
                path.push(w);
                cur = v;
            }
            _ => break,
        }
    }

    let mut out = BTreeMap::new();
    flatten(p, cur, "", 0, &mut HashSet::new(), &mut out)?;
    if out.is_empty() {
        let Value::Dict(pairs) = p.value(cur) else {
            unreachable!("checked above")
        };
        let keys: Vec<String> = pairs
            .iter()
            .take(20)
            .map(|(k, v)| {
                let k = p
                    .as_str(*k)
                    .map_or_else(|| "?".to_string(), |k| format!("'{k}'"));
                format!("{k}: {}", p.value(*v).kind())
            })
            .collect();
        return Err(format!(
            "no tensors found in the checkpoint; its dict holds {{{}}}",
            keys.join(", ")
        ));
    }
    Ok(strip_wrapper_prefixes(out).into_iter().collect())
}

/// The value of the last entry with key `key` (Python keeps the last of repeated keys).
fn last_value(p: &Pickle, pairs: &[(Id, Id)], key: &str) -> Option<Id> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| p.as_str(*k) == Some(key))
        .map(|(_, v)| *v)
}

/// Each dict is visited once: a dict reached twice (shared or cyclic, which no state dict is)
/// is an error, so a hostile file cannot make the walk loop or grow exponentially; and the
/// recursion stops at [`MAX_DEPTH`] whatever the parser's depth bookkeeping saw.
fn flatten(
    p: &Pickle,
    dict: Id,
    prefix: &str,
    depth: usize,
    seen: &mut HashSet<Id>,
    out: &mut BTreeMap<String, Id>,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("dicts nested deeper than {MAX_DEPTH} levels"));
    }
    if !seen.insert(dict) {
        return Err(format!(
            "the dict under `{}` also appears elsewhere in the checkpoint (shared or cyclic \
             dicts are not state dicts)",
            prefix.trim_end_matches('.')
        ));
    }
    let Value::Dict(pairs) = p.value(dict) else {
        return Ok(());
    };
    // Within one dict a repeated key replaces the earlier value, as in Python.
    let mut own: BTreeMap<&str, Id> = BTreeMap::new();
    for (k, v) in pairs {
        if let Some(k) = p.as_str(*k) {
            own.insert(k, *v);
        }
    }
    for (k, v) in own {
        let name = format!("{prefix}{k}");
        match p.value(v) {
            Value::Tensor(_) => match out.entry(name) {
                Entry::Vacant(slot) => {
                    slot.insert(v);
                }
                Entry::Occupied(slot) => {
                    return Err(format!(
                        "key `{}` appears twice once nested dicts are joined with dots",
                        slot.key()
                    ));
                }
            },
            Value::Dict(_) => flatten(p, v, &format!("{name}."), depth + 1, seen, out)?,
            _ => {}
        }
    }
    Ok(())
}

fn strip_wrapper_prefixes(mut sd: BTreeMap<String, Id>) -> BTreeMap<String, Id> {
    while let Some(prefix) = WRAPPER_PREFIXES.iter().find(|pre| {
        sd.keys()
            .all(|k| k.starts_with(**pre) && k.len() > pre.len())
    }) {
        sd = sd
            .into_iter()
            .map(|(k, v)| (k[prefix.len()..].to_string(), v))
            .collect();
    }
    sd
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weights::pickle::parse;

    fn select(data: &[u8]) -> Result<Vec<(String, Id)>, String> {
        let (p, _) = parse(data).expect("test pickle parses");
        state_dict_entries(&p)
    }

    #[test]
    fn says_what_the_checkpoint_holds_instead() {
        let e = select(b"\x80\x02].").unwrap_err();
        assert!(
            e.contains("the checkpoint is a list, expected a dict"),
            "{e}"
        );
        let e = select(b"\x80\x02}X\x05\x00\x00\x00model]s.").unwrap_err();
        assert!(e.contains("{'model': list}"), "{e}");
        let e = select(
            b"\x80\x02}(X\x05\x00\x00\x00epochK\x03X\x02\x00\x00\x00lrG?\xb9\x99\x99\x99\x99\x99\x9au.",
        )
        .unwrap_err();
        assert!(
            e.contains("no tensors found") && e.contains("'epoch': int, 'lr': float"),
            "{e}"
        );
    }

    #[test]
    fn shared_or_cyclic_dicts_are_refused() {
        // d = {}; d['a'] = d
        let e = select(b"\x80\x02}q\x00X\x01\x00\x00\x00ah\x00s.").unwrap_err();
        assert!(e.contains("under `a` also appears elsewhere"), "{e}");
        // d = {}; d['model'] = d: the wrapper walk stops, then the same refusal.
        let e = select(b"\x80\x02}q\x00X\x05\x00\x00\x00modelh\x00s.").unwrap_err();
        assert!(e.contains("also appears elsewhere"), "{e}");
    }
}
