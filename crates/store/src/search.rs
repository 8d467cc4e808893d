//! Text search that reads Chinese, Japanese and Korean as well as Latin scripts, the same
//! on SQLite (FTS5) and PostgreSQL (`to_tsvector('simple', …)` with a GIN index).
//!
//! Neither engine segments CJK text: FTS5's `unicode61` tokenizer takes a run of Han
//! characters for one word (so 北京美食 is found by 北京美食 and by nothing inside it),
//! PostgreSQL's parser drops them entirely under a plain `C` locale, and a trigram index
//! cannot match a two-character word such as 美食 or 北京. So momo indexes **bigrams**:
//! what a row is found by is kept in its `search_text` column, written by momo (not by
//! the database) whenever the words it is made from change:
//!
//! - a run of Latin (or any non-CJK) letters and digits is one term, lower case;
//! - a run of Han, kana or Hangul becomes its overlapping pairs of characters plus its
//!   last character alone (北京美食 → 北京 京美 美食 食), so every character starts a term;
//! - a term with anything but ASCII letters and digits is written as `zz` and six hex
//!   digits per character, so the engines see plain ASCII words whatever their locale
//!   or tokenizer, and a prefix of a word stays a prefix of its encoding.
//!
//! A query is cut the same way and every term must match as a prefix: `danc` finds
//! `dance`, 美食 finds 北京美食 (its bigram), 美 finds 美食 and 很美 (its last-character
//! term), 北京美食 finds the rows holding all of 北京, 京美, 美食. Bigrams were chosen
//! over a dictionary segmenter: nothing to ship or keep up to date, every script alike,
//! and short words (the common case for titles and names) are never cut wrongly; the
//! price is a few false hits for long queries whose bigrams occur apart.

/// The version of the rules above. Rows indexed under an older one are indexed again
/// at start (see the `search_v` columns).
pub const VERSION: i64 = 1;

/// Most terms of a query that count.
pub const MAX_QUERY_TERMS: usize = 12;

/// What `parts` (a title, a description, names…) are found by: space-separated terms.
pub fn index_text<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut terms = Vec::new();
    for part in parts {
        cut(part, &mut |t| terms.push(t));
    }
    terms.join(" ")
}

/// The terms of a query, at most [`MAX_QUERY_TERMS`], repeats removed.
pub fn query_terms(q: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    cut(q, &mut |t| {
        if terms.len() < MAX_QUERY_TERMS && !terms.contains(&t) {
            terms.push(t)
        }
    });
    // A query of several CJK characters also yields its last character alone; the
    // bigrams already ask for it.
    if terms.len() > 1 {
        let pairs: Vec<String> = terms.iter().filter(|t| is_pair(t)).cloned().collect();
        terms.retain(|t| !(is_single_cjk(t) && pairs.iter().any(|p| p.ends_with(&t[2..]))));
    }
    terms
}

/// An FTS5 query matching every term as a prefix: `"dance"* "zz…"*`.
pub fn fts5_query(terms: &[String]) -> String {
    terms
        .iter()
        .map(|t| format!("\"{t}\"*"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A `to_tsquery('simple', …)` matching every term as a prefix: `dance:* & zz…:*`.
pub fn tsquery(terms: &[String]) -> String {
    terms
        .iter()
        .map(|t| format!("{t}:*"))
        .collect::<Vec<_>>()
        .join(" & ")
}

/// The query text for `backend`'s engine: [`fts5_query`] on SQLite, [`tsquery`] on
/// PostgreSQL.
pub fn query_for(backend: crate::Backend, terms: &[String]) -> String {
    match backend {
        crate::Backend::Sqlite => fts5_query(terms),
        crate::Backend::Postgres => tsquery(terms),
    }
}

/// Han (with its extensions and compatibility forms), hiragana, katakana, Hangul and
/// bopomofo: scripts written without spaces between words.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x2FDF      // radicals
        | 0x3040..=0x30FF    // hiragana, katakana
        | 0x3100..=0x312F    // bopomofo
        | 0x3131..=0x318F    // Hangul compatibility jamo
        | 0x31F0..=0x31FF    // katakana extensions
        | 0x3400..=0x4DBF    // Han extension A
        | 0x4E00..=0x9FFF    // Han
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // Han compatibility
        | 0xFF66..=0xFF9F    // half-width katakana
        | 0x20000..=0x3134F  // Han extensions B–H
    )
}

const CJK_MARK: &str = "zz";
const HEX_PER_CHAR: usize = 6;

fn encode(chars: &[char]) -> String {
    if chars.iter().all(|c| c.is_ascii_alphanumeric()) {
        return chars.iter().collect();
    }
    let mut s = String::with_capacity(CJK_MARK.len() + HEX_PER_CHAR * chars.len());
    s.push_str(CJK_MARK);
    for c in chars {
        s.push_str(&format!("{:06x}", *c as u32));
    }
    s
}

fn is_pair(t: &str) -> bool {
    t.starts_with(CJK_MARK) && t.len() == CJK_MARK.len() + 2 * HEX_PER_CHAR
}

fn is_single_cjk(t: &str) -> bool {
    t.starts_with(CJK_MARK)
        && t.len() == CJK_MARK.len() + HEX_PER_CHAR
        && u32::from_str_radix(&t[CJK_MARK.len()..], 16)
            .ok()
            .and_then(char::from_u32)
            .is_some_and(is_cjk)
}

/// Calls `out` with each term of `text`, in order.
fn cut(text: &str, out: &mut dyn FnMut(String)) {
    let mut word: Vec<char> = Vec::new();
    let mut cjk: Vec<char> = Vec::new();
    for c in text.chars() {
        if is_cjk(c) {
            flush_word(&mut word, out);
            cjk.push(c);
        } else if c.is_alphanumeric() {
            flush_cjk(&mut cjk, out);
            word.extend(c.to_lowercase());
        } else {
            flush_word(&mut word, out);
            flush_cjk(&mut cjk, out);
        }
    }
    flush_word(&mut word, out);
    flush_cjk(&mut cjk, out);
}

/// Longest Latin term, in characters (longer words are cut there, on both sides).
const MAX_WORD: usize = 32;

fn flush_word(word: &mut Vec<char>, out: &mut dyn FnMut(String)) {
    if !word.is_empty() {
        word.truncate(MAX_WORD);
        out(encode(word));
        word.clear();
    }
}

fn flush_cjk(run: &mut Vec<char>, out: &mut dyn FnMut(String)) {
    for pair in run.windows(2) {
        out(encode(pair));
    }
    if let Some(last) = run.last() {
        out(encode(&[*last]));
    }
    run.clear();
}

/// A searchable table: its name and the columns its terms are made from, in order
/// (written in code, never from input).
#[derive(Debug, Clone, Copy)]
pub struct Source {
    pub table: &'static str,
    pub columns: &'static [&'static str],
}

/// Rows per statement of [`reindex`].
const REINDEX_BATCH: i64 = 500;

/// Writes the terms of every row of `source` indexed under an older [`VERSION`] (or
/// never), a batch at a time; returns how many rows it indexed. Run at start; the
/// writers keep rows current after that.
pub async fn reindex(store: &crate::Store, source: Source) -> Result<u64, sqlx::Error> {
    use sqlx::Row;
    let cols = source.columns.join(", ");
    let table = source.table;
    let select = format!(
        "SELECT id, {cols} FROM {table} WHERE search_v < $1 ORDER BY id LIMIT {REINDEX_BATCH}"
    );
    let update = format!(
        "UPDATE {table} SET search_text = $1, search_v = $2 WHERE id = $3 AND search_v < $2"
    );
    let mut done = 0;
    loop {
        let rows = sqlx::query(&select)
            .bind(VERSION)
            .fetch_all(store.pool())
            .await?;
        if rows.is_empty() {
            return Ok(done);
        }
        let mut tx = store.begin().await?;
        for row in &rows {
            let id: i64 = row.try_get(0)?;
            let mut parts = Vec::with_capacity(source.columns.len());
            for i in 0..source.columns.len() {
                parts.push(row.try_get::<Option<String>, _>(i + 1)?.unwrap_or_default());
            }
            let text = index_text(parts.iter().map(String::as_str));
            sqlx::query(&update)
                .bind(text)
                .bind(VERSION)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        done += rows.len() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn z(s: &str) -> String {
        encode(&s.chars().collect::<Vec<_>>())
    }

    #[test]
    fn cjk_runs_become_bigrams_and_a_last_character() {
        assert_eq!(
            index_text(["北京美食"]),
            [z("北京"), z("京美"), z("美食"), z("食")].join(" ")
        );
        assert_eq!(index_text(["美"]), z("美"));
        assert_eq!(
            index_text(["Vlog: 東京タワー", "#dance"]),
            [
                "vlog",
                &z("東京"),
                &z("京タ"),
                &z("タワ"),
                &z("ワー"),
                &z("ー"),
                "dance"
            ]
            .join(" ")
        );
        assert_eq!(
            index_text(["서울 여행"]),
            [z("서울"), z("울"), z("여행"), z("행")].join(" ")
        );
    }

    #[test]
    fn latin_words_are_lower_case_and_accents_are_encoded() {
        assert_eq!(index_text(["Dance CAT", "x-2"]), "dance cat x 2");
        let cafe = index_text(["Café"]);
        assert!(cafe.starts_with("zz") && cafe.is_ascii(), "{cafe}");
        // A prefix of a word is a prefix of its encoding.
        assert!(cafe.starts_with(&z("caf\u{e9}")[..2 + 6 * 3]));
        assert_eq!(index_text(["a".repeat(100).as_str()]).len(), MAX_WORD);
    }

    #[test]
    fn queries_keep_bigrams_and_drop_a_last_character_they_cover() {
        assert_eq!(query_terms("美食"), [z("美食")]);
        assert_eq!(query_terms("美"), [z("美")]);
        assert_eq!(query_terms("北京美食"), [z("北京"), z("京美"), z("美食")]);
        assert_eq!(query_terms("美食 danc"), [z("美食"), "danc".to_string()]);
        assert_eq!(query_terms("a a a"), ["a"]);
        assert!(query_terms(r#"" * : ( ) ! &|"#).is_empty());
        assert_eq!(query_terms(&"x ".repeat(3)).len(), 1);
        let many: String = (0..40).map(|i| format!("w{i} ")).collect();
        assert_eq!(query_terms(&many).len(), MAX_QUERY_TERMS);
    }

    #[test]
    fn every_term_is_plain_ascii_so_no_search_syntax_gets_through() {
        let t = query_terms(r#"Dance" OR title:x* NEAR(a b) -cat ^美食 '' & | ! <->"#);
        for term in &t {
            assert!(term.chars().all(|c| c.is_ascii_alphanumeric()), "{term}");
        }
        assert_eq!(fts5_query(&t[..2]), r#""dance"* "or"*"#);
        assert_eq!(tsquery(&t[..2]), "dance:* & or:*");
    }
}
