//! HTTP plumbing of the shell: the client's address, the layers that keep every error in
//! JSON and bound each request's time, and the OpenAPI document's completion. The
//! extractors every context shares (body, query, ids, cursors, the caller) are `api`'s,
//! re-exported here.

pub mod json_errors;
pub mod openapi;
pub mod timeout;

pub use api::auth::{self, Admin, Auth, MaybeAuth};
pub use api::http::{body, cursor, errors, id_path, query, range, validate};
pub use api::http::{client_ip, ClientIp};
pub use api::http::{Body, Cursor, Fields, IdPairPath, IdPath, Page, PageQuery, Query};
