//! The one check every tenant-supplied component passes before it is stored, whatever its
//! kind: not too big, a WebAssembly component (not garbage, not a core module, not
//! truncated), it compiles for this host, the right world's export, only the imports its
//! kind may use, and its export's types match this host's.

use std::sync::Arc;

use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker};
use wasmtime::Engine;

use crate::bindings::events::HandlerExportPre;
use crate::compile_cache::CompileCache;
use crate::sandbox::Sandbox;
use crate::samplers::SamplerRegistry;

/// What an uploaded component is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ComponentKind {
    Sampler,
    EventHandler,
    Analyzer,
}

impl ComponentKind {
    /// The folder its uploads live in, in the tenant's store.
    pub fn folder(self) -> &'static str {
        match self {
            ComponentKind::Sampler => "samplers",
            ComponentKind::EventHandler => "event-handlers",
            ComponentKind::Analyzer => "analyzers",
        }
    }

    /// The export that makes a component of this kind.
    pub fn export(self) -> &'static str {
        match self {
            ComponentKind::Sampler => "frameflow:sampler/plan@0.1.0",
            ComponentKind::EventHandler => "frameflow:events/handler@0.1.0",
            ComponentKind::Analyzer => "frameflow:analyzer/analyzer@0.1.0",
        }
    }

    /// The world to build it for, for messages.
    fn world(self) -> &'static str {
        match self {
            ComponentKind::Sampler => "frameflow:sampler/sampler",
            ComponentKind::EventHandler => "frameflow:events/handler-export",
            ComponentKind::Analyzer => "frameflow:analyzer/analyzer-component",
        }
    }

    /// Whether a component of this kind may import `name` (an interface, versioned).
    /// A sampler is pure: the WASI a Rust or C toolchain links by default (environment,
    /// exit, stdio, streams — all of which trap when called in a sampler's sandbox), never
    /// clocks, randomness, files, sockets, HTTP or the host's media and store. An event
    /// handler gets what an HTTP handler gets, minus files, sockets and outgoing HTTP.
    pub fn may_import(self, name: &str) -> bool {
        let base = name.split('@').next().unwrap_or(name);
        let cli_and_io = base.starts_with("wasi:cli/") || base.starts_with("wasi:io/");
        match self {
            // Analyzers are pure as samplers are.
            ComponentKind::Sampler | ComponentKind::Analyzer => cli_and_io,
            ComponentKind::EventHandler => {
                cli_and_io
                    || base.starts_with("wasi:clocks/")
                    || base.starts_with("wasi:random/")
                    // The types an HTTP handler's toolchain links (a component may be both).
                    || base == "wasi:http/types"
                    || base.starts_with("frameflow:")
            }
        }
    }
}

/// Why an upload was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CheckError {
    #[error("the component is {size} bytes; at most {limit} are accepted")]
    TooLarge { size: u64, limit: u64 },
    #[error("{0}")]
    NotAComponent(String),
    #[error("{0}")]
    WrongWorld(String),
    #[error("it imports what a {kind} may not use: {}", .imports.join(", "))]
    ForbiddenImports { kind: &'static str, imports: Vec<String> },
    #[error("it does not compile: {0}")]
    DoesNotCompile(String),
}

/// Checks uploads: the engine and compile cache they are compiled with, the sampler
/// registry (a sampler is linked as it will run), the handlers' linker.
pub(crate) struct Checker {
    pub engine: Engine,
    pub cache: Arc<CompileCache>,
    pub samplers: Arc<SamplerRegistry>,
    pub analyzers: Arc<crate::analyzers::AnalyzerRegistry>,
    pub linker: Linker<Sandbox>,
    pub max_bytes: u64,
}

impl Checker {
    /// Runs every check on `wasm` as a component of `kind`. CPU work (validation and
    /// compilation): call it off the async reactor.
    pub fn check(&self, kind: ComponentKind, wasm: &[u8]) -> Result<(), CheckError> {
        if wasm.len() as u64 > self.max_bytes {
            return Err(CheckError::TooLarge { size: wasm.len() as u64, limit: self.max_bytes });
        }
        match wasm.get(..8) {
            Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => {
                return Err(CheckError::NotAComponent(format!(
                    "this is a core WebAssembly module, not a component: build it for the wasm32-wasip2 target (or wrap it with `wasm-tools component new`) for the {} world",
                    kind.world()
                )))
            }
            Some([0, b'a', b's', b'm', _, _, 1, 0]) => {}
            _ => return Err(CheckError::NotAComponent("this is not a WebAssembly component (no component header)".into())),
        }
        wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
            .validate_all(wasm)
            .map_err(|e| CheckError::NotAComponent(format!("not a valid component (truncated or corrupt?): {e}")))?;
        let (component, _) = self.cache.load_or_compile(&self.engine, wasm).map_err(|e| CheckError::DoesNotCompile(format!("{e:#}")))?;
        let ty = component.component_type();
        let exports: Vec<String> = ty.exports(&self.engine).filter(|(_, item)| matches!(item.ty, ComponentItem::ComponentInstance(_))).map(|(n, _)| n.to_string()).collect();
        if !exports.iter().any(|e| e == kind.export()) {
            let found = if exports.is_empty() { "no interfaces".to_string() } else { exports.join(", ") };
            return Err(CheckError::WrongWorld(format!(
                "a {} must export {} (build it for the {} world); this component exports {found}",
                kind_name(kind),
                kind.export(),
                kind.world()
            )));
        }
        // An interface of types only (a world's shared records) gives no capability.
        let callable = |item: &ComponentItem| match item {
            ComponentItem::ComponentInstance(instance) => instance.exports(&self.engine).any(|(_, e)| !matches!(e.ty, ComponentItem::Type(_) | ComponentItem::Resource(_))),
            _ => true,
        };
        let forbidden: Vec<String> = ty
            .imports(&self.engine)
            .filter(|(name, item)| !kind.may_import(name) && callable(&item.ty))
            .map(|(name, _)| name.to_string())
            .collect();
        if !forbidden.is_empty() {
            return Err(CheckError::ForbiddenImports { kind: kind_name(kind), imports: forbidden });
        }
        self.typecheck(kind, &component)
    }

    /// The export's types match this host's WIT, and it links as it will run.
    fn typecheck(&self, kind: ComponentKind, component: &Component) -> Result<(), CheckError> {
        let wrong = |e: wasmtime::Error| CheckError::WrongWorld(format!("its {} does not match this host's: {e:#}", kind.export()));
        match kind {
            ComponentKind::Sampler => self.samplers.typecheck(component).map_err(|e| CheckError::WrongWorld(format!("{e:#}"))),
            ComponentKind::Analyzer => self.analyzers.typecheck(component).map_err(|e| CheckError::WrongWorld(format!("{e:#}"))),
            ComponentKind::EventHandler => {
                let pre = self.linker.instantiate_pre(component).map_err(wrong)?;
                HandlerExportPre::new(pre).map(|_| ()).map_err(wrong)
            }
        }
    }
}

pub fn kind_name(kind: ComponentKind) -> &'static str {
    match kind {
        ComponentKind::Sampler => "sampler",
        ComponentKind::EventHandler => "event handler",
        ComponentKind::Analyzer => "analyzer",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_by_kind() {
        assert!(ComponentKind::Sampler.may_import("wasi:cli/environment@0.2.6"));
        assert!(ComponentKind::Sampler.may_import("wasi:io/streams@0.2.0"));
        for forbidden in ["wasi:clocks/wall-clock@0.2.6", "wasi:random/random@0.2.6", "wasi:filesystem/preopens@0.2.6", "wasi:sockets/tcp@0.2.6", "frameflow:store/objects@0.1.0"] {
            assert!(!ComponentKind::Sampler.may_import(forbidden), "{forbidden}");
        }
        assert!(ComponentKind::EventHandler.may_import("frameflow:store/objects@0.1.0"));
        assert!(ComponentKind::EventHandler.may_import("wasi:clocks/wall-clock@0.2.6"));
        assert!(!ComponentKind::EventHandler.may_import("wasi:sockets/tcp@0.2.6"));
        assert!(!ComponentKind::EventHandler.may_import("wasi:filesystem/types@0.2.6"));
        assert!(!ComponentKind::EventHandler.may_import("wasi:http/outgoing-handler@0.2.6"));
    }
}
