//! `frameflow-full`: every frameflow command, with OpenCV (optical flow) and the component
//! runtime (the server, local sampling jobs) linked in. The `frameflow` binary (crate
//! `frameflow`, which owns the command line) runs the media commands itself and replaces
//! itself with this one for `serve`, `flow`, `flow-pair` and `sample`; it can be run
//! directly too.

#![forbid(unsafe_code)]

mod flow_cmd;
mod sample_cmd;
mod serve_cmd;

use anyhow::{bail, Result};
use frameflow_cli::cli::{self, Cli, Command};
use frameflow_flow::{Algorithm, FlowFormat};
use frameflow_media::{ImageFormat, RenderOptions};

fn main() {
    frameflow_cli::main(run)
}

/// The command line's flow names as the flow crate's types (the command line offers only
/// names these parse).
fn algorithm(name: &str) -> Result<Algorithm> {
    Ok(name.parse()?)
}

fn flow_format(name: &str) -> Result<FlowFormat> {
    Ok(name.parse()?)
}

/// Runs any command.
fn run(args: Cli) -> Result<()> {
    match args.command {
        Command::Serve { config, runtime_config, listen, store, media_root, upload_limit, log_format } => {
            let options = frameflow_server::ServerOptions { store, media_root, upload_limit_bytes: upload_limit };
            serve_cmd::serve(&config, runtime_config.as_deref(), listen, options, log_format)?;
        }
        Command::Flow { video, open: o, from_index, count, step, algorithm: name, bound, format, width, height, short_side, out } => {
            let mut v = cli::open(&video, &o)?;
            let algorithm = algorithm(&name)?;
            let req = flow_cmd::VideoFlowRequest { from_index, count, step, algorithm, bound, format: flow_format(&format)?, width, height, short_side, out };
            let n = flow_cmd::video_flow(&mut v, &req)?;
            eprintln!("wrote {n} flows ({}) to {}", algorithm.name(), req.out.display());
        }
        Command::FlowPair { first, second, algorithm: name, format, bound, output } => {
            flow_cmd::pair_flow(&first, &second, algorithm(&name)?, flow_format(&format)?, bound, &output)?;
        }
        Command::Sample { videos, sampler, params, modality, seed, out, config, format, quality, algorithm: name, bound, width, height } => {
            if format == ImageFormat::Rgb24 {
                bail!("--format must be jpeg or png for sampled frames");
            }
            let render = RenderOptions { width, height, ..RenderOptions::default() };
            let args = sample_cmd::SampleArgs { videos, sampler, params, modality, seed, out, config, format, quality, algorithm: algorithm(&name)?, bound, render };
            sample_cmd::sample(args)?;
        }
        other => cli::run_media(Cli { command: other })?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The command line offers exactly the flow crate's algorithms, formats and bound.
    #[test]
    fn the_command_lines_flow_names_are_the_flow_crates() {
        let names: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
        assert_eq!(names, cli::FLOW_ALGORITHMS);
        for name in cli::FLOW_FORMATS {
            flow_format(name).unwrap();
        }
        assert!(flow_format("gif").is_err());
        assert_eq!(cli::DEFAULT_FLOW_BOUND, frameflow_flow::DEFAULT_BOUND);
    }
}
