//! Real sources and sinks for the analysis-task tests, all on loopback:
//! - [`square_video`]: a generated video of a white square moving across a black frame,
//!   whose position on every frame is known ([`square_x`]), so a test knows exactly when
//!   it enters and leaves an area;
//! - [`FileServer`]: an HTTP file server that answers byte ranges (as any CDN does), or
//!   not ([`FileServer::without_ranges`], as Python's `http.server`);
//! - [`Receiver`]: a webhook receiver that keeps every POST's path and body;
//! - [`RtspServer`]: GStreamer's RTSP server (`tests/servers/rtsp_server.py`, Debian's
//!   `python3-gi` and `gir1.2-gst-rtsp-server-1.0`) serving a file as a live stream.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The square video: 640×360, 25 fps, 300 frames (12 s), H.264 with a key frame every 25.
pub const SQUARE_FRAMES: u32 = 300;
pub const SQUARE_SIZE: u32 = 60;
/// The square's top edge on every frame.
pub const SQUARE_Y: u32 = 150;

/// The square's left edge on frame `n`: from x = 20 to 560 and back every 150 frames.
/// (FFmpeg's overlay evaluates its `n` one frame ahead of the output's frame numbers, so
/// frame `n` shows the expression at `n + 1`: checked against the decoded pixels.)
pub fn square_x(n: u32) -> f64 {
    let phase = ((n + 1) % 150) as f64 / 75.0 - 1.0;
    (20.0 + 540.0 * (1.0 - phase.abs())).round()
}

/// The generated square video (made once per target dir).
pub fn square_video() -> PathBuf {
    static GENERATING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = GENERATING.lock().unwrap_or_else(|e| e.into_inner());
    let path = crate::scratch_dir("generated-v1").join("square_640x360.mp4");
    if !path.exists() {
        let tmp = path.with_extension(format!("tmp{}.mp4", std::process::id()));
        let overlay = format!("[0][1]overlay=x='20+540*(1-abs(mod(n,150)/75-1))':y={SQUARE_Y}:eval=frame,format=yuv420p");
        let status = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i", "color=black:s=640x360:r=25:d=12"])
            .args(["-f", "lavfi", "-i", &format!("color=white:s={SQUARE_SIZE}x{SQUARE_SIZE}:r=25:d=12")])
            .args(["-filter_complex", &overlay, "-frames:v", &SQUARE_FRAMES.to_string()])
            .args(["-c:v", "libx264", "-preset", "veryfast", "-g", "25", "-bf", "0", "-movflags", "+faststart"])
            .arg(&tmp)
            .status()
            .expect("ffmpeg CLI must be installed (make test installs it)");
        assert!(status.success(), "generating the square video");
        std::fs::rename(&tmp, &path).expect("publish generated video");
    }
    path
}

fn read_request(stream: &mut TcpStream) -> Option<(String, String, Vec<(String, String)>, Vec<u8>)> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let length = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse::<usize>().ok()).unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((method, path, headers, body))
}

/// Serves the files of a directory over HTTP/1.1 with `Range` support (or without, as
/// Python's `http.server` does), one connection per request; stops with the process.
pub struct FileServer {
    pub addr: SocketAddr,
    requests: Arc<AtomicUsize>,
}

impl FileServer {
    pub fn start(dir: &Path) -> FileServer {
        FileServer::serve(dir, true)
    }

    /// A server that answers every GET with the whole file (200, no `Accept-Ranges`).
    pub fn without_ranges(dir: &Path) -> FileServer {
        FileServer::serve(dir, false)
    }

    fn serve(dir: &Path, ranges: bool) -> FileServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a file server");
        let addr = listener.local_addr().unwrap();
        let dir = dir.to_path_buf();
        let requests = Arc::new(AtomicUsize::new(0));
        let counted = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                counted.fetch_add(1, Ordering::Relaxed);
                let dir = dir.clone();
                std::thread::spawn(move || serve_file(stream, &dir, ranges));
            }
        });
        FileServer { addr, requests }
    }

    /// The connections (one request each) it has taken.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn url(&self, name: &str) -> String {
        format!("http://{}/{name}", self.addr)
    }
}

fn serve_file(mut stream: TcpStream, dir: &Path, ranges: bool) {
    let Some((_method, path, headers, _)) = read_request(&mut stream) else { return };
    let name = path.trim_start_matches('/');
    let Ok(bytes) = (!name.contains("..")).then(|| std::fs::read(dir.join(name))).unwrap_or(Err(std::io::ErrorKind::NotFound.into())) else {
        let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        return;
    };
    let total = bytes.len() as u64;
    let range = headers.iter().filter(|_| ranges).find(|(k, _)| k == "range").and_then(|(_, v)| {
        let (a, b) = v.strip_prefix("bytes=")?.split_once('-')?;
        let start: u64 = a.parse().ok()?;
        let end: u64 = if b.is_empty() { total - 1 } else { b.parse::<u64>().ok()?.min(total - 1) };
        (start <= end).then_some((start, end))
    });
    let head = match range {
        Some((s, e)) => format!("HTTP/1.1 206 Partial Content\r\ncontent-range: bytes {s}-{e}/{total}\r\ncontent-length: {}\r\ncontent-type: video/mp4\r\nconnection: close\r\n\r\n", e - s + 1),
        None if ranges => format!("HTTP/1.1 200 OK\r\ncontent-length: {total}\r\naccept-ranges: bytes\r\ncontent-type: video/mp4\r\nconnection: close\r\n\r\n"),
        None => format!("HTTP/1.1 200 OK\r\ncontent-length: {total}\r\ncontent-type: video/mp4\r\nconnection: close\r\n\r\n"),
    };
    let (s, e) = range.unwrap_or((0, total.saturating_sub(1)));
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&bytes[s as usize..=e as usize]);
}

/// One POST a [`Receiver`] kept.
type Kept = (String, Option<String>, Vec<u8>);

/// A webhook receiver: every POST's path, `Idempotency-Key` and body kept; answers `status`
/// (200 by default).
pub struct Receiver {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Kept>>>,
    status: Arc<Mutex<u16>>,
}

impl Receiver {
    pub fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a receiver");
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(Mutex::new(200u16));
        let (r, s) = (received.clone(), status.clone());
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let (r, s) = (r.clone(), s.clone());
                std::thread::spawn(move || {
                    // Keep-alive: answer requests on the connection until it closes.
                    while let Some((_m, path, headers, body)) = read_request(&mut stream) {
                        let code = *s.lock().unwrap();
                        if code < 300 {
                            let key = headers.iter().find(|(k, _)| k == "idempotency-key").map(|(_, v)| v.clone());
                            r.lock().unwrap().push((path, key, body));
                        }
                        let reply = format!("HTTP/1.1 {code} X\r\ncontent-length: 2\r\ncontent-type: application/json\r\n\r\n{{}}");
                        if stream.write_all(reply.as_bytes()).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        Receiver { addr, received, status }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The POSTs received so far: path and JSON body.
    pub fn received(&self) -> Vec<(String, serde_json::Value)> {
        self.received.lock().unwrap().iter().map(|(p, _, b)| (p.clone(), serde_json::from_slice(b).unwrap_or(serde_json::Value::Null))).collect()
    }

    /// The POSTs received so far, one per `Idempotency-Key` (a copy sent again is dropped,
    /// as a receiver would; it must equal the first), and how many copies there were.
    pub fn received_once(&self) -> (Vec<(String, serde_json::Value)>, usize) {
        let all = self.received.lock().unwrap().clone();
        let mut seen: std::collections::HashMap<String, Vec<u8>> = std::collections::HashMap::new();
        let (mut once, mut copies) = (Vec::new(), 0);
        for (path, key, body) in all {
            match key.as_ref().and_then(|k| seen.get(k)) {
                Some(first) => {
                    assert_eq!(first, &body, "a report sent again under key {key:?} differs from the first");
                    copies += 1;
                }
                None => {
                    if let Some(k) = key {
                        seen.insert(k, body.clone());
                    }
                    once.push((path, serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null)));
                }
            }
        }
        (once, copies)
    }

    /// What to answer from now on (500: refuse, nothing is kept).
    pub fn answer(&self, status: u16) {
        *self.status.lock().unwrap() = status;
    }
}

/// GStreamer's RTSP server serving a file at `rtsp://127.0.0.1:PORT/stream`; killed when
/// dropped.
pub struct RtspServer {
    child: Child,
    pub port: u16,
}

impl RtspServer {
    /// `None` (the test should SKIP, and say so) when Debian's python3-gi and
    /// gir1.2-gst-rtsp-server-1.0 are not installed (`scripts/setup.sh` installs them).
    pub fn start(file: &Path) -> Option<RtspServer> {
        let script = crate::workspace_root().join("tests/servers/rtsp_server.py");
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").ok()?;
            l.local_addr().ok()?.port()
        };
        let mut child = Command::new("/usr/bin/python3")
            .arg(&script)
            .arg(port.to_string())
            .arg(file)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take()?).read_line(&mut line).ok()?;
        if line.trim() != "ready" {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        // The listener is up once the port accepts.
        for _ in 0..50 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(RtspServer { child, port });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }

    pub fn url(&self) -> String {
        format!("rtsp://127.0.0.1:{}/stream", self.port)
    }
}

impl Drop for RtspServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
