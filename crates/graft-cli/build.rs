//! Bakes libtorch's library folder into the rpath of the `graft` binary and its tests, so they run
//! without LD_LIBRARY_PATH (torch-sys links libtorch but sets no rpath).
fn main() {
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    }
}
