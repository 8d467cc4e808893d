//! The double-entry ledger under every wallet.
//!
//! Money moves only as a [`Txn`]: a row in `ledger_txns` keyed by the asking user's
//! idempotency key, and a set of entries that sum to zero for each asset, written in the
//! same database transaction as the balances they change. A user's accounts
//! (`u{id}.coin`, `u{id}.diamond`, `u{id}.held`) keep their balance in a row that may never
//! go negative: a debit is a conditional update, so two racing debits cannot both spend
//! the last coin. System accounts (`sys.*`) are where money comes from and goes to; they
//! have no row (so they are no hot spot) and their balance is the sum of their entries.
//!
//! A retried request finds its key taken and gets the first answer back, charged once.
//! A key reused for a different request is refused (`idempotency_key_reused`).

use kit::ApiError;
use serde::{Deserialize, Serialize};
use sqlx::{Any, Transaction};

use crate::rooms::errors::LiveError;
use api::error::{Error, Result};

/// What money is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Asset {
    /// Bought by viewers, spent on gifts.
    Coin,
    /// Earned by anchors from gifts, withdrawn for money.
    Diamond,
}

impl Asset {
    pub fn as_str(self) -> &'static str {
        match self {
            Asset::Coin => "coin",
            Asset::Diamond => "diamond",
        }
    }
}

/// One ledger account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Account {
    /// A user's spendable coins.
    Coins(i64),
    /// A user's diamonds.
    Diamonds(i64),
    /// A user's diamonds held for a pending withdrawal.
    Held(i64),
    /// Coins sold through recharges (negative: coins issued).
    Recharge,
    /// Coins spent on gifts.
    GiftCoins,
    /// Diamonds minted for anchors from gifts (negative).
    GiftDiamonds,
    /// Diamonds paid out to anchors.
    Payout,
    /// Operators' manual adjustments, per asset.
    Adjust(Asset),
}

impl Account {
    pub fn id(self) -> String {
        match self {
            Account::Coins(u) => format!("u{u}.coin"),
            Account::Diamonds(u) => format!("u{u}.diamond"),
            Account::Held(u) => format!("u{u}.held"),
            Account::Recharge => "sys.recharge.coin".into(),
            Account::GiftCoins => "sys.gift.coin".into(),
            Account::GiftDiamonds => "sys.gift.diamond".into(),
            Account::Payout => "sys.payout.diamond".into(),
            Account::Adjust(a) => format!("sys.adjust.{}", a.as_str()),
        }
    }

    pub fn asset(self) -> Asset {
        match self {
            Account::Coins(_) | Account::Recharge | Account::GiftCoins => Asset::Coin,
            Account::Diamonds(_) | Account::Held(_) | Account::GiftDiamonds | Account::Payout => {
                Asset::Diamond
            }
            Account::Adjust(a) => a,
        }
    }

    /// The user owning this account, for user accounts.
    pub fn user(self) -> Option<i64> {
        match self {
            Account::Coins(u) | Account::Diamonds(u) | Account::Held(u) => Some(u),
            _ => None,
        }
    }
}

/// One line of a transaction: `amount` into `account` (negative: out of it).
#[derive(Debug, Clone, Copy)]
pub struct Posting {
    pub account: Account,
    pub amount: i64,
}

/// `amount` moves from `from` to `to`.
pub fn transfer(from: Account, to: Account, amount: i64) -> [Posting; 2] {
    [
        Posting {
            account: from,
            amount: -amount,
        },
        Posting {
            account: to,
            amount,
        },
    ]
}

/// The error when a user account has too little for a debit.
pub fn insufficient(account: Account) -> ApiError {
    match account {
        Account::Coins(_) => ApiError::from(LiveError::InsufficientCoins),
        _ => ApiError::from(LiveError::InsufficientDiamonds),
    }
}

/// How starting a transaction went.
pub enum Begun {
    /// A new transaction: post its entries, then [`finish`] it.
    New(i64),
    /// The key was used before, for the same request: here is the first answer.
    Replay(serde_json::Value),
}

/// Claims `key` for a new transaction of `user`, or finds the first answer given for it.
/// `fingerprint` describes the request; the same key with another fingerprint is refused.
pub async fn begin(
    tx: &mut Transaction<'static, Any>,
    kind: &str,
    user: i64,
    key: &str,
    fingerprint: &str,
    memo: &str,
    now: i64,
) -> Result<Begun> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO ledger_txns (kind, user_id, idempotency_key, fingerprint, memo, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_id, idempotency_key) DO NOTHING \
         RETURNING id",
    )
    .bind(kind)
    .bind(user)
    .bind(key)
    .bind(fingerprint)
    .bind(memo)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(id) = id {
        return Ok(Begun::New(id));
    }
    // Taken: by this same request before (its answer), or by another (refused).
    stored(&mut **tx, user, key, fingerprint)
        .await?
        .map(Begun::Replay)
        .ok_or_else(|| Error::internal("a claimed idempotency key vanished"))
}

/// Applies `postings` of transaction `txn`: moves the balances of user accounts (a debit
/// that would go below zero fails the whole transaction with 402) and writes the entries.
/// Returns each user account's balance after, in the order of `postings`.
pub async fn post(
    tx: &mut Transaction<'static, Any>,
    txn: i64,
    postings: &[Posting],
    now: i64,
) -> Result<Vec<Option<i64>>> {
    super::ledger_batch::check_balanced(txn, postings)?;
    let mut after = Vec::with_capacity(postings.len());
    for p in postings {
        let Some(user) = p.account.user() else {
            after.push(None);
            continue;
        };
        let id = p.account.id();
        let balance: Option<i64> = if p.amount < 0 {
            sqlx::query_scalar(
                "UPDATE ledger_accounts SET balance = balance + $1, updated_at = $2 \
                 WHERE id = $3 AND balance >= $4 RETURNING balance",
            )
            .bind(p.amount)
            .bind(now)
            .bind(&id)
            .bind(-p.amount)
            .fetch_optional(&mut **tx)
            .await?
        } else {
            sqlx::query_scalar(
                "INSERT INTO ledger_accounts (id, user_id, asset, balance, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE \
                 SET balance = ledger_accounts.balance + excluded.balance, \
                     updated_at = excluded.updated_at \
                 RETURNING balance",
            )
            .bind(&id)
            .bind(user)
            .bind(p.account.asset().as_str())
            .bind(p.amount)
            .bind(now)
            .fetch_optional(&mut **tx)
            .await?
        };
        match balance {
            Some(b) => after.push(Some(b)),
            None => return Err(insufficient(p.account).into()),
        }
    }
    let applied = [(txn, postings.to_vec())];
    super::ledger_batch::write_entries(tx, &applied, &[Ok(after.clone())], now).await?;
    Ok(after)
}

/// Records the answer given for transaction `txn`, repeated to retries of its key.
pub async fn finish(
    tx: &mut Transaction<'static, Any>,
    txn: i64,
    result: &impl Serialize,
) -> Result<()> {
    let text = serde_json::to_string(result).map_err(Error::internal)?;
    sqlx::query("UPDATE ledger_txns SET result = $1 WHERE id = $2")
        .bind(text)
        .bind(txn)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A ledger transaction being written: post its entries through `tx`, then [`commit`].
///
/// [`commit`]: LedgerTxn::commit
pub struct LedgerTxn {
    pub tx: Transaction<'static, Any>,
    /// The ledger transaction's id.
    pub id: i64,
    /// Its time.
    pub now: i64,
}

impl LedgerTxn {
    /// Stores `result` as the answer to the key and commits everything.
    pub async fn commit(mut self, result: &impl Serialize) -> Result<()> {
        finish(&mut self.tx, self.id, result).await?;
        self.tx.commit().await?;
        Ok(())
    }
}

/// How opening a ledger transaction went.
pub enum Opened<R> {
    /// A new one: write it, then commit it. Dropping it rolls everything back (and
    /// leaves the key free, so the request may be retried).
    New(LedgerTxn),
    /// The key was used before for the same request: the first answer.
    Replay(R),
}

/// Opens ledger transaction `kind` of `user` under idempotency key `key`, in a new
/// database transaction; or, when the key was used before, returns the stored answer.
pub async fn open<R: serde::de::DeserializeOwned>(
    store: &store::Store,
    kind: &str,
    user: i64,
    key: &str,
    fingerprint: &str,
    memo: &str,
) -> Result<Opened<R>> {
    let now = kit::time::now_ms();
    let mut tx = store.begin().await?;
    match begin(&mut tx, kind, user, key, fingerprint, memo, now).await? {
        Begun::New(id) => Ok(Opened::New(LedgerTxn { tx, id, now })),
        Begun::Replay(first) => {
            tx.rollback().await?;
            Ok(Opened::Replay(
                serde_json::from_value(first).map_err(Error::internal)?,
            ))
        }
    }
}

/// The stored answer to `user`'s key, if the key was used for this same request; an
/// error if it was used for another. For use cases whose preconditions may have changed
/// since the first answer (a room that went offline): a retry still gets that answer.
pub async fn replay<R: serde::de::DeserializeOwned>(
    store: &store::Store,
    user: i64,
    key: &str,
    fingerprint: &str,
) -> Result<Option<R>> {
    stored(store.pool(), user, key, fingerprint).await
}

/// The answer stored under `user`'s `key`, if there is one; 409 if the key was used for
/// a request other than `fingerprint`.
async fn stored<'e, E, R>(exec: E, user: i64, key: &str, fingerprint: &str) -> Result<Option<R>>
where
    E: sqlx::Executor<'e, Database = Any>,
    R: serde::de::DeserializeOwned,
{
    let found: Option<(String, String)> = sqlx::query_as(
        "SELECT fingerprint, result FROM ledger_txns WHERE user_id = $1 AND idempotency_key = $2",
    )
    .bind(user)
    .bind(key)
    .fetch_optional(exec)
    .await?;
    let Some((first, result)) = found else {
        return Ok(None);
    };
    if first != fingerprint {
        return Err(key_reused().into());
    }
    Ok(Some(
        serde_json::from_str(&result).map_err(Error::internal)?,
    ))
}

/// The refusal of an idempotency key used before for a different request.
pub fn key_reused() -> ApiError {
    ApiError::from(LiveError::IdempotencyKeyReused)
}

/// Checks an idempotency key: 1 to 64 visible ASCII characters.
pub fn check_key(f: &mut api::http::Fields, key: &str) {
    f.check(
        "idempotency_key",
        (1..=64).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()),
        "must be 1 to 64 visible ASCII characters",
    );
}

/// A user's balances.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Balances {
    pub coins: i64,
    pub diamonds: i64,
    /// Diamonds held for withdrawals waiting for an operator.
    pub diamonds_held: i64,
}

/// Reads `user`'s balances (zero for accounts never used).
pub async fn balances<'e, E>(exec: E, user: i64) -> Result<Balances>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT id, balance FROM ledger_accounts WHERE user_id = $1")
            .bind(user)
            .fetch_all(exec)
            .await?;
    let mut b = Balances::default();
    for (id, balance) in rows {
        if id == Account::Coins(user).id() {
            b.coins = balance;
        } else if id == Account::Diamonds(user).id() {
            b.diamonds = balance;
        } else if id == Account::Held(user).id() {
            b.diamonds_held = balance;
        }
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_name_their_owner_and_asset() {
        assert_eq!(Account::Coins(7).id(), "u7.coin");
        assert_eq!(Account::Held(7).asset(), Asset::Diamond);
        assert_eq!(Account::Adjust(Asset::Coin).id(), "sys.adjust.coin");
        assert_eq!(Account::GiftCoins.user(), None);
        let t = transfer(Account::Coins(1), Account::GiftCoins, 5);
        assert_eq!(t[0].amount + t[1].amount, 0);
    }
}
