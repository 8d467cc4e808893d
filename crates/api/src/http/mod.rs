//! Request extractors every route shares: the JSON body, the query, ids in the path,
//! cursors and pages, byte ranges, field validation, and the refusals they answer.

pub mod body;
pub mod cursor;
pub mod errors;
pub mod id_path;
pub mod query;
pub mod range;
pub mod validate;

pub use body::Body;
pub use cursor::{Cursor, Page, PageQuery};
pub use id_path::{IdPairPath, IdPath};
pub use query::Query;
pub use validate::Fields;
