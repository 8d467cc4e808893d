//! The in-process bus: one node, no network. A publish hands the message to every
//! matching subscriber's queue before it returns, so on one node a subscriber that was
//! subscribed before the publish always has it queued when `publish` is done: tests wait
//! on the event itself, never on a sleep.

use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;

use crate::subject::{Pattern, Subject};
use crate::subscription::{channel, Feeder, Message, Offered, Subscription};
use crate::{Bus, BusFuture};

/// Subscribers and what they listen to.
#[derive(Debug, Default)]
pub struct InProcess {
    subs: Mutex<Vec<(Pattern, Feeder)>>,
}

impl InProcess {
    pub fn new() -> InProcess {
        InProcess::default()
    }

    fn subs(&self) -> MutexGuard<'_, Vec<(Pattern, Feeder)>> {
        self.subs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands `payload` to every subscriber of `subject`; returns how many queued it.
    pub fn deliver(&self, subject: &Subject, payload: Bytes) -> usize {
        let mut subs = self.subs();
        let mut queued = 0;
        subs.retain(|(pattern, feeder)| {
            if !pattern.matches(subject) {
                return !feeder.is_closed();
            }
            let msg = Message {
                subject: subject.clone(),
                payload: payload.clone(),
            };
            match feeder.offer(msg) {
                Offered::Queued => {
                    queued += 1;
                    true
                }
                Offered::Dropped => true,
                Offered::Closed => false,
            }
        });
        queued
    }

    /// Subscribes to `pattern` with a queue of `capacity` messages.
    pub fn listen(&self, pattern: Pattern, capacity: usize) -> Subscription {
        let (feeder, sub) = channel(capacity);
        self.subs().push((pattern, feeder));
        sub
    }

    /// Subscriptions that are still open.
    pub fn subscribers(&self) -> usize {
        let mut subs = self.subs();
        subs.retain(|(_, f)| !f.is_closed());
        subs.len()
    }
}

impl Bus for InProcess {
    fn publish(&self, subject: Subject, payload: Bytes) -> BusFuture<'_, ()> {
        self.deliver(&subject, payload);
        Box::pin(std::future::ready(Ok(())))
    }

    fn subscribe(&self, pattern: Pattern, capacity: usize) -> BusFuture<'_, Subscription> {
        let sub = self.listen(pattern, capacity);
        Box::pin(std::future::ready(Ok(sub)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::tests::GiftSent;
    use crate::subscription::Delivery;
    use crate::{publish_event, Event};

    #[tokio::test]
    async fn a_subscriber_gets_what_matches_in_order_as_soon_as_it_is_published() {
        let bus = InProcess::new();
        let mut room7 = bus
            .subscribe(Pattern::room("7").unwrap(), 16)
            .await
            .unwrap();
        let mut gifts = bus
            .subscribe(Pattern::new("momo.room.*.gift").unwrap(), 16)
            .await
            .unwrap();
        for (room, coins) in [(7, 1), (8, 2), (7, 3)] {
            publish_event(
                &bus,
                &GiftSent {
                    room_id: room,
                    coins,
                },
            )
            .await
            .unwrap();
        }
        // Synchronous: everything is queued already.
        let take = |sub: &mut Subscription| {
            std::iter::from_fn(|| match sub.try_recv() {
                Some(Delivery::Message(m)) => {
                    Some(crate::decode::<GiftSent>(&m.payload).unwrap().coins)
                }
                _ => None,
            })
            .collect::<Vec<_>>()
        };
        assert_eq!(take(&mut room7), [1, 3]);
        assert_eq!(take(&mut gifts), [1, 2, 3]);
    }

    #[tokio::test]
    async fn a_full_queue_drops_counts_and_says_so_and_never_blocks_the_publisher() {
        let bus = InProcess::new();
        let mut slow = bus.listen(Pattern::room("1").unwrap(), 2);
        let mut quick = bus.listen(Pattern::room("1").unwrap(), 100);
        let subject = GiftSent {
            room_id: 1,
            coins: 0,
        }
        .subject();
        for i in 0..10u8 {
            bus.publish(subject.clone(), Bytes::from(vec![i]))
                .await
                .unwrap();
        }
        assert_eq!(slow.recv().await, Some(Delivery::Lagged(8)));
        for want in [0u8, 1] {
            match slow.recv().await {
                Some(Delivery::Message(m)) => assert_eq!(&m.payload[..], &[want]),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(slow.try_recv(), None);
        let mut n = 0;
        while let Some(Delivery::Message(_)) = quick.try_recv() {
            n += 1;
        }
        assert_eq!(n, 10, "one slow subscriber costs the others nothing");
    }

    #[tokio::test]
    async fn a_dropped_subscription_is_forgotten() {
        let bus = InProcess::new();
        let sub = bus.listen(Pattern::user(5).unwrap(), 4);
        let _other = bus.listen(Pattern::user(6).unwrap(), 4);
        assert_eq!(bus.subscribers(), 2);
        drop(sub);
        let queued = bus.deliver(&Subject::user(5, "banned").unwrap(), Bytes::new());
        assert_eq!(queued, 0);
        assert_eq!(bus.subscribers(), 1);
    }
}
