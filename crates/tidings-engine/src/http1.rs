//! The sans-IO half of [`serve`](crate::serve)'s own HTTP/1.1 path: it reads the plain
//! requests long-polling is made of (a GET, or a POST with a small body of known length)
//! and writes the heads of their answers. Everything else (upgrades, chunked bodies,
//! `Expect`, HTTP/1.0, other methods, anything malformed) is handed to hyper with the
//! bytes already read, so the unusual cases keep hyper's full handling.

use std::fmt::Write as _;
use std::ops::Range;
use std::time::SystemTime;

use bytes::{BufMut, Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, StatusCode, Uri, Version};

/// The most headers a request on the own path may have; more go to hyper (which takes 100).
const MAX_HEADERS: usize = 32;

/// The largest body the own path reads whole before answering. A long-polling POST is a
/// few bytes to a few KB; larger bodies go to hyper, which streams them to the service
/// and its size limit.
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// What the bytes read so far hold.
// The head lives on the stack for one request; boxing it would allocate for each.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// Not yet a whole head.
    Partial,
    /// A request for hyper.
    Handoff,
    /// A request for the own path.
    Request(Head),
}

/// Where the pieces of a request head lie in the buffer it was read into.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Head {
    /// The length of the head, its empty last line included.
    pub(crate) len: usize,
    /// The length of the body that follows the head.
    pub(crate) body_len: usize,
    /// The client asked to close the connection after this answer.
    pub(crate) close: bool,
    post: bool,
    target: Span,
    /// Each header's name and value, the first `header_count` of them.
    headers: [(Span, Span); MAX_HEADERS],
    header_count: usize,
}

/// Where a piece of a head lies in its buffer: a small `Range` that is `Copy` (a head is
/// far shorter than 4 GB).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
}

impl Span {
    /// Where `part`, a slice of `buf`, lies in it.
    fn of(buf: &[u8], part: &[u8]) -> Self {
        let start = part.as_ptr() as usize - buf.as_ptr() as usize;
        let clamp = |offset: usize| u32::try_from(offset).unwrap_or(u32::MAX);
        Self {
            start: clamp(start),
            end: clamp(start + part.len()),
        }
    }

    fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// Reads the head at the start of `buf`, if it is whole.
pub(crate) fn parse(buf: &[u8]) -> Parsed {
    if buf.is_empty() {
        return Parsed::Partial;
    }
    if wants_websocket(buf) {
        // A WebSocket upgrade, told from its request line alone: parsing its head twice,
        // here and in hyper, would cost every WebSocket connection ~1 µs.
        return Parsed::Handoff;
    }
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut slots);
    let len = match request.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        // Malformed, or too many headers: hyper gives malformed requests their 400.
        Err(_) => return Parsed::Handoff,
    };
    let post = match request.method {
        Some("GET") => false,
        Some("POST") => true,
        _ => return Parsed::Handoff,
    };
    let (Some(1), Some(path)) = (request.version, request.path) else {
        return Parsed::Handoff;
    };
    if len > u32::MAX as usize {
        return Parsed::Handoff;
    }
    if !path.starts_with('/') {
        return Parsed::Handoff;
    }
    let mut body_len = None;
    let mut close = false;
    let mut headers = [(Span::default(), Span::default()); MAX_HEADERS];
    for (header, spans) in request.headers.iter().zip(&mut headers) {
        let name = header.name.as_bytes();
        if name.eq_ignore_ascii_case(b"content-length") {
            match (body_len, content_length(header.value)) {
                (None, Some(len)) => body_len = Some(len),
                _ => return Parsed::Handoff,
            }
        } else if name.eq_ignore_ascii_case(b"connection") {
            if has_token(header.value, b"upgrade") {
                return Parsed::Handoff;
            }
            close |= has_token(header.value, b"close");
        } else if name.eq_ignore_ascii_case(b"transfer-encoding")
            || name.eq_ignore_ascii_case(b"upgrade")
            || name.eq_ignore_ascii_case(b"expect")
        {
            return Parsed::Handoff;
        }
        *spans = (Span::of(buf, name), Span::of(buf, header.value));
    }
    let body_len = body_len.unwrap_or(0);
    if body_len > MAX_BODY || (!post && body_len > 0) {
        return Parsed::Handoff;
    }
    Parsed::Request(Head {
        len,
        body_len,
        close,
        post,
        target: Span::of(buf, path.as_bytes()),
        headers,
        header_count: request.headers.len(),
    })
}

/// Whether the bytes from `from` on may end a head (an empty line, CRLF or bare LF, as
/// `httparse` takes both). A head that trickles in is parsed again only when this says
/// so, not on every read: a client sending a long head a byte at a time would otherwise
/// make each read rescan everything before it.
pub(crate) fn head_may_end(buf: &[u8], from: usize) -> bool {
    // Back up two bytes: the end may straddle the previous read.
    let start = from.saturating_sub(2).min(buf.len());
    memchr::memchr_iter(b'\n', &buf[start..]).any(|at| {
        let after = &buf[start + at + 1..];
        after.starts_with(b"\n") || after.starts_with(b"\r\n")
    })
}

/// Whether the request line at the start of `buf` asks for the WebSocket transport.
fn wants_websocket(buf: &[u8]) -> bool {
    let line = memchr::memchr(b'\n', buf).map_or(buf, |end| &buf[..end]);
    // A query has few `=`: looking around each is cheaper than building a substring
    // searcher for every request.
    memchr::memchr_iter(b'=', line).any(|equals| {
        line[..equals].ends_with(b"transport") && line[equals + 1..].starts_with(b"websocket")
    })
}

/// A `Content-Length` value: digits only, as RFC 9110 has it; anything else is hyper's.
fn content_length(value: &[u8]) -> Option<usize> {
    if value.is_empty() || value.len() > 12 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

/// Whether a comma-separated header value holds `token`, in any case.
pub(crate) fn has_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|&byte| byte == b',')
        .any(|part| part.trim_ascii().eq_ignore_ascii_case(token))
}

/// The request `head` describes, its header values sharing `bytes` (the head) and its
/// body `body`. `None` when the target or a header is not valid for `http` (hyper's
/// parser would have refused it too; the caller answers 400).
pub(crate) fn request<B>(head: &Head, bytes: &Bytes, body: B) -> Option<Request<B>> {
    if bytes.len() < head.len {
        return None;
    }
    let mut request = Request::new(body);
    if head.post {
        *request.method_mut() = Method::POST;
    }
    *request.version_mut() = Version::HTTP_11;
    *request.uri_mut() = Uri::from_maybe_shared(bytes.slice(head.target.range())).ok()?;
    let headers = request.headers_mut();
    let spans = &head.headers[..head.header_count];
    headers.reserve(spans.len());
    for (name, value) in spans {
        let name = HeaderName::from_bytes(bytes.get(name.range())?).ok()?;
        let value = HeaderValue::from_maybe_shared(bytes.slice(value.range())).ok()?;
        headers.append(name, value);
    }
    Some(request)
}

/// How an answer's body is framed on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body at all (`1xx`, `204`, `304`).
    Empty,
    /// `Content-Length`.
    Length(u64),
    /// `Transfer-Encoding: chunked`, for a body of unknown length.
    Chunked,
}

impl Framing {
    /// How a body with `exact` length (when known) is framed in an answer of `status`.
    pub(crate) fn of(status: StatusCode, exact: Option<u64>) -> Self {
        if status.is_informational()
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED
        {
            Self::Empty
        } else {
            exact.map_or(Self::Chunked, Self::Length)
        }
    }
}

/// Writes the head of an answer: status line, the service's headers (its own framing
/// headers left out), `Date` unless it has one, the framing and `Connection: close`.
pub(crate) fn write_head(
    out: &mut BytesMut,
    status: StatusCode,
    headers: &HeaderMap,
    framing: Framing,
    close: bool,
    date: &[u8],
) {
    out.reserve(128 + headers.len() * 48);
    out.put_slice(b"HTTP/1.1 ");
    out.put_slice(status.as_str().as_bytes());
    out.put_u8(b' ');
    out.put_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.put_slice(b"\r\n");
    for (name, value) in headers {
        if name == header::CONTENT_LENGTH || name == header::TRANSFER_ENCODING {
            continue;
        }
        put_header(out, name.as_str().as_bytes(), value.as_bytes());
    }
    if !headers.contains_key(header::DATE) {
        put_header(out, b"date", date);
    }
    match framing {
        Framing::Empty => {}
        Framing::Length(len) => {
            // `BytesMut` takes formatted text without an allocation of its own.
            let _ = write!(out, "content-length: {len}\r\n");
        }
        Framing::Chunked => put_header(out, b"transfer-encoding", b"chunked"),
    }
    if close {
        put_header(out, b"connection", b"close");
    }
    out.put_slice(b"\r\n");
}

fn put_header(out: &mut BytesMut, name: &[u8], value: &[u8]) {
    out.put_slice(name);
    out.put_slice(b": ");
    out.put_slice(value);
    out.put_slice(b"\r\n");
}

/// Writes one chunk of a chunked body; an empty `data` writes nothing (it would end it).
pub(crate) fn write_chunk(out: &mut BytesMut, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let _ = write!(out, "{:x}\r\n", data.len());
    out.put_slice(data);
    out.put_slice(b"\r\n");
}

/// The end of a chunked body.
pub(crate) const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// The `Date` header's value, formatted once a second per thread.
pub(crate) fn date_now<R>(with: impl FnOnce(&[u8]) -> R) -> R {
    use std::cell::RefCell;
    thread_local! {
        static CACHED: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let now = SystemTime::now();
    let second = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    CACHED.with(|cached| {
        let mut cached = cached.borrow_mut();
        if cached.0 != second {
            *cached = (second, httpdate::fmt_http_date(now));
        }
        with(cached.1.as_bytes())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head_of(bytes: &[u8]) -> Head {
        match parse(bytes) {
            Parsed::Request(head) => head,
            other => panic!("not a request for the own path: {other:?}"),
        }
    }

    #[test]
    fn a_polling_get_is_read_with_its_headers() {
        let bytes = b"GET /socket.io/?EIO=4&transport=polling&sid=abc HTTP/1.1\r\nHost: x\r\nCookie: a=b\r\n\r\nnext";
        let head = head_of(bytes);
        assert_eq!(head.len, bytes.len() - 4);
        assert_eq!(head.body_len, 0);
        assert!(!head.close);
        let shared = Bytes::copy_from_slice(&bytes[..head.len]);
        let request = request(&head, &shared, ()).unwrap();
        assert_eq!(request.method(), Method::GET);
        assert_eq!(request.version(), Version::HTTP_11);
        assert_eq!(request.uri().path(), "/socket.io/");
        assert_eq!(
            request.uri().query(),
            Some("EIO=4&transport=polling&sid=abc")
        );
        assert_eq!(request.headers().len(), 2);
        assert_eq!(request.headers()["host"], "x");
        assert_eq!(request.headers()[header::COOKIE], "a=b");
    }

    #[test]
    fn a_post_is_read_with_the_length_of_its_body() {
        let head = head_of(b"POST /e/?sid=1 HTTP/1.1\r\ncontent-length: 5\r\n\r\n4hello");
        assert_eq!(head.len, 46);
        assert_eq!(head.body_len, 5);
    }

    #[test]
    fn a_request_builds_from_the_bytes_it_was_parsed_from() {
        let bytes = b"POST /e/?sid=1 HTTP/1.1\r\nContent-Length: 5\r\nConnection: keep-alive, Close\r\n\r\n";
        let head = head_of(bytes);
        assert!(head.close);
        let request = request(&head, &Bytes::from_static(bytes), "body").unwrap();
        assert_eq!(request.method(), Method::POST);
        assert_eq!(request.headers()[header::CONTENT_LENGTH], "5");
        assert_eq!(*request.body(), "body");
    }

    #[test]
    fn only_the_request_line_names_the_transport() {
        let bytes = b"GET /?transport=polling HTTP/1.1\r\nx-note: transport=websocket\r\n\r\n";
        assert!(matches!(parse(bytes), Parsed::Request(_)));
        assert!(wants_websocket(
            b"GET /?a=b&transport=websocket&c=d HTTP/1.1\r\n"
        ));
        assert!(!wants_websocket(
            b"GET /?transport=polling&websocket=1 HTTP/1.1\r\n"
        ));
        assert!(!wants_websocket(b"GET /transport/websocket HTTP/1.1\r\n"));
    }

    #[test]
    fn a_head_may_end_only_where_an_empty_line_is() {
        let head = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        assert!(head_may_end(head, 0));
        assert!(!head_may_end(&head[..head.len() - 1], 0));
        assert!(!head_may_end(&head[..head.len() - 2], 0));
        // The head split over two reads, at every point: not after the first read,
        // found after the second from where it began.
        for split in 1..head.len() {
            assert!(!head_may_end(&head[..split], 0), "split at {split}");
            assert!(head_may_end(head, split), "split at {split}");
        }
        assert!(head_may_end(b"GET / HTTP/1.1\n\n", 15));
        assert!(!head_may_end(b"GET / HTTP/1.1\r\nA: b\r\n", 0));
        assert!(!head_may_end(b"", 0));
        assert!(!head_may_end(b"ab", 10));
    }

    #[test]
    fn partial_heads_wait_for_more() {
        assert_eq!(parse(b""), Parsed::Partial);
        assert_eq!(parse(b"GET / HTTP/1.1\r\nHost: x\r\n"), Parsed::Partial);
        assert_eq!(parse(b"POS"), Parsed::Partial);
    }

    #[test]
    fn everything_but_plain_gets_and_small_posts_goes_to_hyper() {
        for bytes in [
            &b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"[..],
            b"GET /?transport=websocket",
            b"GET /?EIO=4&transport=websocket&sid=x",
            b"HEAD / HTTP/1.1\r\n\r\n",
            b"PUT / HTTP/1.1\r\n\r\n",
            b"OPTIONS / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.0\r\n\r\n",
            b"GET http://x/ HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
            b"GET / HTTP/1.1\r\nConnection: Upgrade\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 65537\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: 1\r\n\r\nx",
            b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
            b"\x16\x03\x01 not http\r\n\r\n",
        ] {
            assert_eq!(parse(bytes), Parsed::Handoff, "{}", bytes.escape_ascii());
        }
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for index in 0..=MAX_HEADERS {
            many.extend_from_slice(format!("x-{index}: y\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(parse(&many), Parsed::Handoff);
    }

    #[test]
    fn a_post_of_the_largest_own_body_stays() {
        let head = head_of(b"POST / HTTP/1.1\r\ncontent-length: 65536\r\n\r\n");
        assert_eq!(head.body_len, MAX_BODY);
        assert_eq!(head_of(b"POST / HTTP/1.1\r\n\r\n").body_len, 0);
    }

    #[test]
    fn a_head_http_refuses_gives_no_request() {
        // httparse refuses a DEL in a value itself, so the head is parsed from clean
        // bytes of the same layout to reach the check behind it.
        let clean = Bytes::from_static(b"GET / HTTP/1.1\r\nx: aab\r\n\r\n");
        let head = head_of(&clean);
        assert_eq!(head.headers[0].1, Span { start: 19, end: 22 });
        assert!(request(&head, &clean, ()).is_some());
        let dirty = Bytes::from_static(b"GET / HTTP/1.1\r\nx: a\x7fb\r\n\r\n");
        assert!(request(&head, &dirty, ()).is_none());
        assert!(
            request(&head, &clean.slice(..10), ()).is_none(),
            "a head longer than its bytes"
        );
    }

    #[test]
    fn answer_heads_are_written_to_the_byte() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("99"));
        let mut out = BytesMut::new();
        let date = b"Fri, 27 Nov 2026 00:00:00 GMT";
        write_head(
            &mut out,
            StatusCode::OK,
            &headers,
            Framing::Length(2),
            false,
            date,
        );
        assert_eq!(
            &out[..],
            b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ndate: Fri, 27 Nov 2026 00:00:00 GMT\r\ncontent-length: 2\r\n\r\n"
        );

        out.clear();
        headers.clear();
        headers.insert(header::DATE, HeaderValue::from_static("then"));
        write_head(
            &mut out,
            StatusCode::BAD_REQUEST,
            &headers,
            Framing::Chunked,
            true,
            date,
        );
        assert_eq!(
            &out[..],
            b"HTTP/1.1 400 Bad Request\r\ndate: then\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
        );

        out.clear();
        write_head(
            &mut out,
            StatusCode::from_u16(599).unwrap(),
            &HeaderMap::new(),
            Framing::Empty,
            false,
            b"d",
        );
        assert_eq!(&out[..], b"HTTP/1.1 599 \r\ndate: d\r\n\r\n");
    }

    #[test]
    fn framing_follows_the_status_and_the_known_length() {
        assert_eq!(Framing::of(StatusCode::OK, Some(0)), Framing::Length(0));
        assert_eq!(Framing::of(StatusCode::OK, None), Framing::Chunked);
        assert_eq!(Framing::of(StatusCode::NO_CONTENT, Some(0)), Framing::Empty);
        assert_eq!(Framing::of(StatusCode::NOT_MODIFIED, None), Framing::Empty);
        assert_eq!(Framing::of(StatusCode::CONTINUE, Some(3)), Framing::Empty);
    }

    #[test]
    fn chunks_are_framed_in_hex_and_empty_ones_skipped() {
        let mut out = BytesMut::new();
        write_chunk(&mut out, &[b'a'; 26]);
        write_chunk(&mut out, b"");
        write_chunk(&mut out, b"z");
        out.put_slice(LAST_CHUNK);
        let mut expected = b"1a\r\n".to_vec();
        expected.extend_from_slice(&[b'a'; 26]);
        expected.extend_from_slice(b"\r\n1\r\nz\r\n0\r\n\r\n");
        assert_eq!(&out[..], &expected[..]);
    }

    #[test]
    fn the_date_is_an_http_date() {
        let date = date_now(|date| String::from_utf8(date.to_vec()).unwrap());
        assert_eq!(date.len(), 29, "{date}");
        assert!(date.ends_with(" GMT"), "{date}");
        assert!(httpdate::parse_http_date(&date).is_ok());
    }

    proptest::proptest! {
        /// Any bytes: no panic, and a request for the own path lies inside them and
        /// builds (or is refused) from them.
        #[test]
        fn any_bytes_parse_without_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            crate::fuzz_support::http_head(&bytes);
        }

        /// Heads that look like requests, with odd methods, targets and headers.
        #[test]
        fn request_like_heads_parse_without_panic(
            method in "(GET|POST|HEAD|PUT|get)",
            target in "/[ -~]{0,30}",
            headers in proptest::collection::vec(("[!-9;-~]{1,12}", "[ -~\t]{0,20}"), 0..40),
            body in "[ -~]{0,20}",
        ) {
            let mut bytes = format!("{method} {target} HTTP/1.1\r\n");
            for (name, value) in &headers {
                bytes.push_str(&format!("{name}: {value}\r\n"));
            }
            bytes.push_str("\r\n");
            bytes.push_str(&body);
            crate::fuzz_support::http_head(bytes.as_bytes());
        }
    }
}
