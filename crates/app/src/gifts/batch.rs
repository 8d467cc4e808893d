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

use std::collections::{BTreeMap, HashMap};

use axum::http::StatusCode;
use sqlx::Row;
use store::sql::{params, rows};
use store::Backend;
use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result};
use crate::gifts::send::GiftSent;
use crate::wallet::ledger::{insufficient, key_reused, Account};

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
    // The same key twice in one batch: the later ones repeat the first's answer.
    let mut first_of: HashMap<(i64, &str), usize> = HashMap::new();
    let mut repeats: Vec<(usize, usize)> = Vec::new();
    let mut fresh: Vec<usize> = Vec::new();
    for (i, g) in gifts.iter().enumerate() {
        match first_of.get(&(g.sender, g.key.as_str())) {
            Some(&f) => repeats.push((i, f)),
            None => {
                first_of.insert((g.sender, g.key.as_str()), i);
                fresh.push(i);
            }
        }
    }

    let mut tx = store.begin().await?;
    // 1. Claim every key; those already claimed are retries.
    let mut sql = String::from(
        "INSERT INTO ledger_txns (kind, user_id, idempotency_key, fingerprint, memo, created_at) VALUES ",
    );
    sql.push_str(&rows(1, fresh.len(), 6));
    sql.push_str(
        " ON CONFLICT (user_id, idempotency_key) DO NOTHING RETURNING id, user_id, idempotency_key",
    );
    let mut q = sqlx::query(&sql);
    for &i in &fresh {
        let g = &gifts[i];
        q = q
            .bind("gift")
            .bind(g.sender)
            .bind(&g.key)
            .bind(&g.fingerprint)
            .bind(&g.memo)
            .bind(now);
    }
    let mut txn_of: HashMap<(i64, String), i64> = HashMap::new();
    for row in q.fetch_all(&mut *tx).await? {
        txn_of.insert(
            (row.try_get("user_id")?, row.try_get("idempotency_key")?),
            row.try_get("id")?,
        );
    }
    let mut new: Vec<(usize, i64)> = Vec::new();
    let mut retried: Vec<usize> = Vec::new();
    for &i in &fresh {
        let g = &gifts[i];
        match txn_of.get(&(g.sender, g.key.clone())) {
            Some(&txn) => new.push((i, txn)),
            None => retried.push(i),
        }
    }
    if !retried.is_empty() {
        let mut sql = String::from(
            "SELECT user_id, idempotency_key, fingerprint, result FROM ledger_txns WHERE ",
        );
        let conds: Vec<String> = (0..retried.len())
            .map(|k| {
                format!(
                    "(user_id = ${} AND idempotency_key = ${})",
                    2 * k + 1,
                    2 * k + 2
                )
            })
            .collect();
        sql.push_str(&conds.join(" OR "));
        let mut q = sqlx::query(&sql);
        for &i in &retried {
            q = q.bind(gifts[i].sender).bind(&gifts[i].key);
        }
        let mut firsts: HashMap<(i64, String), (String, String)> = HashMap::new();
        for row in q.fetch_all(&mut *tx).await? {
            firsts.insert(
                (row.try_get("user_id")?, row.try_get("idempotency_key")?),
                (row.try_get("fingerprint")?, row.try_get("result")?),
            );
        }
        for &i in &retried {
            let g = &gifts[i];
            answers[i] = Some(match firsts.get(&(g.sender, g.key.clone())) {
                Some((fp, _)) if *fp != g.fingerprint => Err(key_reused().into()),
                Some((_, result)) => serde_json::from_str::<GiftSent>(result)
                    .map(|sent| (StatusCode::OK, sent))
                    .map_err(Error::internal),
                None => Err(Error::internal("a claimed idempotency key vanished")),
            });
        }
    }

    // 2. The balances the batch touches — senders' coins and anchors' diamonds, locked on
    // PostgreSQL in id order — then, in request order, who can pay and what each account
    // holds after each gift (for the entries' `balance_after`).
    let mut accounts: Vec<String> = new
        .iter()
        .flat_map(|&(i, _)| {
            let g = &gifts[i];
            [
                Account::Coins(g.sender).id(),
                Account::Diamonds(g.anchor).id(),
            ]
        })
        .collect();
    accounts.sort();
    accounts.dedup();
    let mut balance: HashMap<String, i64> = HashMap::new();
    if !accounts.is_empty() {
        let mut sql = format!(
            "SELECT id, balance FROM ledger_accounts WHERE id IN ({})",
            params(1, accounts.len())
        );
        if store.backend() == Backend::Postgres {
            sql.push_str(" ORDER BY id FOR UPDATE");
        }
        let mut q = sqlx::query(&sql);
        for a in &accounts {
            q = q.bind(a);
        }
        for row in q.fetch_all(&mut *tx).await? {
            balance.insert(row.try_get("id")?, row.try_get("balance")?);
        }
    }
    let mut paid: Vec<(usize, i64, i64)> = Vec::new(); // (gift, txn, sender's coins after)
    let mut refused_txns: Vec<i64> = Vec::new();
    let mut delta: BTreeMap<String, (i64, &'static str, i64)> = BTreeMap::new(); // id -> (user, asset, change)
    let mut anchor_after: HashMap<usize, i64> = HashMap::new();
    for &(i, txn) in &new {
        let g = &gifts[i];
        let from = Account::Coins(g.sender).id();
        let have = balance.get(&from).copied().unwrap_or(0);
        if have < g.coins {
            refused_txns.push(txn);
            answers[i] = Some(Err(insufficient(Account::Coins(g.sender)).into()));
            continue;
        }
        balance.insert(from.clone(), have - g.coins);
        delta.entry(from).or_insert((g.sender, "coin", 0)).2 -= g.coins;
        let to = Account::Diamonds(g.anchor).id();
        let after = balance.entry(to.clone()).or_insert(0);
        *after += g.diamonds;
        anchor_after.insert(i, *after);
        delta.entry(to).or_insert((g.anchor, "diamond", 0)).2 += g.diamonds;
        paid.push((i, txn, have - g.coins));
    }

    if !paid.is_empty() {
        // 3. Balances. Debits update existing rows (the CHECK still keeps them >= 0);
        // credits are upserts (an anchor's first diamonds make the row). Apart, because a
        // CHECK is tested on the row an upsert would insert before its conflict is seen.
        let debits: Vec<(&String, i64)> = delta
            .iter()
            .filter(|(_, v)| v.2 < 0)
            .map(|(k, v)| (k, v.2))
            .collect();
        if !debits.is_empty() {
            let mut sql = String::from("UPDATE ledger_accounts SET balance = balance + CASE id");
            for k in 0..debits.len() {
                sql.push_str(&format!(" WHEN ${} THEN ${}", 2 * k + 1, 2 * k + 2));
            }
            let n = 2 * debits.len();
            sql.push_str(&format!(
                " ELSE 0 END, updated_at = ${} WHERE id IN ({})",
                n + 1,
                params(n + 2, debits.len())
            ));
            let mut q = sqlx::query(&sql);
            for (id, change) in &debits {
                q = q.bind(*id).bind(*change);
            }
            q = q.bind(now);
            for (id, _) in &debits {
                q = q.bind(*id);
            }
            q.execute(&mut *tx).await?;
        }
        let credits: Vec<(&String, &(i64, &'static str, i64))> =
            delta.iter().filter(|(_, v)| v.2 > 0).collect();
        if !credits.is_empty() {
            let mut sql = String::from(
                "INSERT INTO ledger_accounts (id, user_id, asset, balance, updated_at) VALUES ",
            );
            sql.push_str(&rows(1, credits.len(), 5));
            sql.push_str(
                " ON CONFLICT (id) DO UPDATE SET balance = ledger_accounts.balance + excluded.balance, \
                 updated_at = excluded.updated_at",
            );
            let mut q = sqlx::query(&sql);
            for (id, (user, asset, change)) in &credits {
                q = q.bind(*id).bind(*user).bind(*asset).bind(*change).bind(now);
            }
            q.execute(&mut *tx).await?;
        }

        // 4. Four entries per gift.
        let mut sql = String::from(
            "INSERT INTO ledger_entries (txn_id, account, user_id, asset, amount, balance_after, created_at) VALUES ",
        );
        sql.push_str(&rows(1, paid.len() * 4, 7));
        let mut q = sqlx::query(&sql);
        for &(i, txn, coins_after) in &paid {
            let g = &gifts[i];
            let rows: [(Account, i64, Option<i64>); 4] = [
                (Account::Coins(g.sender), -g.coins, Some(coins_after)),
                (Account::GiftCoins, g.coins, None),
                (Account::GiftDiamonds, -g.diamonds, None),
                (
                    Account::Diamonds(g.anchor),
                    g.diamonds,
                    anchor_after.get(&i).copied(),
                ),
            ];
            for (account, amount, after) in rows {
                q = q
                    .bind(txn)
                    .bind(account.id())
                    .bind(account.user())
                    .bind(account.asset().as_str())
                    .bind(amount)
                    .bind(after)
                    .bind(now);
            }
        }
        q.execute(&mut *tx).await?;

        // 5. The gifts.
        let mut sql = String::from(
            "INSERT INTO gift_events (txn_id, room_id, session_id, sender_id, anchor_id, gift_id, \
                                      count, coins, diamonds, created_at) VALUES ",
        );
        sql.push_str(&rows(1, paid.len(), 10));
        sql.push_str(" RETURNING id, txn_id");
        let mut q = sqlx::query(&sql);
        for &(i, txn, _) in &paid {
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
        let mut event_of: HashMap<i64, i64> = HashMap::new();
        for row in q.fetch_all(&mut *tx).await? {
            event_of.insert(row.try_get("txn_id")?, row.try_get("id")?);
        }

        // 6. Rankings: summed per (room, period, user) first, one upsert.
        let mut ranks: BTreeMap<(i64, &str, i64), i64> = BTreeMap::new();
        for &(i, _, _) in &paid {
            let g = &gifts[i];
            for p in &g.periods {
                *ranks.entry((g.room_id, p.as_str(), g.sender)).or_default() += g.coins;
                if !p.starts_with('s') {
                    *ranks.entry((0, p.as_str(), g.anchor)).or_default() += g.coins;
                }
            }
        }
        let mut sql =
            String::from("INSERT INTO gift_ranks (room_id, period, user_id, coins) VALUES ");
        sql.push_str(&rows(1, ranks.len(), 4));
        sql.push_str(
            " ON CONFLICT (room_id, period, user_id) DO UPDATE SET coins = gift_ranks.coins + excluded.coins",
        );
        let mut q = sqlx::query(&sql);
        for ((room, period, user), coins) in &ranks {
            q = q.bind(*room).bind(*period).bind(*user).bind(*coins);
        }
        q.execute(&mut *tx).await?;

        // 7. The answers, stored with their keys.
        let mut sql = String::from("UPDATE ledger_txns SET result = CASE id");
        let mut n = 0;
        let mut sents = Vec::with_capacity(paid.len());
        for &(i, txn, coins_after) in &paid {
            let g = &gifts[i];
            let sent = GiftSent {
                id: event_of
                    .get(&txn)
                    .copied()
                    .ok_or_else(|| Error::internal("a gift event went missing"))?,
                txn_id: txn,
                room_id: g.room_id,
                sender_id: g.sender,
                anchor_id: g.anchor,
                gift_id: g.gift_id,
                count: g.count,
                coins: g.coins,
                diamonds: g.diamonds,
                coins_left: coins_after,
                created_at: now,
            };
            sql.push_str(&format!(" WHEN ${} THEN ${}", n + 1, n + 2));
            n += 2;
            sents.push((i, txn, sent));
        }
        sql.push_str(&format!(
            " ELSE result END WHERE id IN ({})",
            params(n + 1, sents.len())
        ));
        let mut q = sqlx::query(&sql);
        for (_, txn, sent) in &sents {
            q = q
                .bind(*txn)
                .bind(serde_json::to_string(sent).map_err(Error::internal)?);
        }
        for (_, txn, _) in &sents {
            q = q.bind(*txn);
        }
        q.execute(&mut *tx).await?;
        for (i, _, sent) in sents {
            answers[i] = Some(Ok((StatusCode::CREATED, sent)));
        }
    }
    // Refused gifts leave no trace: their keys are free again.
    if !refused_txns.is_empty() {
        let sql = format!(
            "DELETE FROM ledger_txns WHERE id IN ({})",
            params(1, refused_txns.len())
        );
        let mut q = sqlx::query(&sql);
        for t in &refused_txns {
            q = q.bind(*t);
        }
        q.execute(&mut *tx).await?;
    }
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
