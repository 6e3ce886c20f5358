//! Mounting: the tower layer in front of an application, an axum router, and the
//! browser client files.

mod common;

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use tidings::{Server, ServerConfig};
use tidings_testkit::{WsPeer, http};
use tower_layer::Layer;

#[tokio::test]
async fn layer_serves_socket_io_and_passes_other_paths_on() {
    let io = Server::default();
    io.ns("/", |socket| async move {
        let _ = socket.emit("hello", &"from the layer");
    });
    let app = tower_service_fn(|request: Request<tidings_engine::RequestBody>| async move {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(format!(
            "app {}",
            request.uri().path()
        )))))
    });
    let service = io.layer().layer(app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(tidings_engine::serve(
        listener,
        service,
        std::future::pending(),
    ));
    assert_eq!(
        http(addr, "GET", "/other", &[], "").await.text(),
        "app /other"
    );
    let client = http(addr, "GET", "/socket.io/socket.io.js", &[], "").await;
    assert_eq!(
        client.header("content-type"),
        Some("application/javascript; charset=utf-8")
    );
    let mut ws = WsPeer::connect(addr, "/socket.io/?EIO=4&transport=websocket")
        .await
        .unwrap();
    ws.recv_text().await;
    ws.send_text("40").await;
    ws.recv_text().await;
    assert_eq!(ws.recv_text().await, r#"42["hello","from the layer"]"#);
}

#[tokio::test]
async fn mounts_in_an_axum_router() {
    let io = Server::default();
    io.ns("/", |socket| async move {
        let _ = socket.emit("hello", &"from axum");
    });
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "home" }))
        .route_service("/socket.io/", io.service())
        .route_service("/socket.io/{*rest}", io.service());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    assert_eq!(http(addr, "GET", "/", &[], "").await.text(), "home");
    // Polling and WebSocket both work through the router.
    let open = http(addr, "GET", "/socket.io/?EIO=4&transport=polling", &[], "").await;
    assert!(open.text().starts_with("0{"));
    let mut ws = WsPeer::connect(addr, "/socket.io/?EIO=4&transport=websocket")
        .await
        .unwrap();
    ws.recv_text().await;
    ws.send_text("40").await;
    ws.recv_text().await;
    assert_eq!(ws.recv_text().await, r#"42["hello","from axum"]"#);
}

#[tokio::test]
async fn client_files_can_be_turned_off() {
    let server = common::serve(Server::new(ServerConfig::default().serve_client(false))).await;
    let reply = http(server.addr, "GET", "/socket.io/socket.io.js", &[], "").await;
    assert_eq!(reply.status, 400, "the request goes to Engine.IO instead");
    let on = common::serve(Server::default()).await;
    let esm = http(on.addr, "GET", "/socket.io/socket.io.esm.js", &[], "").await;
    assert!(esm.text().contains("export"));
}

/// A `tower` service from an async function (what `tower::service_fn` does).
fn tower_service_fn<F, Fut>(f: F) -> ServiceFn<F>
where
    F: FnMut(Request<tidings_engine::RequestBody>) -> Fut,
{
    ServiceFn(f)
}

#[derive(Clone)]
struct ServiceFn<F>(F);

impl<F, Fut, R> tower_service::Service<Request<tidings_engine::RequestBody>> for ServiceFn<F>
where
    F: FnMut(Request<tidings_engine::RequestBody>) -> Fut,
    Fut: std::future::Future<Output = Result<R, Infallible>>,
{
    type Response = R;
    type Error = Infallible;
    type Future = Fut;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<tidings_engine::RequestBody>) -> Fut {
        (self.0)(request)
    }
}
