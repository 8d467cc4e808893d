//! HTTP plumbing shared by every handler: the JSON body extractor, authentication,
//! the client's address, cursors, and the layers that keep every error in JSON.

pub mod auth;
pub mod body;
pub mod client_ip;
pub mod cursor;
pub mod errors;
pub mod id_path;
pub mod json_errors;
pub mod openapi;
pub mod query;
pub mod range;
pub mod timeout;
pub mod validate;

pub use auth::{Admin, Auth, MaybeAuth};
pub use body::Body;
pub use client_ip::ClientIp;
pub use cursor::{Cursor, Page, PageQuery};
pub use id_path::{IdPairPath, IdPath};
pub use query::Query;
pub use validate::Fields;
