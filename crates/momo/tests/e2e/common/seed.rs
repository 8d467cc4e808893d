//! Videos put straight into the database, as if uploaded and processed: the tests of
//! the feed, engagement and reports need ready videos without running ffmpeg.

use store::sqlx;

/// A video to seed; `Seed::default()` is a ready, public video made now.
#[derive(Debug, Clone)]
pub struct Seed {
    pub title: String,
    pub description: String,
    pub hashtags: Vec<String>,
    pub visibility: &'static str,
    pub status: &'static str,
    /// ms since the epoch; now when `None`.
    pub created_at: Option<i64>,
}

impl Default for Seed {
    fn default() -> Self {
        Seed {
            title: "a video".into(),
            description: String::new(),
            hashtags: Vec::new(),
            visibility: "public",
            status: "ready",
            created_at: None,
        }
    }
}

impl Seed {
    pub fn titled(title: &str) -> Seed {
        Seed {
            title: title.into(),
            ..Seed::default()
        }
    }
}

/// Inserts a video by `author` (and its hashtag rows); returns its id.
pub async fn video(state: &app::AppState, author: i64, seed: Seed) -> i64 {
    let now = seed.created_at.unwrap_or_else(kit::time::now_ms);
    let score = app::videos::model::hot_score(0, 0, 0, 0, 0, now);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO videos (author_id, title, description, hashtags, visibility, status, \
                             video_key, cover_key, duration_ms, width, height, hot_score, \
                             created_at, updated_at, search_text, search_v) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 15000, 720, 1280, $9, $10, $10, $11, $12) \
         RETURNING id",
    )
    .bind(author)
    .bind(&seed.title)
    .bind(&seed.description)
    .bind(seed.hashtags.join(" "))
    .bind(seed.visibility)
    .bind(seed.status)
    .bind(format!("videos/seed-{now}.mp4"))
    .bind(format!("covers/seed-{now}.jpg"))
    .bind(score)
    .bind(now)
    .bind(app::videos::search::terms(
        &seed.title,
        &seed.description,
        &seed.hashtags.join(" "),
    ))
    .bind(store::search::VERSION)
    .fetch_one(state.store().writer())
    .await
    .expect("seed a video");
    for tag in &seed.hashtags {
        sqlx::query("INSERT INTO video_hashtags (tag, video_id) VALUES ($1, $2)")
            .bind(tag)
            .bind(id)
            .execute(state.store().writer())
            .await
            .expect("seed a hashtag");
    }
    id
}
