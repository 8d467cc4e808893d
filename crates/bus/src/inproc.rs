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
    subs: Mutex<Vec<Sub>>,
}

#[derive(Debug)]
struct Sub {
    pattern: Pattern,
    /// A queue group: each message reaches one member of it.
    group: Option<String>,
    feeder: Feeder,
}

impl InProcess {
    pub fn new() -> InProcess {
        InProcess::default()
    }

    fn subs(&self) -> MutexGuard<'_, Vec<Sub>> {
        self.subs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands `payload` to every subscriber of `subject` (to one member of each group);
    /// returns how many queued it.
    pub fn deliver(&self, subject: &Subject, payload: Bytes) -> usize {
        let mut subs = self.subs();
        let mut queued = 0;
        let mut groups_served: Vec<String> = Vec::new();
        subs.retain(|sub| {
            if !sub.pattern.matches(subject) {
                return !sub.feeder.is_closed();
            }
            if let Some(g) = &sub.group {
                if groups_served.contains(g) {
                    return !sub.feeder.is_closed();
                }
            }
            let msg = Message {
                subject: subject.clone(),
                payload: payload.clone(),
            };
            let offered = sub.feeder.offer(msg);
            if offered != Offered::Closed {
                if let Some(g) = &sub.group {
                    groups_served.push(g.clone());
                }
            }
            match offered {
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
        self.join(pattern, None, capacity)
    }

    fn join(&self, pattern: Pattern, group: Option<String>, capacity: usize) -> Subscription {
        let (feeder, sub) = channel(capacity);
        self.subs().push(Sub {
            pattern,
            group,
            feeder,
        });
        sub
    }

    /// Subscriptions that are still open.
    pub fn subscribers(&self) -> usize {
        let mut subs = self.subs();
        subs.retain(|s| !s.feeder.is_closed());
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

    fn subscribe_group(
        &self,
        pattern: Pattern,
        group: &str,
        capacity: usize,
    ) -> BusFuture<'_, Subscription> {
        let sub = self.join(pattern, Some(group.to_owned()), capacity);
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
    async fn each_message_reaches_one_member_of_a_group_and_every_plain_subscriber() {
        let bus = InProcess::new();
        let mut a = bus
            .subscribe_group(Pattern::new("momo.room.*.live").unwrap(), "notify", 8)
            .await
            .unwrap();
        let mut b = bus
            .subscribe_group(Pattern::new("momo.room.*.live").unwrap(), "notify", 8)
            .await
            .unwrap();
        let mut all = bus.listen(Pattern::new("momo.room.>").unwrap(), 8);
        let queued = bus.deliver(&Subject::of_room(3, "live"), Bytes::from_static(b"x"));
        assert_eq!(queued, 2);
        let got = |s: &mut Subscription| matches!(s.try_recv(), Some(Delivery::Message(_)));
        assert!(
            got(&mut a) ^ got(&mut b),
            "one member of the group, not both"
        );
        assert!(got(&mut all));
        // A member that left is skipped, not counted as served.
        drop(a);
        bus.deliver(&Subject::of_room(3, "live"), Bytes::from_static(b"y"));
        assert!(got(&mut b));
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
