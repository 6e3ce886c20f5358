//! WebSocket-only sessions (protocol §1.3, §1.5, §1.7, §1.10).

mod common;

use std::time::Duration;

use common::{fast, start};
use tidings_engine::{CloseReason, EngineConfig};
use tidings_testkit::{WsFrame, WsPeer, sid_of};

const WS: &str = "/engine.io/?EIO=4&transport=websocket";

#[tokio::test]
async fn websocket_handshake_sends_open_with_no_upgrades_then_ping() {
    let setup = start(fast()).await;
    let mut peer = WsPeer::connect(setup.server.addr(), WS).await.unwrap();
    let open = peer.recv_text().await;
    let sid = sid_of(&open);
    assert_eq!(
        open,
        format!(
            r#"0{{"sid":"{sid}","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}}"#
        )
    );
    assert_eq!(peer.recv_text().await, "2", "the ping is the next frame");
}

#[tokio::test]
async fn text_and_binary_echo_keep_their_kind() {
    let setup = start(EngineConfig::default()).await;
    let mut peer = WsPeer::connect(setup.server.addr(), WS).await.unwrap();
    peer.recv_text().await;
    peer.send_text("4hello €").await;
    assert_eq!(peer.recv_text().await, "4hello €");
    peer.send_binary(&[1, 2, 3, 4]).await;
    assert_eq!(peer.recv().await, WsFrame::Binary(vec![1, 2, 3, 4].into()));
    peer.send_text("bAQID").await;
    assert_eq!(
        peer.recv().await,
        WsFrame::Binary(vec![1, 2, 3].into()),
        "b-text is binary"
    );
}

#[tokio::test]
async fn b64_clients_get_binary_as_base64_text() {
    let setup = start(EngineConfig::default()).await;
    let mut peer = WsPeer::connect(setup.server.addr(), &format!("{WS}&b64=1"))
        .await
        .unwrap();
    peer.recv_text().await;
    peer.send_binary(&[1, 2, 3, 4]).await;
    assert_eq!(peer.recv_text().await, "bAQIDBA==");
}

#[tokio::test]
async fn messages_in_a_burst_keep_their_order() {
    let setup = start(EngineConfig::default()).await;
    let mut peer = WsPeer::connect(setup.server.addr(), WS).await.unwrap();
    peer.recv_text().await;
    for index in 0..50 {
        peer.send_text(&format!("4m{index}")).await;
    }
    for index in 0..50 {
        assert_eq!(peer.recv_text().await, format!("4m{index}"));
    }
}

#[tokio::test]
async fn pong_keeps_the_session_alive() {
    let setup = start(fast()).await;
    let mut peer = WsPeer::connect(setup.server.addr(), WS).await.unwrap();
    peer.recv_text().await;
    for _ in 0..3 {
        assert_eq!(peer.recv_text().await, "2");
        peer.send_text("3").await;
    }
    assert!(setup.echo.closed.lock().unwrap().is_empty());
}

#[tokio::test]
async fn missing_pong_closes_the_socket() {
    let setup = start(fast()).await;
    let mut peer = WsPeer::connect(setup.server.addr(), WS).await.unwrap();
    peer.recv_text().await;
    assert_eq!(peer.recv_text().await, "2");
    assert_eq!(peer.recv().await, WsFrame::Close(None));
    assert_eq!(
        *setup.echo.closed.lock().unwrap(),
        [CloseReason::PingTimeout]
    );
}

#[tokio::test]
async fn close_packet_closes_at_once() {
    let setup = start(EngineConfig::default()).await;
    let mut peer = WsPeer::connect(setup.server.addr(), WS).await.unwrap();
    peer.recv_text().await;
    peer.send_text("1").await;
    assert_eq!(peer.recv().await, WsFrame::Close(None));
    assert_eq!(
        *setup.echo.closed.lock().unwrap(),
        [CloseReason::TransportClose]
    );
}

#[tokio::test]
async fn client_ping_closes_the_session() {
    let setup = start(EngineConfig::default()).await;
    let mut peer = WsPeer::connect(setup.server.addr(), WS).await.unwrap();
    peer.recv_text().await;
    peer.send_text("2").await;
    assert_eq!(peer.recv().await, WsFrame::Close(None));
    assert_eq!(
        *setup.echo.closed.lock().unwrap(),
        [CloseReason::TransportError]
    );
}

#[tokio::test]
async fn undecodable_frame_closes_with_parse_error() {
    let setup = start(EngineConfig::default()).await;
    let mut peer = WsPeer::connect(setup.server.addr(), WS).await.unwrap();
    peer.recv_text().await;
    peer.send_text("abc").await;
    assert_eq!(peer.recv().await, WsFrame::Close(None));
    assert_eq!(
        *setup.echo.closed.lock().unwrap(),
        [CloseReason::ParseError]
    );
}

#[tokio::test]
async fn oversized_message_closes_with_1009() {
    let setup = start(EngineConfig::default().max_payload(5)).await;
    let mut peer = WsPeer::connect(setup.server.addr(), WS).await.unwrap();
    peer.recv_text().await;
    peer.send_text("4aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
        .await;
    assert_eq!(peer.recv().await, WsFrame::Close(Some(1009)));
    assert_eq!(
        peer.recv().await,
        WsFrame::Close(None),
        "nothing was echoed"
    );
    assert_eq!(
        *setup.echo.closed.lock().unwrap(),
        [CloseReason::TransportError]
    );
}

#[tokio::test]
async fn client_that_disconnects_closes_the_session() {
    let setup = start(EngineConfig::default()).await;
    let mut peer = WsPeer::connect(setup.server.addr(), WS).await.unwrap();
    peer.recv_text().await;
    peer.close().await;
    for _ in 0..100 {
        if setup.engine.clients_count() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        *setup.echo.closed.lock().unwrap(),
        [CloseReason::TransportClose]
    );
}

#[tokio::test]
async fn engine_close_flushes_then_closes_websockets() {
    let setup = start(EngineConfig::default()).await;
    let mut peer = WsPeer::connect(setup.server.addr(), WS).await.unwrap();
    peer.recv_text().await;
    tokio::time::timeout(Duration::from_secs(5), setup.engine.close())
        .await
        .unwrap();
    assert_eq!(peer.recv().await, WsFrame::Close(None));
    assert_eq!(
        *setup.echo.closed.lock().unwrap(),
        [CloseReason::ServerClose]
    );
}

#[tokio::test]
async fn a_slow_reader_gets_every_byte_in_order() {
    let setup = start(EngineConfig::default()).await;
    let mut peer = WsPeer::connect(setup.server.addr(), WS).await.unwrap();
    peer.recv_text().await;
    // Enough echoed data to fill the socket buffers, so that writes go partial and wait.
    let chunk = "x".repeat(64 * 1024);
    for index in 0..64 {
        peer.send_text(&format!("4{index:02}{chunk}")).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    for index in 0..64 {
        let text = peer.recv_text().await;
        assert_eq!(text.len(), 3 + chunk.len());
        assert!(
            text.starts_with(&format!("4{index:02}x")),
            "message {index} out of order"
        );
        assert!(text.ends_with('x'));
    }
}

/// A masked client text frame, as a client puts it on the wire.
fn masked_text(text: &str) -> Vec<u8> {
    let mask = [0x11, 0x22, 0x33, 0x44];
    assert!(text.len() < 126, "a short frame");
    let mut frame = vec![0x81, 0x80 | u8::try_from(text.len()).unwrap_or(0)];
    frame.extend_from_slice(&mask);
    frame.extend(text.bytes().enumerate().map(|(i, byte)| byte ^ mask[i % 4]));
    frame
}

const UPGRADE_REQUEST: &str = "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\n\
    Host: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

#[tokio::test]
async fn the_101_is_followed_by_the_whole_open_packet() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let setup = start(EngineConfig::default()).await;
    let mut stream = tokio::net::TcpStream::connect(setup.server.addr())
        .await
        .unwrap();
    stream.write_all(UPGRADE_REQUEST.as_bytes()).await.unwrap();
    // One read: the server writes both at once (see `serve`'s tests for the holding).
    let mut buffer = vec![0; 4096];
    let read = stream.read(&mut buffer).await.unwrap();
    let received = &buffer[..read];
    let end = received
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .unwrap();
    let head = std::str::from_utf8(&received[..end]).unwrap();
    assert!(
        head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{head}"
    );
    assert!(
        head.contains("sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        "{head}"
    );
    let frame = &received[end + 4..];
    assert_eq!(frame[0], 0x81, "a text frame follows the head");
    let length = usize::from(frame[1]);
    assert_eq!(frame.len(), 2 + length, "the whole open packet");
    assert!(frame[2..].starts_with(br#"0{"sid":""#));
    assert!(frame.ends_with(br#","maxPayload":1000000}"#));
}

#[tokio::test]
async fn a_frame_sent_right_behind_the_request_is_not_lost() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let setup = start(EngineConfig::default()).await;
    let mut stream = tokio::net::TcpStream::connect(setup.server.addr())
        .await
        .unwrap();
    let mut request = UPGRADE_REQUEST.as_bytes().to_vec();
    request.extend(masked_text("4early"));
    stream.write_all(&request).await.unwrap();
    let mut received = Vec::new();
    let echo = [&[0x81, 6][..], b"4early"].concat();
    tokio::time::timeout(Duration::from_secs(5), async {
        while !received.windows(echo.len()).any(|window| window == echo) {
            let mut buffer = [0; 1024];
            let read = stream.read(&mut buffer).await.unwrap();
            assert!(read > 0, "closed before the echo");
            received.extend_from_slice(&buffer[..read]);
        }
    })
    .await
    .expect("the early frame is echoed");
}
