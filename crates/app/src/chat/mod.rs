//! The app's side of the chat gateway: telling it who a token belongs to.

pub mod auth;
