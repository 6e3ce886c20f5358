//! A minimal HTTP/1.1 client codec, pure: requests for long-polling and the admin
//! endpoints, and a response parser for `Content-Length` and chunked bodies.

use anyhow::{Context, bail};

/// A complete response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Response {
    /// The status code.
    pub(crate) status: u16,
    /// The body, de-chunked.
    pub(crate) body: Vec<u8>,
}

/// A GET request (keep-alive).
pub(crate) fn get(host: &str, path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: */*\r\n\r\n").into_bytes()
}

/// A POST request with a text body (keep-alive), as the Engine.IO clients send it.
pub(crate) fn post(host: &str, path: &str, body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/plain;charset=UTF-8\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

/// Parses the response at the start of `buf`: `Ok(None)` until it is complete, then the
/// response and how many bytes it took.
///
/// # Errors
/// A malformed head, or a body whose end cannot be known (no length, not chunked).
pub(crate) fn parse_response(buf: &[u8]) -> anyhow::Result<Option<(Response, usize)>> {
    let Some(head_end) = buf.windows(4).position(|window| window == b"\r\n\r\n") else {
        if buf.len() > 16 * 1024 {
            bail!("response head too long");
        }
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..head_end]).context("response head is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut words = status_line.split(' ');
    if !words
        .next()
        .is_some_and(|version| version.starts_with("HTTP/1."))
    {
        bail!("not an HTTP/1 response: {status_line}");
    }
    let status: u16 = words
        .next()
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("bad status line: {status_line}"))?;
    let mut length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            bail!("bad header line: {line}");
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse::<usize>().context("bad content-length")?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        }
    }
    let body_start = head_end + 4;
    if chunked {
        return Ok(parse_chunks(&buf[body_start..])?
            .map(|(body, used)| (Response { status, body }, body_start + used)));
    }
    let length = match length {
        Some(length) => length,
        None if status == 101 || status == 204 || status == 304 => 0,
        None => bail!("response without content-length"),
    };
    if buf.len() < body_start + length {
        return Ok(None);
    }
    let body = buf[body_start..body_start + length].to_vec();
    Ok(Some((Response { status, body }, body_start + length)))
}

/// De-chunks a chunked body: `Ok(None)` until the last chunk and its trailer are in.
fn parse_chunks(buf: &[u8]) -> anyhow::Result<Option<(Vec<u8>, usize)>> {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let Some(line_end) = buf[at..].windows(2).position(|window| window == b"\r\n") else {
            return Ok(None);
        };
        let size_text = std::str::from_utf8(&buf[at..at + line_end])?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .with_context(|| format!("bad chunk size {size_text:?}"))?;
        at += line_end + 2;
        if size == 0 {
            // No trailers are expected: the terminating empty line follows.
            if buf.len() < at + 2 {
                return Ok(None);
            }
            if &buf[at..at + 2] != b"\r\n" {
                bail!("chunk trailers are not supported");
            }
            return Ok(Some((body, at + 2)));
        }
        if buf.len() < at + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&buf[at..at + size]);
        at += size + 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_body() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length: 2\r\n\r\nokHTTP";
        assert_eq!(parse_response(&raw[..40]).unwrap(), None);
        assert_eq!(parse_response(&raw[..raw.len() - 5]).unwrap(), None);
        let (response, used) = parse_response(raw).unwrap().unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.body, b"ok");
        assert_eq!(used, raw.len() - 4);
    }

    #[test]
    fn chunked_body() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n40{\r\n2;x=y\r\n}x\r\n0\r\n\r\n";
        assert_eq!(parse_response(&raw[..raw.len() - 1]).unwrap(), None);
        assert_eq!(parse_response(&raw[..raw.len() - 6]).unwrap(), None);
        let (response, used) = parse_response(raw).unwrap().unwrap();
        assert_eq!(response.body, b"40{}x");
        assert_eq!(used, raw.len());
    }

    #[test]
    fn errors_and_empty_statuses() {
        assert!(parse_response(b"SSH-2.0\r\n\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n").is_err());
        let (response, _) = parse_response(b"HTTP/1.1 204 No Content\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!((response.status, response.body.len()), (204, 0));
    }

    #[test]
    fn requests_are_well_formed() {
        let request = post("h:1", "/socket.io/?EIO=4&transport=polling&sid=abc", b"40");
        let text = String::from_utf8(request).unwrap();
        assert!(text.starts_with("POST /socket.io/?EIO=4&transport=polling&sid=abc HTTP/1.1\r\n"));
        assert!(text.contains("Content-Length: 2\r\n"));
        assert!(text.ends_with("\r\n\r\n40"));
        assert!(
            String::from_utf8(get("h:1", "/x"))
                .unwrap()
                .ends_with("\r\n\r\n")
        );
    }
}
