//! A subscriber's queue: bounded, and never a brake on the publisher.
//!
//! Whoever delivers (the in-process bus, or a NATS connection's reader) offers each
//! message to the subscriber's [`Feeder`]; when the queue is full the message is dropped,
//! counted in `bus_dropped_total`, and the subscriber learns how many it missed
//! ([`Delivery::Lagged`]) before its next message. What may be lost (a room's
//! announcements) carries on; what must not be lost is durable in the database, and its
//! subscriber resyncs from there when it hears it lagged.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::subject::Subject;

/// One published message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub subject: Subject,
    /// An event's envelope (see [`crate::event`]).
    pub payload: Bytes,
}

/// What a subscriber receives next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Message(Message),
    /// This many messages were dropped because the queue was full.
    Lagged(u64),
}

/// A subscriber's end: messages in the order they were offered.
#[derive(Debug)]
pub struct Subscription {
    rx: mpsc::Receiver<Message>,
    lagged: Arc<AtomicU64>,
}

/// The deliverer's end of a subscription.
#[derive(Debug, Clone)]
pub struct Feeder {
    tx: mpsc::Sender<Message>,
    lagged: Arc<AtomicU64>,
}

/// A subscription holding up to `capacity` messages (at least 1), and its feeder.
pub fn channel(capacity: usize) -> (Feeder, Subscription) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let lagged = Arc::new(AtomicU64::new(0));
    (
        Feeder {
            tx,
            lagged: lagged.clone(),
        },
        Subscription { rx, lagged },
    )
}

/// What became of an offered message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offered {
    Queued,
    /// The queue was full: dropped and counted.
    Dropped,
    /// The subscriber is gone.
    Closed,
}

impl Feeder {
    /// Queues `msg` without waiting.
    pub fn offer(&self, msg: Message) -> Offered {
        match self.tx.try_send(msg) {
            Ok(()) => Offered::Queued,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.lagged.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("bus_dropped_total").increment(1);
                Offered::Dropped
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Offered::Closed,
        }
    }

    /// Whether the subscriber has gone.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Resolves when the subscriber has gone.
    pub async fn closed(&self) {
        self.tx.closed().await
    }
}

impl Subscription {
    /// The next delivery; `None` once the bus has let go of the subscription and every
    /// queued message was taken. A gap is reported no later than the first message
    /// queued after it (possibly before some that were queued before it: a subscriber
    /// that must miss nothing resyncs when it hears of any gap).
    pub async fn recv(&mut self) -> Option<Delivery> {
        if let Some(missed) = self.take_lag() {
            return Some(Delivery::Lagged(missed));
        }
        self.rx.recv().await.map(Delivery::Message)
    }

    /// A delivery already waiting, without waiting.
    pub fn try_recv(&mut self) -> Option<Delivery> {
        if let Some(missed) = self.take_lag() {
            return Some(Delivery::Lagged(missed));
        }
        self.rx.try_recv().ok().map(Delivery::Message)
    }

    fn take_lag(&self) -> Option<u64> {
        match self.lagged.swap(0, Ordering::Relaxed) {
            0 => None,
            n => Some(n),
        }
    }
}

/// The deliveries of `subs` on one channel, in order within each (a task per
/// subscription moves them; it stops when its subscription ends or the receiver goes).
/// The sender is returned too, for subscriptions made later to join the same channel.
pub fn merge(
    subs: Vec<Subscription>,
    capacity: usize,
) -> (mpsc::Sender<Delivery>, mpsc::Receiver<Delivery>) {
    let (tx, rx) = mpsc::channel::<Delivery>(capacity.max(1));
    for mut sub in subs {
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Some(d) = sub.recv().await {
                if tx.send(d).await.is_err() {
                    break;
                }
            }
        });
    }
    (tx, rx)
}
