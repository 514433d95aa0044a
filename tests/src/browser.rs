//! Headless Chromium through chromedriver, owned by the harness: every
//! WebDriver session it hands out is ended when the [`Chromedriver`] is
//! dropped (also while a test panics), then chromedriver is asked to shut
//! down, and only then is anything left killed. Ending the session is what
//! makes chromedriver quit its Chromium; killing chromedriver alone would
//! orphan the browser.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};

use crate::process::{kill_group, own_group, wait_exit};

/// How long ending one session or chromedriver's shutdown may take.
const QUIT_TIMEOUT: Duration = Duration::from_secs(15);

/// A chromedriver process; each [`Chromedriver::browser`] is an isolated
/// headless Chromium with its own profile.
pub struct Chromedriver {
    child: Child,
    port: u16,
    /// Session ids handed out, ended on drop if the test did not.
    sessions: Vec<String>,
    // Dropped after the browsers using them have quit.
    profiles: Vec<tempfile::TempDir>,
}

impl Chromedriver {
    /// Starts `chromedriver` (from `CHROMEDRIVER` or `PATH`) on a free port.
    /// A port probed free can be taken by another process before
    /// chromedriver binds it; chromedriver then exits, and another port is
    /// tried.
    pub fn start() -> Self {
        let bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        for _ in 0..5 {
            let port = crate::free_port();
            let mut child = own_group(
                Command::new(&bin)
                    .arg(format!("--port={port}"))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null()),
            )
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin} ({e}); run scripts/setup.sh --test"));
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                // Exited: the port was taken. Nothing to shut down, and the
                // port is someone else's, so no `Self` (whose drop would
                // ask it to shut down) was made.
                if matches!(child.try_wait(), Ok(Some(_))) {
                    break;
                }
                // Ready, and the answer is chromedriver's own: whatever
                // else holds the port would not say so.
                if webdriver(port, "GET", "/status").is_ok_and(|a| a.contains("ready")) {
                    return Self {
                        child,
                        port,
                        sessions: Vec::new(),
                        profiles: Vec::new(),
                    };
                }
                if Instant::now() > deadline {
                    kill_group(&mut child);
                    panic!("chromedriver did not start");
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("chromedriver exited at start on 5 ports in a row")
    }

    /// A new headless Chromium session, ended when this driver is dropped
    /// unless the test closed it before.
    pub async fn browser(&mut self) -> Client {
        let profile = tempfile::tempdir().expect("profile dir");
        let args = serde_json::json!([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--window-size=1280,900",
            // A camera and microphone that need no hardware and no prompt.
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            format!("--user-data-dir={}", profile.path().display()),
        ]);
        self.profiles.push(profile);
        let mut caps = serde_json::Map::new();
        let mut chrome = serde_json::json!({ "args": args, "binary": chromium_binary() });
        if crate::trace::enabled() {
            crate::trace::capabilities(&mut caps, &mut chrome);
        }
        caps.insert("goog:chromeOptions".into(), chrome);
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("webdriver session");
        let id = client
            .session_id()
            .await
            .ok()
            .flatten()
            .expect("a new session has an id");
        self.sessions.push(id);
        client
    }

    /// Ends every session handed out (a session the test already closed
    /// answers "invalid session id", which is fine), asks chromedriver to
    /// shut down, and kills whatever of its process group is left.
    fn shut_down(&mut self) {
        for id in std::mem::take(&mut self.sessions) {
            if let Err(e) = webdriver(self.port, "DELETE", &format!("/session/{id}")) {
                eprintln!("chromedriver: ending session {id}: {e}");
            }
        }
        if webdriver(self.port, "GET", "/shutdown").is_ok() {
            wait_exit(&mut self.child, QUIT_TIMEOUT);
        }
        kill_group(&mut self.child);
    }
}

fn chromium_binary() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// One blocking HTTP/1.1 request without a body to chromedriver; returns
/// the response's head and body once `Content-Length` bytes of body are in
/// (chromedriver may keep the connection open after answering). Blocking
/// on purpose: it runs from `Drop`, where no async runtime can be relied
/// on (a test may be unwinding).
fn webdriver(port: u16, method: &str, path: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(QUIT_TIMEOUT))?;
    s.set_write_timeout(Some(QUIT_TIMEOUT))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if length.is_some_and(|n| answer.len() >= end + 4 + n) {
                break;
            }
        }
        match s.read(&mut buf)? {
            0 => break,
            n => answer.extend_from_slice(&buf[..n]),
        }
    }
    Ok(String::from_utf8_lossy(&answer).into_owned())
}

/// `url::ParseError`, named through reqwest's re-export of `Url`.
type UrlError = <reqwest::Url as std::str::FromStr>::Err;

/// A WebDriver command that fantoccini has no method for: `body` posted
/// to `/session/{id}/{path}` (chromedriver's own extensions).
#[derive(Debug)]
pub(crate) struct SessionPost {
    pub path: &'static str,
    pub body: Value,
}

impl WebDriverCompatibleCommand for SessionPost {
    fn endpoint(
        &self,
        base_url: &reqwest::Url,
        session_id: Option<&str>,
    ) -> Result<reqwest::Url, UrlError> {
        base_url.join(&format!(
            "session/{}/{}",
            session_id.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _url: &reqwest::Url) -> (reqwest::Method, Option<String>) {
        (reqwest::Method::POST, Some(self.body.to_string()))
    }
}

/// Runs the DevTools command `cmd` on `c`'s page and returns its result.
pub async fn cdp(c: &Client, cmd: &'static str, params: Value) -> Value {
    // Through chromedriver's `goog/cdp/execute`.
    c.issue_cmd(SessionPost {
        path: "goog/cdp/execute",
        body: json!({ "cmd": cmd, "params": params }),
    })
    .await
    .unwrap_or_else(|e| panic!("{cmd} through chromedriver: {e}"))
}
