//! The events one context tells the others, as types every context can read: the
//! publisher and each subscriber decode the same struct, whichever crate they are in.
//! Each context's own events stay in its crate when nobody else reads them.

pub mod live;
pub mod outbox;
pub mod social;

/// Publishes `event` at most once. A bus that cannot take it now is logged, not
/// retried: events of this class have a fallback (history, the next refresh).
pub async fn publish<E: bus::Event>(bus: &dyn bus::Bus, event: &E) {
    if let Err(e) = bus::publish_event(bus, event).await {
        tracing::warn!(kind = E::KIND, "event not published: {e}");
    }
}

/// Subscribes to `pattern` (written in code) with a queue of `capacity`; as a member of
/// queue `group` when given, so that each message reaches one member of it.
pub async fn subscribe(
    bus: &dyn bus::Bus,
    pattern: &'static str,
    group: Option<&str>,
    capacity: usize,
) -> Result<bus::Subscription, bus::BusError> {
    let pattern =
        bus::Pattern::new(pattern).map_err(|e| bus::BusError::Unavailable(e.to_string()))?;
    match group {
        Some(group) => bus.subscribe_group(pattern, group, capacity).await,
        None => bus.subscribe(pattern, capacity).await,
    }
}

/// Publishes `event`, encoded once, to `momo.user.{id}.{kind}` for each of `users`
/// (at most once): how a conversation's news reaches its members' sockets, wherever
/// they are.
pub async fn publish_to_users<E: bus::Event>(
    bus: &dyn bus::Bus,
    users: &[i64],
    kind: &'static str,
    event: &E,
) {
    let payload = bus::encode(event);
    for user in users {
        let subject = bus::Subject::of_user(*user, kind);
        if let Err(e) = bus.publish(subject, payload.clone()).await {
            tracing::warn!(kind = E::KIND, "event not published: {e}");
            return;
        }
    }
}
