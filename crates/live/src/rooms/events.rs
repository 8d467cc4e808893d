//! What the live context tells the others: the types are [`api::events::live`]'s, so
//! that contexts in other crates read them too.

pub use api::events::live::*;
