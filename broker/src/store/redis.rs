//! The shared store for several replicas: Redis through a `fred` pool, plus one subscriber
//! connection per replica for change notices.
//!
//! Keys: `valv:session:{id}` (MessagePack record, expiring with `EXAT`), `valv:lock:{name}`,
//! and the sorted set `valv:vaults` (token-record ids by expiry). `create` is `SET NX`,
//! `save` is `SET XX` and `touch` is `EXPIREAT` (which never creates a key): each is one
//! atomic command.
//!
//! Change notices: a replica that deletes a record, or changes a session's tokens, publishes
//! the id on `valv:invalidate` before it answers; every replica subscribes and drops what it
//! cached for that id. While the subscriber connection is down the epoch is `None` (no
//! cache at all); when it is back the epoch moves, so nothing cached before the outage is
//! served after it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use fred::clients::{Client, Pool};
use fred::interfaces::{ClientLike, EventInterface, KeysInterface, LuaInterface, PubsubInterface, SortedSetsInterface};
use fred::types::{Expiration, SetOptions};
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};

use super::{decode, encode, redact_url, unix_now, Invalidation, InvalidationSink, StoreError};

const CHANNEL: &str = "valv:invalidate";
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);
const VAULT_INDEX: &str = "valv:vaults";
const RELEASE_SCRIPT: &str = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
/// `SET … XX` of a record and, in the same atomic step, the notice of `ARGV[3]` on the
/// change channel.
const SAVE_ANNOUNCING_SCRIPT: &str = "if redis.call('set', KEYS[1], ARGV[1], 'EXAT', ARGV[2], 'XX') then \
     redis.call('publish', ARGV[4], ARGV[3]) return 1 else return 0 end";
/// Deletes a record and its index entry and publishes its id, in one atomic step.
const DELETE_SCRIPT: &str = "local n = redis.call('del', KEYS[1]) redis.call('zrem', KEYS[2], ARGV[1]) \
     redis.call('publish', ARGV[2], ARGV[1]) return n";
const COUNT_SCRIPT: &str = "redis.call('zremrangebyscore', KEYS[1], '-inf', ARGV[1]) return redis.call('zcard', KEYS[1])";

fn key(id: &Id) -> String {
    format!("valv:session:{id}")
}

fn err(what: &'static str) -> impl Fn(fred::error::Error) -> StoreError {
    move |e| StoreError(format!("Redis {what}: {}", e.details()))
}

/// The change listener's state, shared with the task that runs it.
#[derive(Default)]
struct Listener {
    live: AtomicBool,
    epoch: AtomicU64,
    sink: OnceLock<InvalidationSink>,
}

impl Listener {
    fn notify(&self, what: Invalidation) {
        if let Some(sink) = self.sink.get() {
            sink(what);
        }
    }

    /// The channel is (again) trustworthy from now on, or not at all: either way, what was
    /// cached before is not.
    fn set_live(&self, live: bool) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.live.store(live, Ordering::Release);
        self.notify(Invalidation::All);
    }
}

/// See the module header.
#[derive(Clone)]
pub(crate) struct RedisBackend {
    pool: Pool,
    subscriber: Client,
    listener: Arc<Listener>,
}

impl RedisBackend {
    pub(crate) async fn open(url: &str) -> Result<Self, StoreError> {
        let shown = redact_url(url);
        let config =
            fred::types::config::Config::from_url(url).map_err(|e| StoreError(format!("bad Redis URL {shown}: {}", e.details())))?;
        let policy = fred::types::config::ReconnectPolicy::new_exponential(0, 100, 2_000, 2);
        // A Redis that stops answering fails calls within 2 s (answered `store_unavailable`)
        // instead of holding every request; a silent connection is closed and re-opened.
        let perf = fred::types::config::PerformanceConfig { default_command_timeout: COMMAND_TIMEOUT, ..Default::default() };
        let connection = fred::types::config::ConnectionConfig {
            connection_timeout: COMMAND_TIMEOUT,
            unresponsive: fred::types::config::UnresponsiveConfig {
                max_timeout: Some(COMMAND_TIMEOUT),
                interval: Duration::from_millis(500),
            },
            tcp: fred::types::config::TcpConfig { nodelay: Some(true), ..Default::default() },
            ..Default::default()
        };
        let pool = Pool::new(config.clone(), Some(perf.clone()), Some(connection.clone()), Some(policy.clone()), 4)
            .map_err(|e| StoreError(format!("Redis {shown}: {}", e.details())))?;
        let _tasks = pool.connect();
        match tokio::time::timeout(Duration::from_secs(10), pool.wait_for_connect()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(StoreError(format!("cannot connect to Redis at {shown}: {}", e.details()))),
            Err(_) => return Err(StoreError(format!("cannot connect to Redis at {shown}: no answer within 10 s"))),
        }
        let subscriber = Client::new(config, Some(perf), Some(connection), Some(policy));
        let listener = Arc::new(Listener::default());
        spawn_listener(subscriber.clone(), listener.clone());
        Ok(Self { pool, subscriber, listener })
    }

    pub(crate) fn set_sink(&self, sink: InvalidationSink) {
        let _ = self.listener.sink.set(sink);
    }

    pub(crate) fn epoch(&self) -> Option<u64> {
        let live = self.listener.live.load(Ordering::Acquire) && self.subscriber.is_connected();
        live.then(|| self.listener.epoch.load(Ordering::Acquire))
    }

    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        match tokio::time::timeout(Duration::from_secs(2), self.pool.ping::<String>(None)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(StoreError(format!("Redis: {}", e.details()))),
            Err(_) => Err(StoreError("Redis: no answer to PING within 2 s".into())),
        }
    }

    async fn set(&self, record: &Record, option: SetOptions) -> Result<bool, StoreError> {
        let set: Option<String> = self
            .pool
            .set(key(&record.id), encode(record)?, Some(Expiration::EXAT(record.expiry_date.unix_timestamp())), Some(option), false)
            .await
            .map_err(err("write"))?;
        Ok(set.is_some())
    }

    pub(crate) async fn create(&self, record: &mut Record) -> Result<(), StoreError> {
        while !self.set(record, SetOptions::NX).await? {
            record.id = Id::default();
        }
        Ok(())
    }

    pub(crate) async fn save(&self, record: &Record) -> Result<bool, StoreError> {
        self.set(record, SetOptions::XX).await
    }

    /// `save`, and the notice that `announce` changed, in one atomic step.
    pub(crate) async fn save_announcing(&self, record: &Record, announce: &Id) -> Result<bool, StoreError> {
        let args: Vec<fred::types::Value> = vec![
            fred::types::Value::Bytes(encode(record)?.into()),
            record.expiry_date.unix_timestamp().into(),
            announce.to_string().into(),
            CHANNEL.into(),
        ];
        let n: i64 = self.pool.eval(SAVE_ANNOUNCING_SCRIPT, vec![key(&record.id)], args).await.map_err(err("write"))?;
        Ok(n == 1)
    }

    pub(crate) async fn touch(&self, id: &Id, expiry: OffsetDateTime) -> Result<bool, StoreError> {
        let n: i64 = self.pool.expire_at(key(id), expiry.unix_timestamp(), None).await.map_err(err("touch"))?;
        Ok(n == 1)
    }

    pub(crate) async fn load(&self, id: &Id) -> Result<Option<Record>, StoreError> {
        let data: Option<Vec<u8>> = self.pool.get(key(id)).await.map_err(err("load"))?;
        data.map(|d| decode(&d)).transpose()
    }

    pub(crate) async fn delete(&self, id: &Id) -> Result<(), StoreError> {
        let keys = vec![key(id), VAULT_INDEX.to_owned()];
        let _: i64 = self.pool.eval(DELETE_SCRIPT, keys, vec![id.to_string(), CHANNEL.to_owned()]).await.map_err(err("delete"))?;
        Ok(())
    }

    pub(crate) async fn index_vault(&self, id: &Id, expires_at: i64) -> Result<(), StoreError> {
        let _: i64 =
            self.pool.zadd(VAULT_INDEX, None, None, false, false, (expires_at as f64, id.to_string())).await.map_err(err("index"))?;
        Ok(())
    }

    pub(crate) async fn count_active(&self) -> Result<u64, StoreError> {
        let n: i64 = self.pool.eval(COUNT_SCRIPT, vec![VAULT_INDEX], vec![unix_now().to_string()]).await.map_err(err("count"))?;
        Ok(n.max(0) as u64)
    }

    pub(crate) async fn try_lock(&self, name: &str, token: &str, ttl_ms: i64) -> Result<bool, StoreError> {
        let set: Option<String> = self
            .pool
            .set(format!("valv:lock:{name}"), token, Some(Expiration::PX(ttl_ms)), Some(SetOptions::NX), false)
            .await
            .map_err(err("lock"))?;
        Ok(set.is_some())
    }

    pub(crate) async fn release(&self, name: &str, token: &str) -> Result<(), StoreError> {
        self.pool
            .eval::<i64, _, _, _>(RELEASE_SCRIPT, vec![format!("valv:lock:{name}")], vec![token.to_owned()])
            .await
            .map(|_| ())
            .map_err(err("unlock"))
    }
}

/// Runs the subscriber connection for the life of the process: (re)subscribes after every
/// (re)connection, forwards each published id, and marks the channel down on any error.
fn spawn_listener(client: Client, listener: Arc<Listener>) {
    tokio::spawn(async move {
        let mut messages = client.message_rx();
        let mut reconnects = client.reconnect_rx();
        let mut errors = client.error_rx();
        let _connection = client.connect();
        loop {
            tokio::select! {
                msg = messages.recv() => match msg {
                    Ok(m) => match m.value.as_string().and_then(|s| s.parse::<Id>().ok()) {
                        Some(id) => listener.notify(Invalidation::Record(id)),
                        None => listener.notify(Invalidation::All),
                    },
                    // Missed notices: nothing cached can be trusted.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => listener.set_live(true),
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                },
                server = reconnects.recv() => {
                    if server.is_err() {
                        break;
                    }
                    match client.subscribe(CHANNEL).await {
                        Ok(()) => {
                            tracing::info!("listening for session changes of other replicas");
                            listener.set_live(true);
                        }
                        Err(e) => {
                            tracing::warn!(error = %e.details(), "cannot subscribe to session changes; serving without a cache");
                            listener.set_live(false);
                        }
                    }
                }
                error = errors.recv() => {
                    if error.is_err() {
                        break;
                    }
                    if listener.live.load(Ordering::Acquire) {
                        tracing::warn!("lost the session-change channel; serving without a cache until it is back");
                    }
                    listener.set_live(false);
                }
            }
        }
        listener.set_live(false);
    });
}
