//! The native command line: `convscope summary`, `convscope train`, `convscope evaluate`.
//! Run `convscope --help` for the options; `--data` sources are described in data_source.rs.

#[cfg(not(target_arch = "wasm32"))]
mod cli;
#[cfg(not(target_arch = "wasm32"))]
mod data_source;
#[cfg(not(target_arch = "wasm32"))]
mod report;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

/// `cargo test --target wasm32-unknown-unknown` builds every binary of the package; the command
/// line reads files and drives a terminal, so its wasm build is empty.
#[cfg(target_arch = "wasm32")]
fn main() {}
