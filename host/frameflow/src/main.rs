//! The `frameflow` binary: a thin command line over the media core (probe, one frame,
//! many frames). Every failure exits non-zero with one line naming the problem.

mod cli;

fn main() {
    let args = <cli::Cli as clap::Parser>::parse();
    if let Err(e) = cli::run(args) {
        // One line: the error and its causes, outermost first.
        let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
        eprintln!("frameflow: error: {}", chain.join(": "));
        std::process::exit(1);
    }
}
