//! Compiled components on disk, so a restart does not recompile.
//!
//! A cache entry is named by the SHA-256 of the component's bytes and the engine's
//! compatibility hash (wasmtime version, target, settings), and carries an HMAC made with
//! a secret only this host knows (`host.key`, created on first use). Deserializing machine
//! code is trusting it, so an entry whose HMAC does not verify (copied in, edited, from
//! another host) is ignored and recompiled, never loaded.

use std::hash::Hasher;
use std::path::{Path, PathBuf};

use anyhow::Context;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;

type HmacSha256 = Hmac<Sha256>;

pub(crate) struct CompileCache {
    dir: PathBuf,
    secret: Vec<u8>,
}

/// Whether a component came from the cache or was compiled now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheOutcome {
    Hit,
    Compiled,
}

/// Feeds `Hash` output into SHA-256, so the compatibility key is stable across processes.
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

impl CompileCache {
    pub fn open(dir: &Path) -> anyhow::Result<CompileCache> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create component cache {}", dir.display()))?;
        let key_path = dir.join("host.key");
        let secret = match std::fs::read(&key_path) {
            Ok(k) if k.len() == 32 => k,
            _ => {
                let mut k = vec![0u8; 32];
                std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut k)?;
                write_private(&key_path, &k).with_context(|| format!("cannot write {}", key_path.display()))?;
                k
            }
        };
        Ok(CompileCache { dir: dir.to_path_buf(), secret })
    }

    fn entry_name(&self, engine: &Engine, wasm: &[u8]) -> String {
        let mut compat = ShaHasher(Sha256::new());
        std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut compat);
        let compat = hex::encode(&compat.0.finalize()[..8]);
        format!("{}-{compat}.cwasm", hex::encode(Sha256::digest(wasm)))
    }

    fn mac(&self, bytes: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(bytes);
        mac
    }

    /// A public id derived from the host secret: stable for this cache directory, and
    /// telling nothing about the secret.
    pub fn host_id(&self) -> String {
        hex::encode(&self.mac(b"frameflow host id").finalize().into_bytes()[..8])
    }

    /// The compiled component for `wasm`, from the cache when a verified entry exists.
    pub fn load_or_compile(&self, engine: &Engine, wasm: &[u8]) -> anyhow::Result<(Component, CacheOutcome)> {
        let path = self.dir.join(self.entry_name(engine, wasm));
        let mac_path = path.with_extension("cwasm.mac");
        if let (Ok(code), Ok(tag)) = (std::fs::read(&path), std::fs::read(&mac_path)) {
            if self.mac(&code).verify_slice(&tag).is_ok() {
                // SAFETY: the bytes are exactly what this host serialized (HMAC verified with
                // the host's secret), for this engine configuration (in the entry name).
                if let Ok(component) = unsafe { Component::deserialize(engine, &code) } {
                    return Ok((component, CacheOutcome::Hit));
                }
            }
        }
        let component = Component::new(engine, wasm).map_err(anyhow::Error::from).context("compiling component")?;
        let code = component.serialize().map_err(anyhow::Error::from).context("serializing compiled component")?;
        let tag = self.mac(&code).finalize().into_bytes();
        // Write the code first and the tag last: a torn write leaves an entry that fails
        // verification and is recompiled.
        let written = write_private(&path, &code).and_then(|_| write_private(&mac_path, &tag));
        if let Err(e) = written {
            tracing::warn!("cannot cache compiled component at {}: {e}", path.display());
        }
        Ok((component, CacheOutcome::Compiled))
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    // A private temporary name: two processes filling the same entry never interleave.
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp.{}.{n}", std::process::id()));
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
    std::io::Write::write_all(&mut f, bytes)?;
    std::fs::rename(tmp, path)
}
