//! Cursor pagination: lists are ordered by (time, id) descending, and the cursor is the
//! last item's pair, opaque to clients. Stable under inserts, unlike offsets.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use kit::ApiError;
use serde::{Deserialize, Serialize};

use crate::http::errors::RequestError;

/// Query string of a paged list: `?limit=20&cursor=…`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1–100 (default 20).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A position in a list ordered by `(key, id)` descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub key: i64,
    pub id: i64,
}

impl Cursor {
    /// The position before everything: the first page.
    pub const START: Cursor = Cursor {
        key: i64::MAX,
        id: i64::MAX,
    };

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}", self.key, self.id))
    }

    pub fn decode(s: &str) -> Result<Cursor, ApiError> {
        let bad = || ApiError::from(RequestError::InvalidCursor);
        let raw = URL_SAFE_NO_PAD.decode(s.as_bytes()).map_err(|_| bad())?;
        let text = std::str::from_utf8(&raw).map_err(|_| bad())?;
        let (k, i) = text.split_once(':').ok_or_else(bad)?;
        Ok(Cursor {
            key: k.parse().map_err(|_| bad())?,
            id: i.parse().map_err(|_| bad())?,
        })
    }
}

impl PageQuery {
    /// The validated limit and starting cursor.
    pub fn resolve(&self) -> Result<(i64, Cursor), ApiError> {
        let limit = self.limit.unwrap_or(20);
        if !(1..=100).contains(&limit) {
            return Err(ApiError::from(RequestError::InvalidLimit));
        }
        let cursor = match self.cursor.as_deref() {
            None | Some("") => Cursor::START,
            Some(s) => Cursor::decode(s)?,
        };
        Ok((limit, cursor))
    }
}

/// One page of a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows: the extra row only says there is more.
    pub fn from_rows(mut rows: Vec<T>, limit: i64, position: impl Fn(&T) -> Cursor) -> Self {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more {
            rows.last().map(|r| position(r).encode())
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = Cursor { key: 1700, id: 42 };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        assert!(Cursor::decode("not-a-cursor!").is_err());
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode("1:x")).is_err());
    }

    #[test]
    fn extra_row_means_another_page() {
        let p = Page::from_rows(vec![3, 2, 1], 2, |&n| Cursor { key: n, id: n });
        assert_eq!(p.items, vec![3, 2]);
        assert!(p.next_cursor.is_some());
        let p = Page::from_rows(vec![3, 2], 2, |&n| Cursor { key: n, id: n });
        assert!(p.next_cursor.is_none());
    }
}
