//! `feed-seed` and `feed`: what the recommended feed costs with 100,000 videos and 10,000
//! users in the database, against `/healthz` in the same run.
//!
//! `feed-seed` writes users, follows, blocks, videos and hashtags straight into momo's
//! database (multi-row inserts in a few large transactions: a minute or so, where the API
//! would take hours), with engagement counts skewed the way real ones are (a few videos
//! with most of the likes) and `hot_score` computed by momo's own formula. Every seeded
//! user's password is `bench-password-1`, so the bench can sign in as any of them.
//!
//! `feed` signs in `--viewers` seeded users and gives each its own keep-alive
//! connection, which scrolls: the first page of the feed, then `--pages - 1` more pages
//! following `next_cursor`, then a new scroll session. Every page is read whole and
//! parsed (the cursor is in it), and the ids of each session are checked for repeats.
//! `/healthz` and the feed are measured in interleaved rounds like the other scenarios.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use clap::Args;
use http_body_util::BodyExt;
use hyper::header::{HeaderValue, AUTHORIZATION};
use hyper::{Method, StatusCode, Uri};
use serde::Deserialize;
use store::sqlx::{self, Any};
use store::{Backend, PoolSettings, Store};
use tokio::task::JoinSet;
use tokio::time::{timeout_at, Instant};

use crate::api::Api;
use crate::load::{self, Conn, Tally};
use crate::report::Report;
use crate::rounds::{Measured, Plan};
use crate::target::Target;

/// The password of every seeded user.
pub const PASSWORD: &str = "bench-password-1";
/// Seeded usernames are this and a number from 0.
pub const USER_PREFIX: &str = "feed_u";
const HASHTAGS: [&str; 24] = [
    "dance",
    "music",
    "food",
    "travel",
    "cats",
    "dogs",
    "funny",
    "diy",
    "fitness",
    "gaming",
    "beauty",
    "fashion",
    "art",
    "nature",
    "cars",
    "tech",
    "comedy",
    "sports",
    "cooking",
    "pets",
    "street_food",
    "makeup",
    "guitar",
    "vlog",
];

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// The database momo uses: sqlite://DATA_DIR/momo.db or postgres://…; migrated
    /// first if needed. Run it before `momo serve`, or while it runs.
    #[arg(long)]
    pub database_url: String,
    #[arg(long, default_value_t = 10_000)]
    pub users: i64,
    #[arg(long, default_value_t = 100_000)]
    pub videos: i64,
    /// Whom each user follows (random others).
    #[arg(long, default_value_t = 20)]
    pub follows: i64,
}

#[derive(Debug, Args)]
pub struct FeedArgs {
    /// Root URL of a running momo server over a seeded database.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub base: String,
    /// Seeded users to sign in as, one per connection (and as many connections).
    #[arg(long, visible_alias = "connections", default_value_t = 64)]
    pub viewers: usize,
    /// Pages per scroll session before a viewer starts a new one.
    #[arg(long, default_value_t = 5)]
    pub pages: usize,
    /// Videos per page.
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// Heading of the Markdown section.
    #[arg(long, default_value = "Videos: the recommended feed against /healthz")]
    pub title: String,
    #[arg(long, default_value = "10s", value_parser = crate::args::duration)]
    pub duration: Duration,
    #[arg(long, default_value = "2s", value_parser = crate::args::duration)]
    pub warmup: Duration,
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Also append a Markdown section with the results to this file.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
}

/// A small, fast, seeded generator (xorshift64*): the same data on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: i64) -> i64 {
        (self.next() % n.max(1) as u64) as i64
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `($k, $k+1, …)` groups for a multi-row insert of `rows` rows of `cols` columns.
fn values(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| {
            let p: Vec<String> = (1..=cols).map(|c| format!("${}", r * cols + c)).collect();
            format!("({})", p.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

type Tx = sqlx::Transaction<'static, Any>;

async fn max_id(store: &Store, table: &str) -> Result<i64> {
    let id: Option<i64> = sqlx::query_scalar(&format!("SELECT MAX(id) FROM {table}"))
        .fetch_one(store.pool())
        .await?;
    Ok(id.unwrap_or(0))
}

/// Moves PostgreSQL's id sequence past ids given explicitly.
async fn fix_sequence(store: &Store, table: &str) -> Result<()> {
    if store.backend() == Backend::Postgres {
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
        ))
        .execute(store.pool())
        .await?;
    }
    Ok(())
}

async fn insert_follows(tx: &mut Tx, edges: Vec<(i64, i64)>, now: i64) -> Result<()> {
    let sql = format!(
        "INSERT INTO follows (follower_id, followee_id, created_at) VALUES {} \
         ON CONFLICT DO NOTHING",
        values(edges.len(), 3)
    );
    let mut q = sqlx::query(&sql);
    for (a, b) in edges {
        q = q.bind(a).bind(b).bind(now);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

pub async fn seed(a: SeedArgs) -> Result<()> {
    if a.users < 2 || a.videos < 1 || a.follows < 0 || a.follows >= a.users {
        bail!("--users must be at least 2, --videos at least 1, --follows below --users");
    }
    let store = Store::connect(&a.database_url, &PoolSettings::default())
        .await
        .context("--database-url")?;
    store.migrate().await?;
    let started = std::time::Instant::now();
    let seeded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE username_key LIKE $1")
        .bind(format!("{USER_PREFIX}%"))
        .fetch_one(store.pool())
        .await?;
    if seeded > 0 {
        bail!("this database is seeded already ({seeded} {USER_PREFIX}* users); seed a fresh one");
    }
    let hash = app::accounts::password::Passwords::new()
        .hash(PASSWORD.to_string())
        .await
        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?;
    let now = now_ms();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);

    // Users, with explicit ids so that follows and videos can name them.
    let first_user = max_id(&store, "users").await? + 1;
    let mut tx: Tx = store.begin().await?;
    for chunk in (0..a.users).collect::<Vec<_>>().chunks(500) {
        let sql = format!(
            "INSERT INTO users (id, username, username_key, nickname, nickname_key, \
                                password_hash, created_at, updated_at, search_text, search_v) \
             VALUES {}",
            values(chunk.len(), 10)
        );
        let mut q = sqlx::query(&sql);
        for i in chunk {
            let name = format!("{USER_PREFIX}{i}");
            let nick = format!("Feed user {i}");
            q = q
                .bind(first_user + i)
                .bind(name.clone())
                .bind(name.clone())
                .bind(nick.clone())
                .bind(nick.to_lowercase())
                .bind(hash.clone())
                .bind(now)
                .bind(now)
                .bind(app::users::search::terms(&name, &nick))
                .bind(store::search::VERSION);
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    fix_sequence(&store, "users").await?;
    let user = |i: i64| first_user + i;
    eprintln!("momo-bench: {} users", a.users);

    // Follows: each user follows `follows` others; then the counts.
    let mut tx: Tx = store.begin().await?;
    let mut edges: Vec<(i64, i64)> = Vec::with_capacity(500);
    for i in 0..a.users {
        let mut picked = HashSet::new();
        while (picked.len() as i64) < a.follows {
            let j = rng.below(a.users);
            if j != i && picked.insert(j) {
                edges.push((user(i), user(j)));
                if edges.len() == 500 {
                    insert_follows(&mut tx, std::mem::take(&mut edges), now).await?;
                }
            }
        }
    }
    if !edges.is_empty() {
        insert_follows(&mut tx, std::mem::take(&mut edges), now).await?;
    }
    sqlx::query(
        "UPDATE users SET \
           follower_count = (SELECT COUNT(*) FROM follows WHERE followee_id = users.id), \
           following_count = (SELECT COUNT(*) FROM follows WHERE follower_id = users.id) \
         WHERE username_key LIKE $1",
    )
    .bind(format!("{USER_PREFIX}%"))
    .execute(&mut *tx)
    .await?;
    // A few blocks, so the feed's filter has something to do: each of the first 100
    // users blocks three others.
    for i in 0..a.users.min(100) {
        for _ in 0..3 {
            let j = rng.below(a.users);
            if j != i {
                sqlx::query(
                    "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(user(i))
                .bind(user(j))
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    tx.commit().await?;
    eprintln!("momo-bench: {} follows each, and blocks", a.follows);

    // Videos over the last 30 days; engagement skewed (unit^6 puts most likes on few).
    let first_video = max_id(&store, "videos").await? + 1;
    let month = 30 * 24 * 3600 * 1000_i64;
    let mut tx: Tx = store.begin().await?;
    let cols = 20;
    let rows_per = 400;
    let mut tags_rows: Vec<(String, i64)> = Vec::new();
    let mut i = 0;
    while i < a.videos {
        let n = rows_per.min(a.videos - i);
        let sql = format!(
            "INSERT INTO videos (id, author_id, title, description, hashtags, visibility, status, \
                                 hidden, video_key, cover_key, duration_ms, width, height, \
                                 like_count, favorite_count, comment_count, share_count, \
                                 view_count, hot_score, created_at, updated_at, search_text, \
                                 search_v) VALUES {}",
            values(n as usize, cols + 3)
        );
        let mut q = sqlx::query(&sql);
        for k in i..i + n {
            let id = first_video + k;
            let created = now - rng.below(month);
            let likes = (rng.unit().powi(6) * 5_000.0) as i64;
            let comments = likes / 8 + rng.below(3);
            let favorites = likes / 12;
            let shares = likes / 40;
            let views = likes * 15 + rng.below(200);
            let score =
                app::videos::model::hot_score(likes, comments, favorites, shares, views, created);
            let r = rng.below(1000);
            let visibility = if r < 900 {
                "public"
            } else if r < 950 {
                "followers"
            } else {
                "private"
            };
            let r = rng.below(1000);
            let status = if r < 970 {
                "ready"
            } else if r < 990 {
                "processing"
            } else {
                "failed"
            };
            let hidden = i64::from(rng.below(1000) < 5);
            let mut tags: Vec<&str> = Vec::new();
            for _ in 0..rng.below(4) {
                let t = HASHTAGS[rng.below(HASHTAGS.len() as i64) as usize];
                if !tags.contains(&t) {
                    tags.push(t);
                    tags_rows.push((t.to_string(), id));
                }
            }
            let title = format!("Video number {k}");
            let description = format!("a short video #{}", tags.first().unwrap_or(&"vlog"));
            let terms = app::videos::search::terms(&title, &description, &tags.join(" "));
            q = q
                .bind(id)
                .bind(user(rng.below(a.users)))
                .bind(title)
                .bind(description)
                .bind(tags.join(" "))
                .bind(visibility)
                .bind(status)
                .bind(hidden)
                .bind(format!("videos/{id}.mp4"))
                .bind(format!("covers/{id}.jpg"))
                .bind(5_000 + rng.below(55_000))
                .bind(720_i64)
                .bind(1280_i64)
                .bind(likes)
                .bind(favorites)
                .bind(comments)
                .bind(shares)
                .bind(views)
                .bind(score)
                .bind(created)
                .bind(created)
                .bind(terms)
                .bind(store::search::VERSION);
        }
        q.execute(&mut *tx).await?;
        i += n;
        if i % 20_000 == 0 {
            eprintln!("momo-bench: {i} videos");
        }
    }
    for chunk in tags_rows.chunks(1000) {
        let sql = format!(
            "INSERT INTO video_hashtags (tag, video_id) VALUES {} ON CONFLICT DO NOTHING",
            values(chunk.len(), 2)
        );
        let mut q = sqlx::query(&sql);
        for (t, v) in chunk {
            q = q.bind(t.clone()).bind(*v);
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    fix_sequence(&store, "videos").await?;
    if store.backend() == Backend::Sqlite {
        sqlx::query("ANALYZE").execute(store.writer()).await?;
    } else {
        sqlx::query("ANALYZE").execute(store.pool()).await?;
    }
    store.close().await;
    eprintln!(
        "momo-bench: seeded {} users and {} videos in {:.1} s",
        a.users,
        a.videos,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[derive(Deserialize)]
struct FeedPage {
    items: Vec<FeedItem>,
    next_cursor: Option<String>,
}

#[derive(Deserialize)]
struct FeedItem {
    id: i64,
}

/// What scrolling found besides the load: sessions, pages and repeats.
#[derive(Debug, Default)]
struct ScrollStats {
    sessions: AtomicU64,
    pages: AtomicU64,
    items: AtomicU64,
    repeats: AtomicU64,
}

pub async fn run(a: FeedArgs) -> Result<()> {
    if a.viewers == 0 || a.viewers > 4096 || a.pages == 0 || a.rounds == 0 {
        bail!("--viewers must be 1–4096, --pages and --rounds at least 1");
    }
    if a.duration.is_zero() {
        bail!("--duration must be more than zero");
    }
    let base = a.base.trim_end_matches('/').to_string();
    let api = Api { base: base.clone() };
    let mut viewers = Vec::with_capacity(a.viewers);
    for i in 0..a.viewers {
        let username = format!("{USER_PREFIX}{i}");
        let creds = serde_json::json!({"username": username, "password": PASSWORD});
        let (status, v) = api
            .call(Method::POST, "/api/v1/auth/login", None, Some(creds))
            .await?;
        if status != StatusCode::OK {
            bail!(
                "signing in as {username} answered {status}: {v} (seed the database with \
                 `momo-bench feed-seed` first)"
            );
        }
        let token = v["access_token"].as_str().context("no access token")?;
        let t = Target::new(
            "feed",
            Method::GET,
            &format!("{base}/api/v1/feed?limit={}", a.limit),
        )?
        .header(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}"))?,
        );
        viewers.push(Arc::new(t));
    }
    let healthz = Target::new("healthz", Method::GET, &format!("{base}/healthz"))?;
    let feed_target = viewers[0].as_ref().clone();
    let plan = Plan {
        connections: a.viewers,
        warmup: a.warmup,
        duration: a.duration,
        rounds: a.rounds,
    };
    let stats = Arc::new(ScrollStats::default());
    let mut measured = vec![
        Measured {
            target: healthz.clone(),
            rounds: Vec::new(),
        },
        Measured {
            target: feed_target,
            rounds: Vec::new(),
        },
    ];
    for round in 1..=a.rounds {
        let h = load::run_phase(&healthz, a.viewers, a.warmup, a.duration).await?;
        let f = scroll_phase(&viewers, a.pages, a.warmup, a.duration, stats.clone()).await?;
        for (name, t) in [("healthz", &h), ("feed", &f)] {
            eprintln!(
                "round {round}/{}  {name:8} {:>10.1} req/s  non-2xx {}  errors {}",
                a.rounds,
                t.requests as f64 / a.duration.as_secs_f64(),
                t.non_2xx,
                t.errors
            );
        }
        measured[0].rounds.push(h);
        measured[1].rounds.push(f);
    }
    let repeats = stats.repeats.load(Ordering::Relaxed);
    let mut report = Report::new(&a.title, plan, Some("healthz"), measured)?;
    report.load_note = Some(format!(
        "closed loop, {} keep-alive HTTP/1.1 connections, each signed in as its own seeded \
         user and scrolling: the first page of `GET /api/v1/feed?limit={}`, then {} more \
         following `next_cursor`, then a new scroll session; per target and round {} s warmup \
         then {} s measured; {} rounds, targets interleaved. {} sessions, {} pages, {} videos \
         shown, {} shown twice in one session",
        a.viewers,
        a.limit,
        a.pages - 1,
        a.warmup.as_secs_f64(),
        a.duration.as_secs_f64(),
        a.rounds,
        stats.sessions.load(Ordering::Relaxed),
        stats.pages.load(Ordering::Relaxed),
        stats.items.load(Ordering::Relaxed),
        repeats,
    ));
    println!("{}", report.to_json()?);
    if let Some(path) = &a.markdown {
        report.append_markdown(path)?;
        eprintln!("momo-bench: appended the results to {}", path.display());
    }
    if repeats > 0 {
        bail!("{repeats} videos were shown twice in one scroll session");
    }
    Ok(())
}

/// Every viewer scrolls on its own connection for warmup + duration.
async fn scroll_phase(
    viewers: &[Arc<Target>],
    pages: usize,
    warmup: Duration,
    duration: Duration,
    stats: Arc<ScrollStats>,
) -> Result<Tally> {
    let addr = tokio::net::lookup_host((viewers[0].host.as_str(), viewers[0].port))
        .await?
        .next()
        .context("the server has no address")?;
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let mut tasks = JoinSet::new();
    for v in viewers {
        let v = v.clone();
        let stats = stats.clone();
        tasks.spawn(async move {
            let mut tally = Tally::default();
            let mut conn: Option<Conn> = None;
            let mut cursor: Option<String> = None;
            let mut page = 0;
            let mut seen: HashSet<i64> = HashSet::new();
            while Instant::now() < end {
                let mut c = match conn.take() {
                    Some(c) if !c.sender.is_closed() => c,
                    _ => match timeout_at(end, Conn::open(addr)).await {
                        Ok(Ok(c)) => c,
                        Ok(Err(_)) => {
                            tally.errors += 1;
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            continue;
                        }
                        Err(_) => break,
                    },
                };
                let mut req = v.request();
                if let Some(cur) = &cursor {
                    let uri: Uri = format!("{}&cursor={cur}", v.request().uri())
                        .parse()
                        .expect("a cursor is URL-safe base64");
                    *req.uri_mut() = uri;
                }
                let started = Instant::now();
                let exchange = async {
                    c.sender.ready().await?;
                    let resp = c.sender.send_request(req).await?;
                    let status = resp.status();
                    let body: Bytes = resp.into_body().collect().await?.to_bytes();
                    anyhow::Ok((status, body))
                };
                match timeout_at(end, exchange).await {
                    Err(_) => break,
                    Ok(Err(_)) => {
                        if Instant::now() >= measure_from {
                            tally.errors += 1;
                        }
                        continue;
                    }
                    Ok(Ok((status, body))) => {
                        let done = Instant::now();
                        if done >= measure_from {
                            tally.requests += 1;
                            if !status.is_success() {
                                tally.non_2xx += 1;
                            }
                            tally
                                .latencies_us
                                .push((done - started).as_micros().min(u64::MAX as u128) as u64);
                        }
                        conn = Some(c);
                        let parsed: Option<FeedPage> = status
                            .is_success()
                            .then(|| serde_json::from_slice(&body).ok())
                            .flatten();
                        let Some(p) = parsed else {
                            cursor = None;
                            continue;
                        };
                        if page == 0 {
                            seen.clear();
                            stats.sessions.fetch_add(1, Ordering::Relaxed);
                        }
                        stats.pages.fetch_add(1, Ordering::Relaxed);
                        stats
                            .items
                            .fetch_add(p.items.len() as u64, Ordering::Relaxed);
                        for item in &p.items {
                            if !seen.insert(item.id) {
                                stats.repeats.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        page += 1;
                        cursor = p.next_cursor;
                        if page >= pages || cursor.is_none() {
                            page = 0;
                            cursor = None;
                        }
                    }
                }
            }
            tally
        });
    }
    let mut total = Tally::default();
    while let Some(done) = tasks.join_next().await {
        total.merge(done.context("a viewer task panicked")?);
    }
    Ok(total)
}
