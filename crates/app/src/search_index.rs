//! Keeping search terms current across upgrades: at start, every row whose terms were
//! made under an older version of `store::search`'s rules (or before there were any) is
//! indexed again, a batch at a time, in the background. The writers of titles and names
//! keep rows current after that.

use store::search::{reindex, Source};
use store::Store;

/// The searchable tables of the contexts.
pub const SOURCES: [Source; 3] = [
    ::videos::search::SOURCE,
    ::live::rooms::search::SOURCE,
    ::identity::users::search::SOURCE,
];

/// Indexes what is out of date in every searchable table; logs what it did.
pub async fn refresh(store: Store) {
    for source in SOURCES {
        match reindex(&store, source).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(table = source.table, rows = n, "search terms indexed"),
            Err(e) => tracing::warn!(table = source.table, "cannot index search terms: {e}"),
        }
    }
}
