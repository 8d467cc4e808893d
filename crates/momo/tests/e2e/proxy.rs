//! momo behind a real nginx that asks `GET /api/v1/auth/check` before it serves
//! (`auth_request`), as the stack momo replaces did for its media and files: a caller
//! with a token (header or `?token=` in the URL) gets through with their id passed on, a
//! stranger gets 401 and a banned account 403. Runs when MOMO_TEST_NGINX=1 and the
//! machine has nginx (CI installs it); otherwise it says SKIPPED.

use crate::common;

use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

pub(crate) fn nginx() -> Option<&'static str> {
    if std::env::var("MOMO_TEST_NGINX").ok().as_deref() != Some("1") {
        eprintln!("SKIPPED: set MOMO_TEST_NGINX=1 (and install nginx) to run momo behind nginx");
        return None;
    }
    let bin = ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file());
    if bin.is_none() {
        eprintln!("SKIPPED: MOMO_TEST_NGINX=1 but no nginx binary on this machine");
    }
    bin
}

/// What every test's nginx starts with: it runs in the foreground and keeps its files
/// in `dir`; the `http` block is left open for the servers.
pub(crate) fn prelude(dir: &std::path::Path) -> String {
    let d = dir.display();
    format!(
        r#"daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{}}
http {{
  access_log off;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
"#
    )
}

/// nginx in front of `momo` (`127.0.0.1:port`) on `listen`, guarding `/private/`.
fn config(dir: &std::path::Path, listen: u16, momo: &str) -> String {
    let prelude = prelude(dir);
    format!(
        r#"{prelude}  server {{
    listen 127.0.0.1:{listen};
    location = /_auth {{
      internal;
      proxy_pass http://{momo}/api/v1/auth/check;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
    }}
    location /private/ {{
      auth_request /_auth;
      auth_request_set $momo_user $upstream_http_x_user_id;
      add_header X-Momo-User $momo_user always;
      rewrite ^ /healthz break;
      proxy_pass http://{momo};
    }}
  }}
}}
"#
    )
}

#[tokio::test]
async fn nginx_lets_through_only_whom_momo_names() {
    let Some(bin) = nginx() else { return };
    let s = common::TestServer::start(common::Backend::Sqlite).await;
    let admin = s.admin_token("gatekeeper").await;
    let fan = s.register("fan_behind_nginx").await;
    let gone = s.register("banned_behind_nginx").await;
    let momo = s.base.trim_start_matches("http://").to_owned();
    let dir = tempfile::tempdir().unwrap();
    let listen = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let conf = dir.path().join("nginx.conf");
    std::fs::write(&conf, config(dir.path(), listen, &momo)).unwrap();
    let test = Command::new(bin)
        .args(["-t", "-p"])
        .arg(dir.path())
        .arg("-c")
        .arg(&conf)
        .output()
        .unwrap();
    assert!(
        test.status.success(),
        "nginx -t: {}",
        String::from_utf8_lossy(&test.stderr)
    );
    let mut nginx = Command::new(bin)
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{listen}");
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if client.get(format!("{base}/nowhere")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "nginx listens");

    let get = |path: &str, token: Option<&str>| {
        let mut req = client.get(format!("{base}{path}"));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    // A stranger, and a token that is not one.
    assert_eq!(
        get("/private/a", None).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get("/private/a", Some("not-a-token"))
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
    // A bearer token, and the token in the URL as a player sends it.
    for res in [
        get("/private/a", Some(&fan.token)).await.unwrap(),
        get(&format!("/private/live/7.flv?token={}", fan.token), None)
            .await
            .unwrap(),
    ] {
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            res.headers()["x-momo-user"].to_str().unwrap(),
            fan.id.to_string()
        );
    }
    // A banned account is refused at the door.
    let (status, body) = s
        .post(
            &format!("/api/v1/admin/users/{}/ban", gone.id),
            Some(&admin),
            json!({"reason": "test"}),
        )
        .await;
    assert!(status.is_success(), "{body}");
    assert_eq!(
        get("/private/a", Some(&gone.token)).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    // momo's own answer, without nginx.
    let res = client
        .get(s.url("/api/v1/auth/check"))
        .bearer_auth(&fan.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(res.headers()["x-user-role"], "user");
    let _ = nginx.kill();
    let _ = nginx.wait();
    s.stop().await;
}
