//! The `frameflow` binary: the media commands (`probe`, `frame`, `frames`) on FFmpeg alone;
//! `serve`, `flow`, `flow-pair` and `sample` are handed to `frameflow-full` (see the crate docs).

#![forbid(unsafe_code)]

fn main() {
    frameflow_cli::main(|cli| if cli.needs_full() { frameflow_cli::exec_full() } else { frameflow_cli::cli::run_media(cli) })
}
