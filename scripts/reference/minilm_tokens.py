#!/usr/bin/env python3
"""Reference token ids for graft-data's text layer (crates/graft-data/src/text), made with the
Hugging Face `tokenizers` Python package (0.22) from all-MiniLM-L6-v2's tokenizer.json, and an
independent regex parse of the Blitzer et al. (2007) review files.

Writes crates/graft-data/tests/fixtures/text/minilm_tokens.json:
  reviews: per books file, the review count and the first and last texts (title + ". " + body)
  batches: for max_length 32 and 512, the texts, padded ids / mask / type ids (BatchLongest,
           right), the number of truncated texts and each text's unpadded length.

Usage: GRAFT_DATA=/path/to/shared/data python scripts/reference/minilm_tokens.py
"""

import json
import os
import re
from pathlib import Path

from tokenizers import Tokenizer

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("GRAFT_DATA", ROOT.parent / "shared" / "data"))
OUT = ROOT / "crates/graft-data/tests/fixtures/text/minilm_tokens.json"


def reviews(path):
    content = path.read_text(encoding="utf-8")
    out = []
    for block in re.findall(r"<review>(.*?)</review>", content, flags=re.S):
        title = re.search(r"<title>(.*?)</title>", block, flags=re.S)
        body = re.search(r"<review_text>(.*?)</review_text>", block, flags=re.S).group(1).strip()
        title = title.group(1).strip() if title else ""
        out.append(f"{title}. {body}" if title and body else (title or body))
    return out


def encode(tok_path, texts, max_length):
    tok = Tokenizer.from_file(str(tok_path))
    tok.enable_truncation(max_length=max_length, strategy="longest_first", stride=0)
    tok.enable_padding(direction="right", pad_id=0, pad_type_id=0, pad_token="[PAD]")
    encs = tok.encode_batch(texts)
    return {
        "max_length": max_length,
        "len": len(encs[0].ids),
        "ids": [e.ids for e in encs],
        "attention_mask": [e.attention_mask for e in encs],
        "type_ids": [e.type_ids for e in encs],
        "truncated": sum(1 for e in encs if e.overflowing),
        "lengths": [sum(e.attention_mask) for e in encs],
    }


def main():
    books = DATA / "amazon_reviews_raw" / "books"
    review_info = {}
    samples = []
    for name in ["negative", "positive"]:
        r = reviews(books / f"{name}.review")
        review_info[name] = {"count": len(r), "first": r[0], "last": r[-1]}
        samples += [r[0], r[-1]]
    texts = [
        "",
        "Héllo WORLD — naïve café, don't stop-believing!!! 1,234.5",
        "日本語のテキスト and emoji 🙂 mixed\twith\ttabs\nand newlines",
        "short",
        " ".join(["transferability"] * 40),
    ] + samples
    out = {
        "tokenizer": "all_minilm_l6_v2/tokenizer.json",
        "reviews": review_info,
        "texts": texts,
        "batches": [encode(DATA / "all_minilm_l6_v2" / "tokenizer.json", texts, m) for m in (32, 512)],
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
