# The two commands a new user needs: `make demo` and `make test`. Both install libtorch first
# when it is missing (scripts/setup-libtorch.sh).
.PHONY: setup demo test build lint fmt bench-extract examples doc fuzz-check

setup:
	@scripts/setup-libtorch.sh

demo: setup
	cargo run --release -p graft-cli -- demo

test: setup
	cargo test --workspace

build: setup
	cargo build --release -p graft-cli

lint: setup
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

bench-extract: setup
	scripts/bench/extract.sh

# The library's examples, each on data it generates (CI runs them after the tests).
examples: setup
	cargo run -q -p graft --example finetune_report
	cargo run -q -p graft --example jda_arrays
	cargo run -q -p graft --example text_extract

doc: setup
	RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps

# A check build of every fuzz target on the stable toolchain, sharing the main build's folder.
fuzz-check: setup
	CARGO_TARGET_DIR=$(CURDIR)/target cargo check --manifest-path fuzz/Cargo.toml --all-features --bins
