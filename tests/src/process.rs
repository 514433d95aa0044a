//! Child processes that never outlive the test that started them: each is
//! spawned as the leader of its own process group, so whatever it starts
//! in turn (nats-server under `quorum`, Chromium under chromedriver) can be
//! stopped with it, also when a test panics or the child hangs.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Makes `cmd` start a new process group led by the child, so that
/// [`stop_group`] reaches its descendants too.
pub(crate) fn own_group(cmd: &mut Command) -> &mut Command {
    cmd.process_group(0)
}

fn signal(target: &str, sig: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{sig}"), "--", target])
        .stderr(std::process::Stdio::null())
        .status();
}

/// Waits up to `grace` for `child` to exit; returns whether it did.
pub(crate) fn wait_exit(child: &mut Child, grace: Duration) -> bool {
    let deadline = Instant::now() + grace;
    loop {
        if let Ok(Some(_)) | Err(_) = child.try_wait() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Stops `child` and everything in its process group: SIGCONT (a test may
/// have frozen it), SIGTERM to the leader alone so it can shut down its
/// own children in order, up to `grace` for it to exit, then SIGKILL to the
/// whole group for anything left. Never panics: it runs from `Drop`, also
/// while a test unwinds.
pub(crate) fn stop_group(child: &mut Child, grace: Duration) {
    let pid = child.id().to_string();
    let group = format!("-{pid}");
    signal(&group, "CONT");
    if matches!(child.try_wait(), Ok(None)) {
        signal(&pid, "TERM");
        wait_exit(child, grace);
    }
    kill_group(child);
}

/// SIGKILLs whatever is left in `child`'s process group and reaps `child`.
pub(crate) fn kill_group(child: &mut Child) {
    signal(&format!("-{}", child.id()), "KILL");
    let _ = child.kill();
    let _ = child.wait();
}
