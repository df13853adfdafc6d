//! Request parsing and response writing shared by every route: query strings, errors as
//! RFC 9457 problem details (`application/problem+json`: `type`, `title`, `status`,
//! `detail`, `code`, `param`, and the earlier `error: {code, message}`), and sending a body
//! through the outparam.

use futures::SinkExt;
use spin_sdk::http::{Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam};

use crate::bindings::frameflow::media::video::{Encoded, Rendition};

/// A request header as text, when present and UTF-8.
pub fn header(req: &IncomingRequest, name: &str) -> Option<String> {
    req.headers().get(&name.to_string()).into_iter().next().and_then(|v| String::from_utf8(v).ok())
}

/// What every route looks at first, read once for all components: the method (`HEAD` is
/// answered as `GET`; the server drops the body), the path, the raw query string and
/// `If-None-Match`.
pub struct RequestLine {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub if_none_match: Option<String>,
}

impl RequestLine {
    pub fn of(req: &IncomingRequest) -> RequestLine {
        let path_and_query = req.path_with_query().unwrap_or_default();
        let (path, query) = path_and_query.split_once('?').unwrap_or((&path_and_query, ""));
        let method = match req.method() {
            Method::Head => Method::Get,
            m => m,
        };
        RequestLine { method, path: path.to_string(), query: query.to_string(), if_none_match: header(req, "if-none-match") }
    }

    /// The path's `/`-separated segments (`/v1/videos/x` → `["v1", "videos", "x"]`).
    pub fn segments(&self) -> Vec<&str> {
        self.path.trim_start_matches('/').split('/').collect()
    }
}

/// An error response: HTTP status, stable code, message for people, and the query
/// parameter at fault when there is one. Sent as RFC 9457 problem details, the same shape
/// the host writes (`frameflow-server`'s `problem.rs`).
#[derive(Debug)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub param: Option<String>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), param: None }
    }
    /// A 400 about query parameter `param`.
    pub fn bad_param(param: &str, message: impl Into<String>) -> ApiError {
        ApiError { param: Some(param.to_string()), ..ApiError::bad_request(message) }
    }
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "bad_request", message)
    }
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(404, "not_found", message)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Bytes the host sends to the response body itself, without passing them through this
/// component.
pub enum Held {
    /// An encoded image or flow the host holds.
    Encoded(Encoded),
    /// Bytes `[start, start + length)` of a stored object, read as the client takes them.
    Object { key: String, start: u64, length: u64 },
    /// Media the host encodes (or copies) while the client reads: no length known before.
    Rendition(Rendition),
}

impl Held {
    fn size(&self) -> Option<u64> {
        match self {
            Held::Encoded(e) => Some(e.size()),
            Held::Object { length, .. } => Some(*length),
            Held::Rendition(_) => None,
        }
    }
}

/// A response to send: status, headers, body — or bytes the host holds (`held`), which
/// go to the response body from the host without passing through this component.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub held: Option<Held>,
}

impl Reply {
    pub fn json(status: u16, value: &serde_json::Value) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(value).expect("JSON values serialize"),
            held: None,
        }
    }

    /// An immutable, cacheable body (a frame, a flow image): a strong ETag over its bytes
    /// (the same request always encodes the same bytes), a day of caching, and 304 when the
    /// client's `If-None-Match` already names it.
    pub fn cacheable(body: Vec<u8>, content_type: &str, headers: Vec<(String, String)>, if_none_match: Option<&str>) -> Reply {
        let etag = format!("\"{:016x}\"", fnv64(&[&body]));
        Reply::validated(etag, content_type, headers, if_none_match, body, None)
    }

    /// The strong ETag of a response derived from a video (a frame, a batch, a thumbnail):
    /// the video's `content-tag` (its bytes and this host's decoders) with the route and the
    /// query that decide the response's bytes. Known before anything is decoded.
    pub fn derived_etag(content_tag: &str, route: &str, query: &Query) -> String {
        format!("\"{:016x}\"", fnv64(&[content_tag.as_bytes(), route.as_bytes(), query.canonical().as_bytes()]))
    }

    /// 304 for a client whose `If-None-Match` already names `etag`, asked before the work
    /// that would make the body (a decode). `*` is left to that work: it matches only a
    /// representation that exists, which a frame out of range is not.
    pub fn not_modified(etag: &str, if_none_match: Option<&str>) -> Option<Reply> {
        if_none_match.filter(|tags| names(tags, etag)).map(|_| Reply { status: 304, headers: validators(etag), body: vec![], held: None })
    }

    /// [`Reply::cacheable`] for bytes the host holds, under the ETag `etag` the caller made
    /// ([`Reply::derived_etag`]); the bytes go from the host to the response body when sent.
    pub fn cacheable_held(etag: String, encoded: Encoded, content_type: &str, headers: Vec<(String, String)>, if_none_match: Option<&str>) -> Reply {
        Reply::validated(etag, content_type, headers, if_none_match, vec![], Some(Held::Encoded(encoded)))
    }

    fn validated(
        etag: String,
        content_type: &str,
        mut headers: Vec<(String, String)>,
        if_none_match: Option<&str>,
        body: Vec<u8>,
        held: Option<Held>,
    ) -> Reply {
        headers.extend(validators(&etag));
        if if_none_match.is_some_and(|tags| client_has(tags, &etag)) {
            return Reply { status: 304, headers, body: vec![], held: None };
        }
        headers.push(("content-type".into(), content_type.into()));
        Reply { status: 200, headers, body, held }
    }

    pub fn empty(status: u16) -> Reply {
        Reply { status, headers: vec![], body: vec![], held: None }
    }
}

/// The headers that validate and cache an immutable response.
fn validators(etag: &str) -> Vec<(String, String)> {
    vec![("etag".into(), etag.to_string()), ("cache-control".into(), "public, max-age=86400".into())]
}

/// Whether an `If-None-Match` list names `etag` (weak comparison, as RFC 9110 asks of it).
fn names(tags: &str, etag: &str) -> bool {
    tags.split(',').any(|t| t.trim().trim_start_matches("W/") == etag)
}

/// Whether a client sending `If-None-Match: tags` already has the existing representation
/// tagged `etag` (304): `*`, or the tag named, weakly (`W/"…"` matches `"…"`).
pub fn client_has(tags: &str, etag: &str) -> bool {
    tags.split(',').any(|t| t.trim() == "*") || names(tags, etag)
}

/// The reason phrase of the statuses the API answers with.
fn title(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

impl From<ApiError> for Reply {
    fn from(e: ApiError) -> Reply {
        let mut body = serde_json::json!({
            "type": "about:blank",
            "title": title(e.status),
            "status": e.status,
            "detail": e.message,
            "code": e.code,
            // What clients of the first API read; kept beside the RFC's members.
            "error": {"code": e.code, "message": e.message},
        });
        if let Some(param) = e.param {
            body["param"] = param.into();
        }
        let mut reply = Reply::json(e.status, &body);
        reply.headers = vec![("content-type".into(), "application/problem+json".into())];
        reply
    }
}

/// Writes `reply` through the outparam in chunks the host accepts.
pub async fn send(out: ResponseOutparam, reply: Reply) {
    let length = match &reply.held {
        Some(held) => held.size(),
        None => Some(reply.body.len() as u64),
    };
    let mut fields: Vec<(String, Vec<u8>)> = reply.headers.into_iter().map(|(k, v)| (k, v.into_bytes())).collect();
    if let Some(length) = length {
        fields.push(("content-length".into(), length.to_string().into_bytes()));
    }
    let headers = Fields::from_list(&fields).unwrap_or_else(|_| Fields::new());
    let response = OutgoingResponse::new(headers);
    let _ = response.set_status_code(reply.status);
    if let Some(held) = reply.held {
        let Ok(body) = response.body() else { return };
        let Ok(stream) = body.write() else { return };
        out.set(response);
        // The host writes the bytes; a client that went away is nothing more to do.
        match held {
            Held::Encoded(encoded) => {
                let _ = encoded.write_to(&stream);
            }
            Held::Object { key, start, length } => {
                let _ = crate::bindings::frameflow::store::objects::copy_range_to(&key, start, length, &stream);
            }
            Held::Rendition(rendition) => {
                if rendition.write_to(&stream).is_err() {
                    // Too late for a status: the body is dropped unfinished, so the client
                    // sees a broken response, never a short one that looks whole.
                    drop(stream);
                    drop(body);
                    return;
                }
            }
        }
        drop(stream);
        let _ = OutgoingBody::finish(body, None);
        return;
    }
    let mut body = response.take_body();
    out.set(response);
    for chunk in reply.body.chunks(1 << 20) {
        if body.send(chunk.to_vec()).await.is_err() {
            // The client went away; nothing more to do.
            return;
        }
    }
    let _ = body.close().await;
}

/// Query parameters, percent-decoded, in order.
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(query: &str) -> ApiResult<Query> {
        let mut pairs = Vec::new();
        for part in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            pairs.push((percent_decode(k)?, percent_decode(v)?));
        }
        Ok(Query(pairs))
    }

    /// Refuses parameters the route does not know (a misspelt `indx=5` must not quietly
    /// serve frame 0): 400 naming the parameter and listing the accepted ones.
    pub fn accept(&self, accepted: &[&str]) -> ApiResult<()> {
        match self.0.iter().find(|(k, _)| !accepted.contains(&k.as_str())) {
            None => Ok(()),
            Some((k, _)) if accepted.is_empty() => Err(ApiError::bad_param(k, format!("unknown query parameter '{k}': this route takes none"))),
            Some((k, _)) => Err(ApiError::bad_param(k, format!("unknown query parameter '{k}': this route accepts {}", accepted.join(", ")))),
        }
    }

    /// The parameters by name (a repeated name keeps its values' order), one string: the
    /// same for the same request however a client ordered it.
    pub fn canonical(&self) -> String {
        let mut pairs: Vec<&(String, String)> = self.0.iter().collect();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs.iter().map(|(k, v)| format!("{k}\u{1}{v}")).collect::<Vec<_>>().join("\u{0}")
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A number parameter within `range`, with an error naming the parameter.
    pub fn number<T>(&self, name: &str, range: std::ops::RangeInclusive<T>) -> ApiResult<Option<T>>
    where
        T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let Some(raw) = self.get(name) else { return Ok(None) };
        let value: T = raw
            .parse()
            .map_err(|_| ApiError::bad_param(name, format!("'{name}' must be a number, got '{raw}'")))?;
        if !range.contains(&value) {
            return Err(ApiError::bad_param(name, format!(
                "'{name}' must be between {} and {}, got {raw}",
                range.start(),
                range.end()
            )));
        }
        Ok(Some(value))
    }
}

/// Decodes `%XX` escapes and `+`; malformed escapes and non-UTF-8 results are errors.
pub fn percent_decode(s: &str) -> ApiResult<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                let byte = hex
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| ApiError::bad_request(format!("malformed percent-escape in '{s}'")))?;
                out.push(byte);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| ApiError::bad_request(format!("'{s}' is not UTF-8 once decoded")))
}

/// FNV-1a, 64 bits: ids derived from keys and ETags derived from bytes.
pub fn fnv64(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for part in parts {
        for &b in part.iter() {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
        // Separate parts so ("ab","c") and ("a","bc") differ.
        h ^= 0xff;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_queries() {
        let q = Query::parse("a=1&b=x%2Fy+z&c").unwrap();
        assert_eq!(q.get("a"), Some("1"));
        assert_eq!(q.get("b"), Some("x/y z"));
        assert_eq!(q.get("c"), Some(""));
        assert!(percent_decode("%zz").is_err());
        assert!(percent_decode("%2").is_err());
        assert_eq!(q.number::<u32>("a", 0..=5).unwrap(), Some(1));
        assert!(q.number::<u32>("a", 2..=5).is_err());
        assert_ne!(fnv64(&[b"ab", b"c"]), fnv64(&[b"a", b"bc"]));
    }

    #[test]
    fn derived_etags_follow_the_content_the_route_and_the_parameters_not_their_order() {
        let q = |s: &str| Query::parse(s).unwrap();
        let tag = Reply::derived_etag("0123456789abcdef", "frame", &q("index=5&format=png"));
        assert_eq!(tag, Reply::derived_etag("0123456789abcdef", "frame", &q("format=png&index=5")));
        assert_ne!(tag, Reply::derived_etag("0123456789abcdee", "frame", &q("index=5&format=png")), "replaced video");
        assert_ne!(tag, Reply::derived_etag("0123456789abcdef", "thumbnail", &q("index=5&format=png")), "other route");
        assert_ne!(tag, Reply::derived_etag("0123456789abcdef", "frame", &q("index=6&format=png")), "other frame");
        // A repeated name keeps its order (the first value is the one a route reads).
        assert_ne!(q("a=1&a=2").canonical(), q("a=2&a=1").canonical());
        assert!(tag.starts_with('"') && tag.ends_with('"') && tag.len() == 18);
    }

    #[test]
    fn not_modified_answers_only_a_client_that_names_the_tag() {
        let etag = "\"00000000000000aa\"";
        let unchanged = Reply::not_modified(etag, Some("\"x\", W/\"00000000000000aa\"")).expect("named (weakly)");
        assert_eq!(unchanged.status, 304);
        assert!(unchanged.headers.contains(&("etag".to_string(), etag.to_string())));
        assert!(unchanged.body.is_empty() && unchanged.held.is_none());
        assert!(Reply::not_modified(etag, Some("\"00000000000000ab\"")).is_none());
        assert!(Reply::not_modified(etag, None).is_none());
        // `*` is for the work that makes the body to decide (it matches an existing representation only).
        assert!(Reply::not_modified(etag, Some("*")).is_none());
        // What a route whose representation exists asks.
        assert!(client_has("W/\"00000000000000aa\"", etag) && client_has("\"x\", *", etag));
        assert!(!client_has("W/\"00000000000000ab\"", etag));
    }
}

/// Most bytes a JSON request body may have.
pub const MAX_JSON_BODY: usize = 1 << 20;

/// A JSON request body, read whole: at most [`MAX_JSON_BODY`] bytes (413 beyond, without
/// reading the rest).
pub async fn read_json_body(req: spin_sdk::http::IncomingRequest) -> ApiResult<Vec<u8>> {
    read_body(req, MAX_JSON_BODY, "JSON bodies").await
}

/// The whole request body, refused with 413 (naming `what`) past `limit` bytes.
pub async fn read_body(req: spin_sdk::http::IncomingRequest, limit: usize, what: &str) -> ApiResult<Vec<u8>> {
    use futures::StreamExt;
    let mut stream = req.into_body_stream();
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("reading the request body: {e:?}")))?;
        body.extend_from_slice(&chunk);
        if body.len() > limit {
            return Err(ApiError::new(413, "too_large", format!("{what} are limited to {limit} bytes")));
        }
    }
    Ok(body)
}
