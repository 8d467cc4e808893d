//! Request extractors every route shares: the JSON body, the query, ids in the path,
//! cursors and pages, byte ranges, field validation, the client's address, and the
//! refusals they answer. The caller extractors ([`crate::auth`]) are re-exported here.

pub mod body;
pub mod client_ip;
pub mod cursor;
pub mod errors;
pub mod id_path;
pub mod query;
pub mod range;
pub mod search;
pub mod validate;

pub use crate::auth::{Admin, Auth, MaybeAuth};
pub use body::Body;
pub use client_ip::{ClientIp, TrustedProxies};
pub use cursor::{Cursor, Page, PageQuery};
pub use id_path::{IdPairPath, IdPath};
pub use query::Query;
pub use validate::Fields;
