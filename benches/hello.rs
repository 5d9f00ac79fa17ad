//! A bare axum server answering `GET /` with a short text: the yardstick of
//! `scripts/evidence/wrk-vs-axum.sh`, which puts the service's requests per second beside
//! this one's, on the same machine in one run. Not part of the service's binary.
//!
//!   hello ADDR      serve on ADDR until killed
//!
//! Under `cargo bench` (no address given) it does nothing.

fn main() {
    let Some(addr) = std::env::args().nth(1).filter(|a| a != "--bench") else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    runtime.block_on(async move {
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "Hello, World!" }));
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .unwrap_or_else(|e| panic!("{addr}: {e}"));
        axum::serve(listener, app)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    });
}
