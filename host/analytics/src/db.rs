//! [`DetectionsDb`]: one video's detections in an SQLite file (the embedded engine: no
//! server to run; the file is kept in the object store beside the video and read from a
//! local copy). One table, indexed by trace, identity and frame:
//!
//! ```sql
//! detections(frame, trace, kind, x, y, w, h, confidence, quality, identity, name, source, mutual_gaze)
//! ```
//!
//! `quality` is area × confidence, seed 002's pre-selection score.

use std::ops::Range;
use std::path::Path;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use crate::model::Detection;

pub type Result<T> = std::result::Result<T, rusqlite::Error>;

fn lo(frames: &Range<u64>) -> i64 {
    frames.start.min(i64::MAX as u64) as i64
}

fn hi(frames: &Range<u64>) -> i64 {
    frames.end.min(i64::MAX as u64) as i64
}

/// One stored detection.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Row {
    pub frame: u64,
    pub trace_id: i64,
    pub kind: String,
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub confidence: f64,
    pub quality: f64,
    pub identity_uuid: Option<String>,
    pub name: Option<String>,
    pub source: Option<String>,
    pub mutual_gaze: bool,
}

const COLUMNS: &str = "frame, trace, kind, x, y, w, h, confidence, quality, identity, name, source, mutual_gaze";

fn row(r: &rusqlite::Row<'_>) -> Result<Row> {
    Ok(Row {
        frame: r.get::<_, i64>(0)? as u64,
        trace_id: r.get(1)?,
        kind: r.get(2)?,
        x: r.get(3)?,
        y: r.get(4)?,
        width: r.get(5)?,
        height: r.get(6)?,
        confidence: r.get(7)?,
        quality: r.get(8)?,
        identity_uuid: r.get(9)?,
        name: r.get(10)?,
        source: r.get(11)?,
        mutual_gaze: r.get::<_, i64>(12)? != 0,
    })
}

/// A trace: its detections, and its identity's uuid and name when it has one.
pub type TraceSummary = (u64, Option<String>, Option<String>);

/// Writes a new detections file.
pub struct Writer {
    conn: Connection,
    pub rows: u64,
    pub clipped: u64,
}

impl Writer {
    pub fn create(path: &Path) -> Result<Writer> {
        let _ = std::fs::remove_file(path);
        let conn = Connection::open(path)?;
        // A scratch file until it is stored whole: no journal needed.
        conn.execute_batch(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
             CREATE TABLE detections(frame INTEGER NOT NULL, trace INTEGER NOT NULL, kind TEXT NOT NULL,
               x REAL NOT NULL, y REAL NOT NULL, w REAL NOT NULL, h REAL NOT NULL, confidence REAL NOT NULL,
               quality REAL NOT NULL, identity TEXT, name TEXT, source TEXT, mutual_gaze INTEGER NOT NULL);
             BEGIN;",
        )?;
        Ok(Writer { conn, rows: 0, clipped: 0 })
    }

    pub fn add(&mut self, d: &Detection, clipped: bool) -> Result<()> {
        let mut insert = self.conn.prepare_cached(&format!("INSERT INTO detections({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"))?;
        let id = d.identity.as_ref();
        insert.execute(params![
            d.frame as i64,
            d.trace_id,
            d.kind,
            d.x,
            d.y,
            d.width,
            d.height,
            d.confidence,
            d.width * d.height * d.confidence,
            id.map(|i| i.uuid.as_str()),
            id.and_then(|i| i.name.as_deref()),
            id.and_then(|i| i.source.as_deref()),
            d.mutual_gaze as i64
        ])?;
        self.rows += 1;
        self.clipped += clipped as u64;
        Ok(())
    }

    /// Commits and indexes; the file is then complete.
    pub fn finish(self) -> Result<()> {
        self.conn.execute_batch(
            "COMMIT;
             CREATE INDEX by_trace ON detections(trace, quality DESC);
             CREATE INDEX by_identity ON detections(identity, frame);
             CREATE INDEX by_frame ON detections(frame);",
        )
    }
}

/// A detections file, read-only.
pub struct DetectionsDb {
    conn: Connection,
}

/// What `GET .../detections` pages by.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub from_frame: Option<u64>,
    pub to_frame: Option<u64>,
    pub trace_id: Option<i64>,
    pub identity: Option<String>,
    pub kind: Option<String>,
}

impl DetectionsDb {
    pub fn open(path: &Path) -> Result<DetectionsDb> {
        Ok(DetectionsDb { conn: Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)? })
    }

    /// Detections matching `filter`, in (frame, trace) order, after the `after`-th, at most `limit`.
    pub fn page(&self, filter: &Filter, after: u64, limit: u64) -> Result<Vec<Row>> {
        let mut sql = format!("SELECT {COLUMNS} FROM detections WHERE 1 = 1");
        let mut args: Vec<rusqlite::types::Value> = Vec::new();
        if let Some(f) = filter.from_frame {
            sql.push_str(" AND frame >= ?");
            args.push((f as i64).into());
        }
        if let Some(t) = filter.to_frame {
            sql.push_str(" AND frame <= ?");
            args.push((t as i64).into());
        }
        if let Some(t) = filter.trace_id {
            sql.push_str(" AND trace = ?");
            args.push(t.into());
        }
        if let Some(i) = &filter.identity {
            sql.push_str(" AND identity = ?");
            args.push(i.clone().into());
        }
        if let Some(k) = &filter.kind {
            sql.push_str(" AND kind = ?");
            args.push(k.clone().into());
        }
        sql.push_str(" ORDER BY frame, trace, rowid LIMIT ? OFFSET ?");
        args.push((limit as i64).into());
        args.push((after as i64).into());
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), row)?;
        rows.collect()
    }

    /// How many detections a trace has and its identity's uuid and name (`None`: no such trace).
    pub fn trace(&self, trace: i64) -> Result<Option<TraceSummary>> {
        let found: (i64, Option<String>, Option<String>) = self.conn.query_row(
            "SELECT COUNT(*), MAX(identity), MAX(name) FROM detections WHERE trace = ?1",
            [trace],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        Ok((found.0 > 0).then_some((found.0 as u64, found.1, found.2)))
    }

    /// A trace's first and last frame (`None`: no such trace).
    pub fn trace_span(&self, trace: i64) -> Result<Option<(u64, u64)>> {
        let (lo, hi): (Option<i64>, Option<i64>) = self.conn.query_row("SELECT MIN(frame), MAX(frame) FROM detections WHERE trace = ?1", [trace], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(lo.zip(hi).map(|(a, b)| (a as u64, b as u64)))
    }

    /// A trace's best `n` detections by area × confidence (seed 002's first stage).
    pub fn top(&self, trace: i64, n: u64) -> Result<Vec<Row>> {
        let mut stmt = self.conn.prepare(&format!("SELECT {COLUMNS} FROM detections WHERE trace = ?1 ORDER BY quality DESC, frame LIMIT ?2"))?;
        let rows = stmt.query_map(params![trace, n as i64], row)?;
        rows.collect()
    }

    /// An identity: its name, detections and the trace with most of them.
    pub fn identity(&self, uuid: &str) -> Result<Option<(Option<String>, u64, i64)>> {
        self.conn
            .query_row(
                "SELECT MAX(name), COUNT(*), (SELECT trace FROM detections WHERE identity = ?1 GROUP BY trace ORDER BY COUNT(*) DESC, trace LIMIT 1)
                 FROM detections WHERE identity = ?1 HAVING COUNT(*) > 0",
                [uuid],
                |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get(2)?)),
            )
            .optional()
    }

    /// The first frame in `frames` where both identities appear, and on how many they do;
    /// `None` for an identity with itself (every frame it is on would intersect with itself).
    pub fn cooccurrence(&self, a: &str, b: &str, frames: Range<u64>) -> Result<Option<(u64, u64)>> {
        if a == b {
            return Ok(None);
        }
        let (first, count): (Option<i64>, i64) = self.conn.query_row(
            "SELECT MIN(frame), COUNT(*) FROM (SELECT DISTINCT frame FROM detections WHERE identity = ?1 AND frame >= ?3 AND frame < ?4
               INTERSECT SELECT DISTINCT frame FROM detections WHERE identity = ?2 AND frame >= ?3 AND frame < ?4)",
            params![a, b, lo(&frames), hi(&frames)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(first.map(|f| (f as u64, count as u64)))
    }

    /// The first frame in `frames` where traces of both identities look at each other.
    pub fn mutual_gaze(&self, a: &str, b: &str, frames: Range<u64>) -> Result<Option<u64>> {
        self.conn
            .query_row(
                "SELECT MIN(frame) FROM (SELECT DISTINCT frame FROM detections WHERE identity = ?1 AND mutual_gaze = 1 AND frame >= ?3 AND frame < ?4
                   INTERSECT SELECT DISTINCT frame FROM detections WHERE identity = ?2 AND mutual_gaze = 1 AND frame >= ?3 AND frame < ?4)",
                params![a, b, lo(&frames), hi(&frames)],
                |r| r.get::<_, Option<i64>>(0),
            )
            .map(|f| f.map(|f| f as u64))
    }

    /// The `n` identities with most detections in `frames`, most first.
    pub fn main_identities(&self, n: u64, frames: Range<u64>) -> Result<Vec<(String, Option<String>, u64)>> {
        let mut stmt = self.conn.prepare(
            "SELECT identity, MAX(name), COUNT(*) AS c FROM detections WHERE identity IS NOT NULL AND frame >= ?2 AND frame < ?3
             GROUP BY identity ORDER BY c DESC, identity LIMIT ?1",
        )?;
        let rows = stmt.query_map(params![n as i64, lo(&frames), hi(&frames)], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64)))?;
        rows.collect()
    }

    /// The best detection in `frames` by area × confidence: of `identity`, or of anyone
    /// with an identity when `None`.
    pub fn best(&self, identity: Option<&str>, frames: Range<u64>) -> Result<Option<Row>> {
        let sql = match identity {
            Some(_) => format!("SELECT {COLUMNS} FROM detections WHERE identity = ?1 AND frame >= ?2 AND frame < ?3 ORDER BY quality DESC, frame LIMIT 1"),
            None => format!("SELECT {COLUMNS} FROM detections WHERE identity IS NOT NULL AND ?1 IS NULL AND frame >= ?2 AND frame < ?3 ORDER BY quality DESC, frame LIMIT 1"),
        };
        self.conn.query_row(&sql, params![identity, lo(&frames), hi(&frames)], row).optional()
    }

    /// Every detection on one frame.
    pub fn at(&self, frame: u64) -> Result<Vec<Row>> {
        let mut stmt = self.conn.prepare(&format!("SELECT {COLUMNS} FROM detections WHERE frame = ?1 ORDER BY trace"))?;
        let rows = stmt.query_map([frame as i64], row)?;
        rows.collect()
    }
}
