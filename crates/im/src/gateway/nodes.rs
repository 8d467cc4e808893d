//! The other nodes of a cluster, as the gateway sees them: where it sends what it pushes
//! to a room, to users or to everyone so that their sockets on other nodes get it too,
//! and how it asks to hear a room's messages from the others while it has members there.
//!
//! The app implements [`Nodes`] on its event bus (`app::relay::nodes`); without one (a
//! single node) the gateway pushes to its own sockets only, as it always did.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;

/// A room being heard from the other nodes: resolves once it is, with the room's recent
/// messages from them (oldest first).
pub type Opening = BoxFuture<'static, Vec<(u32, Bytes)>>;

/// The other nodes of the cluster.
pub trait Nodes: Send + Sync + 'static {
    /// Members of `room` are on this node now: hear what the other nodes push to it.
    /// Resolves once the subscription is in force, so that a member who joins misses
    /// nothing sent after the join is answered, with the room's recent messages from
    /// the other nodes (oldest first; some may also arrive by the subscription).
    fn open_room(&self, room: String) -> Opening;
    /// No member of `room` is left on this node.
    fn close_room(&self, room: &str);
    /// `user` has a connection on this node now: hear what the other nodes push to them.
    /// Resolves once the subscription is in force.
    fn open_user(&self, _user: i64) -> BoxFuture<'static, ()> {
        Box::pin(std::future::ready(()))
    }
    /// No connection of `user` is left on this node.
    fn close_user(&self, _user: i64) {}
    /// How many rooms and how many users this node hears from the others now.
    fn heard(&self) -> (usize, usize) {
        (0, 0)
    }
    /// Pushed here to connections by goim's `keys`: for those on the other nodes.
    fn keys(&self, _keys: &[String], _op: u32, _body: Bytes) {}
    /// `body` was pushed with `op` to `room` here (a danmaku, the push API): for the
    /// room's members on the other nodes.
    fn room(&self, room: &str, op: u32, body: Bytes);
    /// Pushed to these users here: for their sockets on the other nodes.
    fn users(&self, users: &[i64], op: u32, body: Bytes);
    /// Pushed to everyone here: for everyone on the other nodes.
    fn all(&self, op: u32, body: Bytes);
    /// People in each room on the other nodes, as last read (`None`: not known).
    fn online_elsewhere(&self) -> Option<Arc<HashMap<String, u32>>> {
        None
    }
    /// Takes one of `user`'s room messages from a rate every node shares (`per_sec`,
    /// bursts of `burst`): whether they may send; `None` when there is no shared rate
    /// now (the node counts alone).
    fn take_send(
        &self,
        _user: i64,
        _per_sec: f64,
        _burst: f64,
    ) -> BoxFuture<'static, Option<bool>> {
        Box::pin(std::future::ready(None))
    }
}
