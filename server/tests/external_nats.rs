//! Integration: `nats.mode = "external"` — the server uses a nats-server it
//! did not spawn (configured for auth callout) instead of its own.
//! Run with `cargo test -p quorum-server --test external_nats`.

mod common;

use common::TestServer;
use quorum_server::config::{Config, NatsConfig, NatsMode};
use quorum_server::nats::embedded::{EmbeddedNats, SERVICE_USER, SYSTEM_USER};
use quorum_server::secrets::Secrets;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_cluster_mode_authorizes_browsers() {
    // Stand up an operator's cluster: a real nats-server with the callout
    // block, trusting the keys in the data directory's secrets.
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let secrets = Secrets::load_or_create(&data, "", "", "").expect("secrets");
    let cluster_cfg = Config {
        data_dir: dir.path().join("cluster"),
        nats: NatsConfig {
            port: 0,
            ws_port: 0,
            ..NatsConfig::default()
        },
        ..Config::default()
    };
    let cluster = EmbeddedNats::start(&cluster_cfg, &secrets)
        .await
        .expect("cluster nats-server");
    let ws = format!("ws://127.0.0.1:{}", cluster.ws_port);

    let (url, ws_url, data_dir) = (cluster.client_url.clone(), ws.clone(), data.clone());
    let (svc_pw, sys_pw) = (
        secrets.service_password.clone(),
        secrets.system_password.clone(),
    );
    let server = TestServer::start_with(move |cfg| {
        cfg.data_dir = data_dir;
        cfg.nats = NatsConfig {
            mode: NatsMode::External,
            url,
            user: SERVICE_USER.into(),
            password: svc_pw,
            sys_user: SYSTEM_USER.into(),
            sys_password: sys_pw,
            ws_public_urls: vec![ws_url],
            ..NatsConfig::default()
        };
    })
    .await;
    assert!(
        server.state.nats.embedded.is_none(),
        "must not spawn its own"
    );

    let token = server.room_and_token("ext", "alice").await;
    let (_, verified) = server.verify(&token).await;
    assert_eq!(verified["session"]["nats_ws_urls"][0], ws);

    let mut conn = server
        .ws_connect(Some(&token))
        .await
        .expect("browser connection authorized by our callout");
    conn.sub("qr.ext.chat.*").await.expect("own room chat");
    let refused = conn.sub("qr.other.chat.*").await.expect_err("other room");
    assert!(refused.contains("Permissions Violation"), "{refused}");
    conn.close().await;

    server.stop().await;
    cluster.stop().await;
}
