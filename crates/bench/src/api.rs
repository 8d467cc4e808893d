//! A small client of momo's JSON API for the scenarios' setup: sign in, create what a
//! scenario needs. Not for measured requests (those go through `load`).

use std::time::Duration;

use anyhow::{bail, Context, Result};
use hyper::header::{HeaderValue, AUTHORIZATION};
use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use crate::load;
use crate::target::Target;

const LIMIT: Duration = Duration::from_secs(30);

pub struct Api {
    pub base: String,
}

impl Api {
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value)> {
        let mut t = Target::new("setup", method, &format!("{}{path}", self.base))?;
        if let Some(token) = token {
            t = t.header(
                AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {token}"))?,
            );
        }
        if let Some(b) = body {
            t = t.json_body(&b.to_string())?;
        }
        let (status, bytes) = load::fetch(&t, LIMIT).await?;
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Ok((status, value))
    }

    /// Signs in as `username` (registering it first if needed); returns (id, token).
    pub async fn user(&self, username: &str, password: &str) -> Result<(i64, String)> {
        let creds = json!({"username": username, "password": password});
        let (status, body) = self
            .call(
                Method::POST,
                "/api/v1/auth/register",
                None,
                Some(creds.clone()),
            )
            .await?;
        let (status, body) = if status == StatusCode::CONFLICT {
            self.call(Method::POST, "/api/v1/auth/login", None, Some(creds))
                .await?
        } else {
            (status, body)
        };
        if !status.is_success() {
            bail!("signing in as {username} answered {status}: {body}");
        }
        let id = body["user"]["id"].as_i64().context("no user id")?;
        let token = body["access_token"]
            .as_str()
            .context("no token")?
            .to_string();
        Ok((id, token))
    }

    /// Creates a room for the user with `token`; returns its id (the stream name
    /// viewers play) and its stream key (what an encoder publishes to).
    pub async fn create_room(&self, token: &str) -> Result<(i64, String)> {
        let (status, room) = self
            .call(Method::POST, "/api/v1/rooms", Some(token), Some(json!({})))
            .await?;
        if !status.is_success() {
            bail!("creating the room answered {status}: {room}");
        }
        let id = room["id"].as_i64().context("no room id")?;
        let key = room["stream_key"].as_str().context("no stream key")?;
        Ok((id, key.to_string()))
    }

    /// Waits until room `id` reads live (a publisher has been accepted), for five
    /// seconds or so.
    pub async fn wait_live(&self, id: i64) -> Result<()> {
        for _ in 0..250 {
            let (_, r) = self
                .call(Method::GET, &format!("/api/v1/rooms/{id}"), None, None)
                .await?;
            if r["status"] == "live" {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        bail!("room {id} did not go live")
    }
}
