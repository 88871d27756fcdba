//! The native command line: `convscope summary`, `convscope train`, `convscope evaluate`,
//! `convscope explain-check`, `convscope cross-dataset`, `convscope imagenet predict`.
//! Run `convscope --help` for the options; `--data` sources are described in data_source.rs.
//! `wasm-pack test` builds every target for wasm32, where the CLI's crates (clap, indicatif)
//! are absent, so there this binary is empty.

#[cfg(not(target_arch = "wasm32"))]
mod augment_args;
#[cfg(not(target_arch = "wasm32"))]
mod cli;
#[cfg(not(target_arch = "wasm32"))]
mod cross_dataset;
#[cfg(not(target_arch = "wasm32"))]
mod data_source;
#[cfg(not(target_arch = "wasm32"))]
mod explain_check;
#[cfg(not(target_arch = "wasm32"))]
mod imagenet;
#[cfg(not(target_arch = "wasm32"))]
mod report;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {}
