//! Writing gifts in batches: one database transaction for every gift waiting to be
//! written, with a fixed number of statements however many there are.
//!
//! A gift alone would cost about ten round trips to the database (claim the key, debit,
//! credit, entries, event, rankings, answer, commit), and on SQLite, where writes take
//! turns, those round trips are the limit on gifts per second. So gifts go to one writer
//! task; it takes the first waiting gift and every other already waiting (up to
//! [`MAX_BATCH`]), and writes them together: claim all keys in one insert, read (and on
//! PostgreSQL lock) the senders' balances, decide in request order which gifts the
//! balances pay for, then write balances, ledger entries, gift events, rankings and
//! answers with one statement each. A quiet server writes batches of one, so nothing
//! waits for a batch to fill.
//!
//! Each gift is still its own ledger transaction (its own key, entries summing to zero,
//! its own answer); they merely commit together. A gift the balance cannot pay is refused
//! with 402 and leaves nothing behind. Should a batch fail as a whole (a constraint broken
//! by a writer on another node), each of its gifts is tried again alone, so one gift's
//! failure is never another's.
//!
//! The queue in front of the writer is bounded ([`MAX_WAITING`]): a burst the database
//! cannot keep up with is answered `503 busy` with `Retry-After` (and counted in
//! `gift_queue_full_total`) instead of growing memory and every sender's wait.

use std::collections::HashMap;

use axum::http::StatusCode;
use sqlx::{Any, Row, Transaction};
use store::sql::rows;
use tokio::sync::{mpsc, oneshot};

use crate::gifts::rankings::Contributions;
use crate::gifts::send::GiftSent;
use crate::wallet::ledger::{insufficient, key_reused, transfer, Account, Posting};
use crate::wallet::ledger_batch::{self, Claim};
use api::error::{Error, Result};

/// Most gifts written in one transaction.
pub const MAX_BATCH: usize = 128;

/// Most gifts waiting for the writer: 32 full batches, a few seconds of a busy SQLite.
pub const MAX_WAITING: usize = 32 * MAX_BATCH;

/// A gift checked and priced, ready to be written.
#[derive(Debug, Clone)]
pub struct NewGift {
    pub sender: i64,
    pub anchor: i64,
    pub room_id: i64,
    pub session: Option<i64>,
    pub gift_id: i64,
    pub count: i64,
    pub coins: i64,
    pub diamonds: i64,
    pub key: String,
    pub fingerprint: String,
    pub memo: String,
    /// The ranking periods it counts towards.
    pub periods: Vec<String>,
}

type Reply = oneshot::Sender<Result<(StatusCode, GiftSent)>>;

/// The handle of the writer task.
#[derive(Debug)]
pub struct GiftWriter {
    queue: mpsc::Sender<(NewGift, Reply)>,
}

impl GiftWriter {
    /// Starts the writer task for `state`'s database.
    pub fn start(store: store::Store) -> GiftWriter {
        let (queue, rx) = mpsc::channel(MAX_WAITING);
        tokio::spawn(run(store, rx));
        GiftWriter { queue }
    }

    /// Writes `gift`; answers 201 with it, 200 with the first answer to its key, or the
    /// reason it was refused (503 `busy` when too many gifts are waiting).
    pub async fn write(&self, gift: NewGift) -> Result<(StatusCode, GiftSent)> {
        self.enqueue(gift)?
            .await
            .map_err(|_| Error::internal("the gift writer dropped a gift"))?
    }

    /// Puts `gift` in the queue, or refuses it at once when the queue is full.
    fn enqueue(&self, gift: NewGift) -> Result<oneshot::Receiver<Result<(StatusCode, GiftSent)>>> {
        let (reply, answer) = oneshot::channel();
        match self.queue.try_send((gift, reply)) {
            Ok(()) => Ok(answer),
            Err(mpsc::error::TrySendError::Full(_)) => {
                metrics::counter!("gift_queue_full_total").increment(1);
                Err(kit::ApiError::busy(
                    "too many gifts are waiting to be written; send again in a moment",
                    1,
                )
                .into())
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                Err(Error::internal("the gift writer stopped"))
            }
        }
    }
}

async fn run(store: store::Store, mut rx: mpsc::Receiver<(NewGift, Reply)>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let jobs = std::mem::take(&mut batch);
        metrics::histogram!("gift_batch_size").record(jobs.len() as f64);
        let gifts: Vec<NewGift> = jobs.iter().map(|(g, _)| g.clone()).collect();
        let results = match write_batch(&store, &gifts).await {
            Ok(results) => results,
            Err(e) if gifts.len() > 1 => {
                tracing::warn!(
                    "a batch of {} gifts failed ({e}); writing them one by one",
                    gifts.len()
                );
                let mut one_by_one = Vec::with_capacity(gifts.len());
                for g in &gifts {
                    one_by_one.push(match write_batch(&store, std::slice::from_ref(g)).await {
                        Ok(mut r) => r.pop().unwrap_or_else(|| Err(Error::internal("no answer"))),
                        Err(e) => Err(e),
                    });
                }
                one_by_one
            }
            Err(e) => vec![Err(e)],
        };
        for ((_, reply), result) in jobs.into_iter().zip(results) {
            let _ = reply.send(result);
        }
    }
}

/// Writes `gifts` in one transaction; one answer per gift, in order. An `Err` of the
/// whole means nothing was written.
async fn write_batch(
    store: &store::Store,
    gifts: &[NewGift],
) -> Result<Vec<Result<(StatusCode, GiftSent)>>> {
    let now = kit::time::now_ms();
    let mut answers: Vec<Option<Result<(StatusCode, GiftSent)>>> =
        (0..gifts.len()).map(|_| None).collect();
    let (fresh, repeats) = first_of_each_key(gifts);

    let mut tx = store.begin().await?;
    let claims: Vec<Claim<'_>> = (fresh.iter())
        .map(|&i| Claim {
            user: gifts[i].sender,
            key: &gifts[i].key,
            fingerprint: &gifts[i].fingerprint,
            memo: &gifts[i].memo,
        })
        .collect();
    let ids = ledger_batch::claim(&mut tx, "gift", &claims, now).await?;
    let mut new: Vec<(usize, i64)> = Vec::new();
    let mut retried: Vec<usize> = Vec::new();
    for (&i, id) in fresh.iter().zip(ids) {
        match id {
            Some(txn) => new.push((i, txn)),
            None => retried.push(i),
        }
    }
    answer_retries(&mut tx, gifts, &retried, &mut answers).await?;

    let txns: Vec<(i64, Vec<Posting>)> = (new.iter())
        .map(|&(i, txn)| (txn, postings(&gifts[i])))
        .collect();
    let posted = ledger_batch::post(&mut tx, store.backend(), &txns, now).await?;
    let mut paid: Vec<(usize, i64, i64)> = Vec::new(); // (gift, txn, sender's coins after)
    let mut refused: Vec<i64> = Vec::new();
    for (&(i, txn), result) in new.iter().zip(posted) {
        match result {
            Ok(after) => paid.push((i, txn, after.first().copied().flatten().unwrap_or(0))),
            Err(short) => {
                refused.push(txn);
                answers[i] = Some(Err(insufficient(short).into()));
            }
        }
    }
    if !paid.is_empty() {
        let event_of = record_events(&mut tx, gifts, &paid, now).await?;
        let mut contributions = Contributions::default();
        for &(i, _, _) in &paid {
            let g = &gifts[i];
            contributions.add(g.room_id, g.sender, g.anchor, &g.periods, g.coins);
        }
        contributions.write(&mut tx).await?;
        let mut results = Vec::with_capacity(paid.len());
        let mut sents = Vec::with_capacity(paid.len());
        for &(i, txn, coins_left) in &paid {
            let g = &gifts[i];
            let id = (event_of.get(&txn).copied())
                .ok_or_else(|| Error::internal("a gift event went missing"))?;
            let sent = GiftSent {
                id,
                txn_id: txn,
                room_id: g.room_id,
                sender_id: g.sender,
                anchor_id: g.anchor,
                gift_id: g.gift_id,
                count: g.count,
                coins: g.coins,
                diamonds: g.diamonds,
                coins_left,
                created_at: now,
            };
            results.push((txn, serde_json::to_string(&sent).map_err(Error::internal)?));
            sents.push((i, sent));
        }
        ledger_batch::finish(&mut tx, &results).await?;
        for (i, sent) in sents {
            answers[i] = Some(Ok((StatusCode::CREATED, sent)));
        }
    }
    // Refused gifts leave no trace: their keys are free again.
    ledger_batch::release(&mut tx, &refused).await?;
    tx.commit().await?;

    for (i, f) in repeats {
        let g = &gifts[i];
        answers[i] = Some(match &answers[f] {
            _ if gifts[f].fingerprint != g.fingerprint => Err(key_reused().into()),
            Some(Ok((_, sent))) => Ok((StatusCode::OK, sent.clone())),
            Some(Err(Error::Api(e))) => Err(Error::Api(e.clone())),
            _ => Err(Error::internal("the first gift with this key failed")),
        });
    }
    Ok(answers
        .into_iter()
        .map(|a| a.unwrap_or_else(|| Err(Error::internal("a gift got no answer"))))
        .collect())
}

/// The gifts that are the first with their (sender, key), and the later ones paired with
/// their first: a key twice in one batch gets the first's answer.
fn first_of_each_key(gifts: &[NewGift]) -> (Vec<usize>, Vec<(usize, usize)>) {
    let mut first_of: HashMap<(i64, &str), usize> = HashMap::new();
    let mut fresh = Vec::new();
    let mut repeats = Vec::new();
    for (i, g) in gifts.iter().enumerate() {
        match first_of.get(&(g.sender, g.key.as_str())) {
            Some(&f) => repeats.push((i, f)),
            None => {
                first_of.insert((g.sender, g.key.as_str()), i);
                fresh.push(i);
            }
        }
    }
    (fresh, repeats)
}

/// Answers the gifts whose keys were taken before: the first answer, or
/// `idempotency_key_reused` for another request.
async fn answer_retries(
    tx: &mut Transaction<'static, Any>,
    gifts: &[NewGift],
    retried: &[usize],
    answers: &mut [Option<Result<(StatusCode, GiftSent)>>],
) -> Result<()> {
    let keys: Vec<(i64, &str)> = (retried.iter())
        .map(|&i| (gifts[i].sender, gifts[i].key.as_str()))
        .collect();
    let firsts = ledger_batch::stored(tx, &keys).await?;
    for &i in retried {
        let g = &gifts[i];
        answers[i] = Some(match firsts.get(&(g.sender, g.key.clone())) {
            Some((fp, _)) if *fp != g.fingerprint => Err(key_reused().into()),
            Some((_, result)) => serde_json::from_str::<GiftSent>(result)
                .map(|sent| (StatusCode::OK, sent))
                .map_err(Error::internal),
            None => Err(Error::internal("a claimed idempotency key vanished")),
        });
    }
    Ok(())
}

/// A gift's four postings: the sender's coins are spent on gifts, and diamonds are
/// minted for the anchor.
fn postings(g: &NewGift) -> Vec<Posting> {
    let mut ps = transfer(Account::Coins(g.sender), Account::GiftCoins, g.coins).to_vec();
    ps.extend(transfer(
        Account::GiftDiamonds,
        Account::Diamonds(g.anchor),
        g.diamonds,
    ));
    ps
}

/// The gift events of the paid gifts, in one statement; their ids by ledger transaction.
async fn record_events(
    tx: &mut Transaction<'static, Any>,
    gifts: &[NewGift],
    paid: &[(usize, i64, i64)],
    now: i64,
) -> Result<HashMap<i64, i64>> {
    let mut sql = String::from(
        "INSERT INTO gift_events (txn_id, room_id, session_id, sender_id, anchor_id, gift_id, \
                                  count, coins, diamonds, created_at) VALUES ",
    );
    sql.push_str(&rows(1, paid.len(), 10));
    sql.push_str(" RETURNING id, txn_id");
    let mut q = sqlx::query(&sql);
    for &(i, txn, _) in paid {
        let g = &gifts[i];
        q = q
            .bind(txn)
            .bind(g.room_id)
            .bind(g.session)
            .bind(g.sender)
            .bind(g.anchor)
            .bind(g.gift_id)
            .bind(g.count)
            .bind(g.coins)
            .bind(g.diamonds)
            .bind(now);
    }
    let mut event_of = HashMap::with_capacity(paid.len());
    for row in q.fetch_all(&mut **tx).await? {
        event_of.insert(row.try_get("txn_id")?, row.try_get("id")?);
    }
    Ok(event_of)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gift(n: i64) -> NewGift {
        NewGift {
            sender: 1,
            anchor: 2,
            room_id: 3,
            session: None,
            gift_id: 1,
            count: 1,
            coins: 1,
            diamonds: 1,
            key: format!("k{n}"),
            fingerprint: String::new(),
            memo: String::new(),
            periods: Vec::new(),
        }
    }

    #[tokio::test]
    async fn a_full_queue_answers_busy_at_once_instead_of_growing() {
        // A writer whose task is stalled: nothing leaves the queue.
        let (queue, _stalled) = mpsc::channel(2);
        let writer = GiftWriter { queue };
        let _a = writer.enqueue(gift(1)).unwrap();
        let _b = writer.enqueue(gift(2)).unwrap();
        match writer.enqueue(gift(3)) {
            Err(Error::Api(e)) => {
                assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
                assert_eq!(e.code, "busy");
                assert_eq!(e.retry_after, Some(1));
            }
            other => panic!("expected busy, got {:?}", other.map(|_| ())),
        }
    }
}
