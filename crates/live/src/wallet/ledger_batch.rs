//! Many ledger transactions in one database transaction, with a fixed number of
//! statements however many there are: how a burst of gifts is written
//! ([`crate::gifts::batch`]).
//!
//! Each transaction keeps everything [`ledger`](super::ledger) promises of one: its own
//! idempotency key, entries that sum to zero for each asset, balances that never go below
//! zero, its own stored answer. They are decided in order, each against the balances the
//! ones before it left, and only commit together. On PostgreSQL the balances read are
//! locked (in id order, so two batches cannot deadlock); on SQLite the writer holds the
//! database.

use std::collections::{BTreeMap, HashMap};

use sqlx::{Any, Row, Transaction};
use store::sql::{params, rows, when_then};
use store::Backend;

use super::ledger::{Account, Asset, Posting};
use api::error::{Error, Result};

/// A key to claim for a new transaction.
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    pub user: i64,
    pub key: &'a str,
    /// Describes the request; the same key with another fingerprint is refused.
    pub fingerprint: &'a str,
    pub memo: &'a str,
}

/// Claims every key for a new transaction of `kind`, in one statement (the keys must be
/// distinct). Returns, in order, each new transaction's id, or `None` where the key was
/// taken before: a retry, or a key reused (tell them apart with [`stored`]).
pub async fn claim(
    tx: &mut Transaction<'static, Any>,
    kind: &str,
    claims: &[Claim<'_>],
    now: i64,
) -> Result<Vec<Option<i64>>> {
    if claims.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = String::from(
        "INSERT INTO ledger_txns (kind, user_id, idempotency_key, fingerprint, memo, created_at) VALUES ",
    );
    sql.push_str(&rows(1, claims.len(), 6));
    sql.push_str(
        " ON CONFLICT (user_id, idempotency_key) DO NOTHING RETURNING id, user_id, idempotency_key",
    );
    let mut q = sqlx::query(&sql);
    for c in claims {
        q = q
            .bind(kind)
            .bind(c.user)
            .bind(c.key)
            .bind(c.fingerprint)
            .bind(c.memo)
            .bind(now);
    }
    let mut id_of: HashMap<(i64, String), i64> = HashMap::new();
    for row in q.fetch_all(&mut **tx).await? {
        id_of.insert(
            (row.try_get("user_id")?, row.try_get("idempotency_key")?),
            row.try_get("id")?,
        );
    }
    Ok(claims
        .iter()
        .map(|c| id_of.get(&(c.user, c.key.to_owned())).copied())
        .collect())
}

/// The first request's fingerprint and stored answer for each taken key `(user, key)`.
pub async fn stored(
    tx: &mut Transaction<'static, Any>,
    keys: &[(i64, &str)],
) -> Result<HashMap<(i64, String), (String, String)>> {
    let mut out = HashMap::new();
    if keys.is_empty() {
        return Ok(out);
    }
    let conds: Vec<String> = (0..keys.len())
        .map(|k| {
            format!(
                "(user_id = ${} AND idempotency_key = ${})",
                2 * k + 1,
                2 * k + 2
            )
        })
        .collect();
    let sql = format!(
        "SELECT user_id, idempotency_key, fingerprint, result FROM ledger_txns WHERE {}",
        conds.join(" OR ")
    );
    let mut q = sqlx::query(&sql);
    for (user, key) in keys {
        q = q.bind(*user).bind(*key);
    }
    for row in q.fetch_all(&mut **tx).await? {
        let result: Option<String> = row.try_get("result")?;
        out.insert(
            (row.try_get("user_id")?, row.try_get("idempotency_key")?),
            (row.try_get("fingerprint")?, result.unwrap_or_default()),
        );
    }
    Ok(out)
}

/// A claimed transaction's id and its postings.
pub type NewTxn = (i64, Vec<Posting>);

/// What became of one transaction given to [`post`].
pub type Posted = std::result::Result<Vec<Option<i64>>, Account>;

/// Posts transactions `(id, postings)` in order. Each is applied when the balances, as
/// the ones before it left them, cover its debits: its answer is each user account's
/// balance after, in the order of its postings (`None` for system accounts). Otherwise
/// it is refused, with the account that was short, and writes nothing. A transaction
/// whose postings do not sum to zero for each asset fails the whole call.
pub async fn post(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    txns: &[NewTxn],
    now: i64,
) -> Result<Vec<Posted>> {
    for (id, postings) in txns {
        check_balanced(*id, postings)?;
    }
    let mut balance = lock_balances(tx, backend, txns).await?;
    let mut change = Changes::default();
    let mut out = Vec::with_capacity(txns.len());
    for (_, postings) in txns {
        out.push(decide(&mut balance, &mut change, postings));
    }
    change.write(tx, now).await?;
    write_entries(tx, txns, &out, now).await?;
    Ok(out)
}

/// Stores each transaction's answer `(id, JSON)`, repeated to retries of its key.
pub async fn finish(tx: &mut Transaction<'static, Any>, results: &[(i64, String)]) -> Result<()> {
    if results.is_empty() {
        return Ok(());
    }
    let mut sql = String::from("UPDATE ledger_txns SET result = CASE id");
    sql.push_str(&when_then(1, results.len()));
    let n = 2 * results.len();
    sql.push_str(&format!(
        " ELSE result END WHERE id IN ({})",
        params(n + 1, results.len())
    ));
    let mut q = sqlx::query(&sql);
    for (id, result) in results {
        q = q.bind(*id).bind(result);
    }
    for (id, _) in results {
        q = q.bind(*id);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

/// Deletes refused transactions, so that their keys are free again.
pub async fn release(tx: &mut Transaction<'static, Any>, ids: &[i64]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "DELETE FROM ledger_txns WHERE id IN ({})",
        params(1, ids.len())
    );
    let mut q = sqlx::query(&sql);
    for id in ids {
        q = q.bind(*id);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

/// Refuses (as an internal error) postings that do not sum to zero for each asset.
pub(super) fn check_balanced(id: i64, postings: &[Posting]) -> Result<()> {
    for asset in [Asset::Coin, Asset::Diamond] {
        let sum: i64 = (postings.iter())
            .filter(|p| p.account.asset() == asset)
            .map(|p| p.amount)
            .sum();
        if sum != 0 {
            return Err(Error::internal(format!(
                "unbalanced ledger transaction {id}: {asset:?} sums to {sum}"
            )));
        }
    }
    Ok(())
}

/// The balances of every user account the transactions touch (0 for one without a row),
/// locked on PostgreSQL in id order.
async fn lock_balances(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    txns: &[NewTxn],
) -> Result<HashMap<String, i64>> {
    let mut accounts: Vec<String> = (txns.iter())
        .flat_map(|(_, ps)| ps.iter())
        .filter(|p| p.account.user().is_some())
        .map(|p| p.account.id())
        .collect();
    accounts.sort();
    accounts.dedup();
    let mut balance = HashMap::with_capacity(accounts.len());
    if accounts.is_empty() {
        return Ok(balance);
    }
    let mut sql = format!(
        "SELECT id, balance FROM ledger_accounts WHERE id IN ({})",
        params(1, accounts.len())
    );
    if backend == Backend::Postgres {
        sql.push_str(" ORDER BY id FOR UPDATE");
    }
    let mut q = sqlx::query(&sql);
    for a in &accounts {
        q = q.bind(a);
    }
    for row in q.fetch_all(&mut **tx).await? {
        balance.insert(row.try_get("id")?, row.try_get("balance")?);
    }
    Ok(balance)
}

/// Applies `postings` to `balance` and `change` if every debit is covered.
fn decide(
    balance: &mut HashMap<String, i64>,
    change: &mut Changes,
    postings: &[Posting],
) -> Posted {
    // Checked first, summed per account (a transaction may touch one twice).
    let mut net: BTreeMap<String, (Account, i64)> = BTreeMap::new();
    for p in postings.iter().filter(|p| p.account.user().is_some()) {
        net.entry(p.account.id()).or_insert((p.account, 0)).1 += p.amount;
    }
    for (id, (account, amount)) in &net {
        if balance.get(id).copied().unwrap_or(0) + amount < 0 {
            return Err(*account);
        }
    }
    let mut after = Vec::with_capacity(postings.len());
    for p in postings {
        let Some(user) = p.account.user() else {
            after.push(None);
            continue;
        };
        let id = p.account.id();
        let b = balance.entry(id.clone()).or_insert(0);
        *b += p.amount;
        after.push(Some(*b));
        change.add(id, user, p.account.asset(), p.amount);
    }
    Ok(after)
}

/// The net change of each user account over the batch.
#[derive(Debug, Default)]
struct Changes(BTreeMap<String, (i64, Asset, i64)>);

impl Changes {
    fn add(&mut self, id: String, user: i64, asset: Asset, amount: i64) {
        self.0.entry(id).or_insert((user, asset, 0)).2 += amount;
    }

    /// Debits update existing rows (the CHECK still keeps them >= 0); credits are
    /// upserts (a first credit makes the row). Apart, because a CHECK is tested on the
    /// row an upsert would insert before its conflict is seen.
    async fn write(&self, tx: &mut Transaction<'static, Any>, now: i64) -> Result<()> {
        let debits: Vec<(&String, i64)> = (self.0.iter())
            .filter(|(_, v)| v.2 < 0)
            .map(|(k, v)| (k, v.2))
            .collect();
        if !debits.is_empty() {
            let mut sql = String::from("UPDATE ledger_accounts SET balance = balance + CASE id");
            sql.push_str(&when_then(1, debits.len()));
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
            q.execute(&mut **tx).await?;
        }
        let credits: Vec<(&String, &(i64, Asset, i64))> =
            self.0.iter().filter(|(_, v)| v.2 > 0).collect();
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
                q = q
                    .bind(*id)
                    .bind(*user)
                    .bind(asset.as_str())
                    .bind(*change)
                    .bind(now);
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }
}

/// The entries of every applied transaction, in one statement.
pub(super) async fn write_entries(
    tx: &mut Transaction<'static, Any>,
    txns: &[NewTxn],
    posted: &[Posted],
    now: i64,
) -> Result<()> {
    let applied: Vec<(&NewTxn, &Vec<Option<i64>>)> = (txns.iter().zip(posted))
        .filter_map(|(t, r)| r.as_ref().ok().map(|after| (t, after)))
        .collect();
    let count: usize = applied.iter().map(|((_, ps), _)| ps.len()).sum();
    if count == 0 {
        return Ok(());
    }
    let mut sql = String::from(
        "INSERT INTO ledger_entries (txn_id, account, user_id, asset, amount, balance_after, created_at) VALUES ",
    );
    sql.push_str(&rows(1, count, 7));
    let mut q = sqlx::query(&sql);
    for ((id, postings), after) in applied {
        for (p, balance) in postings.iter().zip(after) {
            q = q
                .bind(*id)
                .bind(p.account.id())
                .bind(p.account.user())
                .bind(p.account.asset().as_str())
                .bind(p.amount)
                .bind(*balance)
                .bind(now);
        }
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wallet::ledger::transfer;

    fn gift(sender: i64, anchor: i64, coins: i64) -> Vec<Posting> {
        let mut ps = transfer(Account::Coins(sender), Account::GiftCoins, coins).to_vec();
        ps.extend(transfer(
            Account::GiftDiamonds,
            Account::Diamonds(anchor),
            coins / 2,
        ));
        ps
    }

    #[test]
    fn transactions_are_decided_in_order_against_what_the_earlier_left() {
        let mut balance = HashMap::from([(Account::Coins(1).id(), 10)]);
        let mut change = Changes::default();
        let first = decide(&mut balance, &mut change, &gift(1, 2, 6));
        assert_eq!(first, Ok(vec![Some(4), None, None, Some(3)]));
        let second = decide(&mut balance, &mut change, &gift(1, 2, 6));
        assert_eq!(second, Err(Account::Coins(1)), "only 4 coins were left");
        let third = decide(&mut balance, &mut change, &gift(1, 2, 4));
        assert_eq!(third, Ok(vec![Some(0), None, None, Some(5)]));
        assert_eq!(change.0[&Account::Coins(1).id()].2, -10);
        assert_eq!(change.0[&Account::Diamonds(2).id()].2, 5);
    }

    #[test]
    fn an_unbalanced_transaction_is_refused_whole() {
        let mut ps = gift(1, 2, 6);
        ps[0].amount = -5;
        assert!(check_balanced(9, &ps).is_err());
        assert!(check_balanced(9, &gift(1, 2, 6)).is_ok());
    }
}
