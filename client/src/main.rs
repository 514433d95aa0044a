//! The first-load shell (`shell.rs`): link, pre-join page, then the room
//! module. Built by Trunk from the repo root:
//! `PATH=$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH trunk build --release`.

fn main() {
    quorum_client::shell::start();
}
