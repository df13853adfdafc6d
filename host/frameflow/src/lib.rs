//! The `frameflow` command line, shared by its two binaries:
//!
//! - `frameflow` (`src/main.rs`) links FFmpeg only and runs the media commands (`probe`,
//!   `frame`, `frames`) itself, so they start as fast as `ffmpeg` does; for `serve`, `flow`,
//!   `flow-pair` and `sample` it replaces itself ([`exec_full`]) with
//! - `frameflow-full` (crate `frameflow-full`, host/frameflow-full), which also links OpenCV
//!   (optical flow, vision) and the component runtime (wasmtime), and runs every command.
//!
//! Loading OpenCV costs ~200 ms at start-up on Debian (its image codecs pull GDAL and ~140
//! shared libraries, most linked with BIND_NOW): too much for `frameflow probe`. The split
//! keeps one command line (one [`cli::Cli`]) and one process: `exec` keeps the pid.
//! Every failure exits non-zero with one line naming the problem.

#![forbid(unsafe_code)]

pub mod cli;

use std::path::PathBuf;

/// The binary that runs the commands needing OpenCV or the component runtime.
pub const FULL_BINARY: &str = "frameflow-full";

/// Parses the command line, runs `run`, and exits the way every frameflow command does.
pub fn main(run: impl FnOnce(cli::Cli) -> anyhow::Result<()>) {
    let args = match <cli::Cli as clap::Parser>::try_parse() {
        Ok(args) => args,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            // clap's first line names the problem, plus the values allowed when it lists them;
            // its usage hints would make it several lines.
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            let allowed = text.lines().map(str::trim).find(|l| l.starts_with("[possible values:"));
            match allowed {
                Some(values) => eprintln!("frameflow: {first} {values} (see --help)"),
                None => eprintln!("frameflow: {first} (see --help)"),
            }
            std::process::exit(2);
        }
    };
    if let Err(e) = run(args) {
        // `frameflow frames ... -o - | head`: the reader left; that is not an error.
        let broken_pipe = e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe));
        if broken_pipe {
            std::process::exit(0);
        }
        // One line: the error and its causes, outermost first.
        let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
        eprintln!("frameflow: error: {}", chain.join(": "));
        std::process::exit(1);
    }
}

/// Where `frameflow-full` is: beside the running `frameflow` (where `cargo build` and
/// `cargo install` put both).
pub fn full_binary() -> std::io::Result<PathBuf> {
    Ok(std::env::current_exe()?.with_file_name(FULL_BINARY))
}

/// Replaces this process with `frameflow-full` and the same arguments; returns only on
/// failure.
pub fn exec_full() -> anyhow::Result<()> {
    use std::os::unix::process::CommandExt;
    let full = full_binary()?;
    let err = std::process::Command::new(&full).arg0("frameflow").args(std::env::args_os().skip(1)).exec();
    Err(anyhow::Error::new(err).context(format!(
        "this command runs in {FULL_BINARY}, which could not be started from {} (build or install it beside frameflow: cargo build -p frameflow-full, cargo install --path host/frameflow-full)",
        full.display()
    )))
}
