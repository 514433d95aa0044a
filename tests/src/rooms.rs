//! Rooms, tokens and clicks: what most end-to-end tests do before the
//! part they are about.

use fantoccini::{Client, Locator};
use serde_json::{json, Value};

use crate::Quorum;

impl Quorum {
    /// Creates `room` with `metadata` (plugNmeet's room metadata) through
    /// the signed API; panics unless the server accepts it.
    pub async fn create_room(&self, room: &str, metadata: Value) {
        let res = self
            .api(
                "/auth/room/create",
                json!({ "room_id": room, "metadata": metadata }),
            )
            .await;
        assert_eq!(res["status"], json!(true), "create {room}: {res}");
    }

    /// Creates `room` titled `title`, end-to-end encrypted (with a key
    /// from the server) if `e2ee`.
    pub async fn create_room_titled(&self, room: &str, title: &str, e2ee: bool) {
        let features = if e2ee {
            json!({ "end_to_end_encryption_features": { "is_enabled": true } })
        } else {
            json!({})
        };
        self.create_room(
            room,
            json!({ "room_title": title, "room_features": features }),
        )
        .await;
    }

    /// A join token for `user` (also their name) in `room`.
    pub async fn token(&self, room: &str, user: &str, admin: bool) -> String {
        self.token_named(room, user, user, admin).await
    }

    /// A join token for `user`, shown as `name`, in `room`.
    pub async fn token_named(&self, room: &str, user: &str, name: &str, admin: bool) -> String {
        let res = self
            .api(
                "/auth/room/getJoinToken",
                json!({ "room_id": room, "user_info":
                    { "user_id": user, "name": name, "is_admin": admin } }),
            )
            .await;
        res["token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token for {user} in {room}: {res}"))
            .to_owned()
    }

    /// The join link for `token`.
    pub fn link(&self, token: &str) -> String {
        format!("{}/?access_token={token}", self.base_url())
    }

    /// A join link for `user` in `room`.
    pub async fn join_link(&self, room: &str, user: &str, admin: bool) -> String {
        let token = self.token(room, user, admin).await;
        self.link(&token)
    }

    /// What `/api/verifyToken` answers for `token`, as the browser asks.
    pub async fn verify(&self, token: &str) -> Value {
        let res = reqwest::Client::new()
            .post(format!("{}/api/verifyToken", self.base_url()))
            .bearer_auth(token)
            .header("Content-Type", "application/json")
            .body("{}")
            .timeout(std::time::Duration::from_secs(30))
            .send()
            .await
            .expect("POST /api/verifyToken");
        let text = res.text().await.unwrap_or_default();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("verifyToken: {e}: {text}"))
    }
}

/// Clicks the element `css` matches; panics (naming it) if there is none.
pub async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

/// Presses Leave and confirms: a participant's "Leave the meeting?", or a
/// moderator's choice of leaving alone (not ending it for everyone).
pub async fn leave(c: &Client) {
    click(c, "#leave").await;
    let t = std::time::Duration::from_secs(30);
    let choice = "#leave-confirm-confirm, #leave-dialog-secondary";
    assert!(crate::wait_for(c, choice, t).await, "Leave did not ask");
    click(c, choice).await;
}
