//! The `frameflow` binary: a thin command line over the media core (probe, frames,
//! optical flow), local sampling jobs (`sample`) and the HTTP server (`serve`, see the
//! frameflow-server crate).
//! Every failure exits non-zero with one line naming the problem.

#![forbid(unsafe_code)]

mod cli;
mod flow_cmd;
mod sample_cmd;
mod serve_cmd;

fn main() {
    let args = match <cli::Cli as clap::Parser>::try_parse() {
        Ok(args) => args,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            // clap's first line names the problem; its usage hints would make it several.
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("frameflow: {first} (see --help)");
            std::process::exit(2);
        }
    };
    if let Err(e) = cli::run(args) {
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
