//! End to end: Ctrl-C (SIGINT) or SIGTERM stops the `quorum` binary and the
//! nats-server it spawned. Run with `cargo test -p quorum-e2e --test lifecycle`.

use std::path::Path;
use std::time::{Duration, Instant};

use quorum_e2e::Quorum;

fn gone(pid: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if !Path::new(&format!("/proc/{pid}")).exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn stops_with(signal: &str) {
    let mut quorum = Quorum::start();
    let children = quorum.children();
    assert_eq!(
        children.len(),
        1,
        "expected one nats-server child: {children:?}"
    );
    let comm = std::fs::read_to_string(format!("/proc/{}/comm", children[0])).unwrap_or_default();
    assert_eq!(comm.trim(), "nats-server");
    assert!(
        quorum.signal_and_wait(signal),
        "quorum did not exit cleanly on SIG{signal}"
    );
    assert!(
        gone(children[0]),
        "nats-server outlived quorum after SIG{signal}"
    );
}

#[test]
fn ctrl_c_stops_server_and_nats() {
    stops_with("INT");
}

#[test]
fn sigterm_stops_server_and_nats() {
    stops_with("TERM");
}
