//! What the nodes of a cluster keep together in Redis (`[cluster] redis_url`): failure
//! counts for the sign-in and registration limits, and each node's online counts. It is
//! never the source of truth (PostgreSQL is): losing it loses only counts, and each
//! caller falls back to what its node knows while it is away.
//!
//! Every key starts with the cluster's prefix (`[cluster] redis_prefix`, `momo`).
//!
//! - **Limits**: a key per limiter and subject (`momo:fail:login_ip:1.2.3.4`), a hash of
//!   the count and the time of the latest failure, living `window` after it. Counting is
//!   one script (increment, stamp, extend) so that two nodes counting at once both count.
//! - **Rates**: a token bucket per subject (`momo:rate:chat_send:42`), refilled and taken
//!   from in one script: a member's room messages over all their sockets on all nodes.
//! - **Online**: each node writes its rooms' counts to its own hash
//!   (`momo:online:node:{node}`) every few seconds, living a few seconds more; a node
//!   that dies stops renewing it and its counts drop out by themselves. The set
//!   `momo:online:nodes` names the nodes to read.
//! - **Recent room messages**: the node a room message was pushed on appends it to the
//!   room's list (`momo:recent:{room}`, the last few, living a while after the last), so
//!   that a node whose first member joins the room can show them what was said.

use std::collections::HashMap;
use std::time::Duration;

use futures::future::BoxFuture;
use redis::aio::ConnectionManager;

/// How long a connection or a command may take before the caller decides alone.
const WAIT: Duration = Duration::from_secs(2);

const RECORD_FAILURE: &str = r#"
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('HSET', KEYS[1], 'last', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return n
"#;

const TAKE_TOKEN: &str = r#"
local b = redis.call('HMGET', KEYS[1], 't', 'ts')
local now = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
local ok = 0
if tokens >= 1 then
  tokens = tokens - 1
  ok = 1
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return ok
"#;

/// A connection to the cluster's Redis (it reconnects by itself).
#[derive(Clone)]
pub struct Shared {
    conn: ConnectionManager,
    record: std::sync::Arc<redis::Script>,
    take: std::sync::Arc<redis::Script>,
    /// Starts every key: one Redis can serve several momo clusters.
    prefix: String,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Shared(redis)")
    }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Shared {
    /// Connects to `url` (`redis://host:6379`), its keys starting with `prefix`
    /// (`momo`); fails when it does not answer now.
    pub async fn connect(url: &str, prefix: &str) -> Result<Shared, String> {
        let client = redis::Client::open(url).map_err(|e| format!("redis URL {url}: {e}"))?;
        // Retries at most `WAIT` apart (the library's default factor waits minutes
        // between the first attempts after an outage), and a command that gets no answer
        // fails after `WAIT` instead of hanging on a half-open connection.
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_factor(2)
            .set_max_delay(WAIT.as_millis() as u64)
            .set_number_of_retries(8)
            .set_connection_timeout(WAIT)
            .set_response_timeout(WAIT);
        let conn = tokio::time::timeout(WAIT, ConnectionManager::new_with_config(client, config))
            .await
            .map_err(|_| format!("redis at {url} did not answer in {WAIT:?}"))?
            .map_err(|e| format!("cannot connect to redis at {url}: {e}"))?;
        Ok(Shared {
            conn,
            record: std::sync::Arc::new(redis::Script::new(RECORD_FAILURE)),
            take: std::sync::Arc::new(redis::Script::new(TAKE_TOKEN)),
            prefix: prefix.to_owned(),
        })
    }

    fn key(&self, rest: &str) -> String {
        format!("{}:{rest}", self.prefix)
    }

    /// Takes a token from the bucket `key` (refilled at `per_sec`, holding up to
    /// `burst`), in one script: whether there was one.
    pub async fn take(&self, key: &str, per_sec: f64, burst: f64) -> Result<bool, String> {
        let mut conn = self.conn.clone();
        let mut call = self.take.key(self.key(&format!("rate:{key}")));
        call.arg(kit::time::now_ms()).arg(per_sec).arg(burst);
        let take = call.invoke_async::<i64>(&mut conn);
        match tokio::time::timeout(Duration::from_millis(250), take).await {
            Ok(Ok(n)) => Ok(n == 1),
            Ok(Err(e)) => Err(err(e)),
            Err(_) => Err("timed out".into()),
        }
    }

    /// Whether Redis answers now.
    pub async fn is_up(&self) -> bool {
        let mut conn = self.conn.clone();
        let ping = redis::cmd("PING");
        let answer = ping.query_async::<String>(&mut conn);
        matches!(tokio::time::timeout(WAIT, answer).await, Ok(Ok(_)))
    }

    /// Writes this node's counts of `kind` (`online`: people in each room's chat;
    /// `players`: each stream's audience) replacing the last, to live `ttl`.
    pub async fn put_counts(
        &self,
        kind: &str,
        node: &str,
        counts: &[(String, u32)],
        ttl: Duration,
    ) -> Result<(), String> {
        let key = self.key(&format!("{kind}:node:{node}"));
        let mut pipe = redis::pipe();
        pipe.atomic().del(&key).ignore();
        if !counts.is_empty() {
            pipe.hset_multiple(&key, counts).ignore();
        }
        // An empty hash does not exist: a marker keeps the node listed while it lives.
        pipe.hset(&key, "", 0).ignore();
        pipe.pexpire(&key, ttl.as_millis() as i64).ignore();
        pipe.sadd(self.key(&format!("{kind}:nodes")), node).ignore();
        // The list lives as long as its last writer keeps it: a cluster that stops
        // leaves nothing behind.
        pipe.pexpire(self.key(&format!("{kind}:nodes")), ttl.as_millis() as i64)
            .ignore();
        let mut conn = self.conn.clone();
        tokio::time::timeout(WAIT, pipe.query_async::<()>(&mut conn))
            .await
            .map_err(|_| "timed out".to_string())?
            .map_err(err)
    }

    /// The counts of `kind` of every node but `except`, added up per room. Nodes whose
    /// counts have expired (they died) are forgotten.
    pub async fn counts_elsewhere(
        &self,
        kind: &str,
        except: &str,
    ) -> Result<HashMap<String, u32>, String> {
        let mut conn = self.conn.clone();
        let read = async {
            let nodes: Vec<String> = redis::cmd("SMEMBERS")
                .arg(self.key(&format!("{kind}:nodes")))
                .query_async(&mut conn)
                .await
                .map_err(err)?;
            let mut total: HashMap<String, u32> = HashMap::new();
            for node in nodes.iter().filter(|n| n.as_str() != except) {
                let counts: HashMap<String, u32> = redis::cmd("HGETALL")
                    .arg(self.key(&format!("{kind}:node:{node}")))
                    .query_async(&mut conn)
                    .await
                    .map_err(err)?;
                if counts.is_empty() {
                    let _: i64 = redis::cmd("SREM")
                        .arg(self.key(&format!("{kind}:nodes")))
                        .arg(node)
                        .query_async(&mut conn)
                        .await
                        .map_err(err)?;
                    continue;
                }
                for (room, n) in counts {
                    if !room.is_empty() {
                        *total.entry(room).or_insert(0) += n;
                    }
                }
            }
            Ok::<_, String>(total)
        };
        tokio::time::timeout(WAIT, read)
            .await
            .map_err(|_| "timed out".to_string())?
    }
}

/// One recent room message as kept in Redis: its operation (4 bytes, big-endian), then
/// its body.
fn recent_entry(op: u32, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(4 + body.len());
    v.extend_from_slice(&op.to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn read_recent_entry(v: &[u8]) -> Option<(u32, bytes::Bytes)> {
    let (op, body) = v.split_first_chunk::<4>()?;
    Some((u32::from_be_bytes(*op), bytes::Bytes::copy_from_slice(body)))
}

impl Shared {
    /// Appends room messages (`(room, op, body)`, oldest first) to their rooms' recent
    /// lists, each keeping its last `keep` and living `ttl` after its last message; one
    /// round trip for all.
    pub async fn append_recent(
        &self,
        messages: &[(String, u32, bytes::Bytes)],
        keep: usize,
        ttl: Duration,
    ) -> Result<(), String> {
        if messages.is_empty() || keep == 0 {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        let mut rooms: Vec<&str> = Vec::new();
        for (room, op, body) in messages {
            pipe.rpush(self.key(&format!("recent:{room}")), recent_entry(*op, body))
                .ignore();
            if !rooms.contains(&room.as_str()) {
                rooms.push(room);
            }
        }
        for room in rooms {
            let key = self.key(&format!("recent:{room}"));
            pipe.ltrim(&key, -(keep as isize), -1).ignore();
            pipe.pexpire(&key, ttl.as_millis() as i64).ignore();
        }
        let mut conn = self.conn.clone();
        tokio::time::timeout(WAIT, pipe.query_async::<()>(&mut conn))
            .await
            .map_err(|_| "timed out".to_string())?
            .map_err(err)
    }

    /// `room`'s recent messages, oldest first (entries that cannot be read are skipped).
    pub async fn recent(&self, room: &str) -> Result<Vec<(u32, bytes::Bytes)>, String> {
        let mut conn = self.conn.clone();
        let mut lrange = redis::cmd("LRANGE");
        lrange
            .arg(self.key(&format!("recent:{room}")))
            .arg(0)
            .arg(-1);
        let read = lrange.query_async::<Vec<Vec<u8>>>(&mut conn);
        let entries = tokio::time::timeout(Duration::from_millis(500), read)
            .await
            .map_err(|_| "timed out".to_string())?
            .map_err(err)?;
        Ok(entries
            .iter()
            .filter_map(|e| read_recent_entry(e))
            .collect())
    }
}

impl kit::limiter::SharedFailures for Shared {
    fn record(&self, key: String, window: Duration) -> BoxFuture<'_, Result<u32, String>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            self.record
                .key(self.key(&format!("fail:{key}")))
                .arg(kit::time::now_ms())
                .arg(window.as_millis().max(1) as i64)
                .invoke_async::<u32>(&mut conn)
                .await
                .map_err(err)
        })
    }

    fn read(&self, key: String) -> BoxFuture<'_, Result<Option<(u32, Duration)>, String>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            let (n, last): (Option<u32>, Option<i64>) = redis::cmd("HMGET")
                .arg(self.key(&format!("fail:{key}")))
                .arg("n")
                .arg("last")
                .query_async(&mut conn)
                .await
                .map_err(err)?;
            Ok(match (n, last) {
                (Some(n), Some(last)) => {
                    let age = (kit::time::now_ms() - last).max(0) as u64;
                    Some((n, Duration::from_millis(age)))
                }
                _ => None,
            })
        })
    }

    fn clear(&self, key: String) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let mut conn = self.conn.clone();
            redis::cmd("DEL")
                .arg(self.key(&format!("fail:{key}")))
                .query_async::<()>(&mut conn)
                .await
                .map_err(err)
        })
    }
}
