//! The Quorum web app entry point. Built by Trunk from the repo root:
//! `PATH=$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH trunk build --release`.

fn main() {
    quorum_client::start();
}
