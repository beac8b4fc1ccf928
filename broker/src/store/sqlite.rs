//! The embedded store (the default): one SQLite file in WAL mode, owner-only, shared safely
//! by several broker processes on one host.
//!
//! Tables: `valv_sessions` (id, MessagePack record, expiry in unix ms), `valv_locks`,
//! `valv_vault_index`. Writes are single statements, so each is atomic: `create` is an
//! `insert` that never replaces, `save` and `touch` are `update … where` the record is still
//! live. A connection whose statement failed (a full or failing disk) is closed, not put
//! back in the pool: SQLite can keep such a connection's write lock until it is used again.
//!
//! Change signal: a delete appends the id to `valv_changes` in its transaction, and so does
//! a change of a session's tokens ([`SqliteBackend::save_announcing`]): no process sees the
//! change without its log row, or the row without the change. Every commit, by any process, rewrites the
//! WAL-index header at the start of the `-shm` file (its frame count, or its salts after a
//! WAL reset; see SQLite's "WAL-mode file format"). [`SqliteBackend::changes`] reads those 96
//! bytes — one `pread`, no query — and only when they moved since the last look does it read
//! the new rows of `valv_changes`, so a cache checked this way before each use never serves a
//! record that another process changed before that check. Rows older than an hour are
//! pruned; a process that has not looked for that long drops its whole cache.

use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::sqlite::{SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteQueryResult};
use sqlx::{Connection as _, Sqlite};
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};

use super::{decode, encode, unix_now, unix_now_ms, StoreError};

const HEADER_LEN: usize = 96;

/// How long change rows are kept.
const CHANGES_KEPT_MS: i64 = 3_600_000;

struct Watch {
    shm: Option<std::fs::File>,
    /// The header as it was when `last_seq` was read.
    header: [u8; HEADER_LEN],
    last_seq: i64,
    checked_at_ms: i64,
    /// Moves when the change log could not be followed (entries read before are void).
    epoch: u64,
}

/// What changed since the last look.
pub(crate) enum Changes {
    /// Nothing.
    None,
    /// These records.
    Records(Vec<Id>),
    /// Unknown: drop everything.
    All,
}

/// See the module header.
#[derive(Clone)]
pub(crate) struct SqliteBackend {
    pool: SqlitePool,
    watch: Arc<Mutex<Watch>>,
    /// One reader of the change log at a time.
    reading: Arc<tokio::sync::Mutex<()>>,
    shm_path: Arc<PathBuf>,
}

fn err(what: &str) -> impl Fn(sqlx::Error) -> StoreError + '_ {
    move |e| StoreError(format!("SQLite {what}: {e}"))
}

/// Whether a failed statement leaves its connection fit for reuse (a constraint said no;
/// nothing went wrong with the file).
fn connection_is_fine(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// After `result` of a statement on `conn`: a connection that saw a failure is closed when
/// dropped instead of going back to the pool.
fn settle<T>(conn: &mut PoolConnection<Sqlite>, result: Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
    if result.as_ref().is_err_and(|e| !connection_is_fine(e)) {
        conn.close_on_drop();
    }
    result
}

fn expiry_ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

impl SqliteBackend {
    pub(crate) async fn open(path: &Path) -> Result<Self, StoreError> {
        let shown = path.display();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError(format!("cannot create the directory of {shown}: {e}")))?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .connect_with(options)
            .await
            .map_err(|e| StoreError(format!("cannot open SQLite database {shown}: {e}")))?;
        restrict_permissions(path);
        for ddl in [
            "create table if not exists valv_sessions (id text primary key not null, data blob not null, expires_at integer not null)",
            "create table if not exists valv_locks (name text primary key not null, token text not null, expires_at integer not null)",
            "create table if not exists valv_vault_index (id text primary key not null, expires_at integer not null)",
            "create table if not exists valv_changes (seq integer primary key autoincrement, id text not null, at integer not null)",
        ] {
            sqlx::query(ddl).execute(&pool).await.map_err(|e| StoreError(format!("cannot create Valv's tables in {shown}: {e}")))?;
        }
        // A file the broker can read but not write (read-only file, directory or mount, a
        // full disk) would fail every login later: refuse it now, saying so.
        for probe in [
            "insert into valv_locks (name, token, expires_at) values ('valv-write-probe', '', 0) on conflict (name) do update set token = ''",
            "delete from valv_locks where name = 'valv-write-probe'",
        ] {
            sqlx::query(probe).execute(&pool).await.map_err(|e| {
                StoreError(format!("cannot write to SQLite database {shown} (is it, its directory or its disk read-only or full?): {e}"))
            })?;
        }
        let mut shm_path = path.as_os_str().to_owned();
        shm_path.push("-shm");
        let shm_path = PathBuf::from(shm_path);
        restrict_permissions(&shm_path);
        let shm = std::fs::File::open(&shm_path).ok();
        let mut header = [0u8; HEADER_LEN];
        if let Some(f) = &shm {
            let _ = f.read_exact_at(&mut header, 0);
        }
        let (last_seq,): (i64,) = sqlx::query_as("select coalesce(max(seq), 0) from valv_changes")
            .fetch_one(&pool)
            .await
            .map_err(|e| StoreError(format!("cannot read Valv's change log in {shown}: {e}")))?;
        let watch = Watch { shm, header, last_seq, checked_at_ms: unix_now_ms(), epoch: 0 };
        Ok(Self { pool, watch: Arc::new(Mutex::new(watch)), reading: Arc::default(), shm_path: Arc::new(shm_path) })
    }

    /// Runs one statement on a connection of its own (see [`settle`]).
    async fn execute<'q>(&self, q: sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>>) -> Result<SqliteQueryResult, sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        let result = q.execute(&mut *conn).await;
        settle(&mut conn, result)
    }

    fn watch(&self) -> std::sync::MutexGuard<'_, Watch> {
        self.watch.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The current header, or `None` when it cannot be read.
    fn header(&self, w: &mut Watch) -> Option<[u8; HEADER_LEN]> {
        if w.shm.is_none() {
            w.shm = std::fs::File::open(self.shm_path.as_path()).ok();
        }
        let mut now = [0u8; HEADER_LEN];
        if w.shm.as_ref().is_some_and(|f| f.read_exact_at(&mut now, 0).is_ok()) {
            Some(now)
        } else {
            w.shm = None;
            None
        }
    }

    /// The epoch (see the module header); `None` while the header cannot be read (as
    /// [`SqliteBackend::changes`] last found it: no second `pread` per request).
    pub(crate) fn epoch(&self) -> Option<u64> {
        let w = self.watch();
        w.shm.is_some().then_some(w.epoch)
    }

    /// What other connections changed since the last call (see the module header).
    pub(crate) async fn changes(&self) -> Changes {
        {
            let mut w = self.watch();
            match self.header(&mut w) {
                Some(h) if h == w.header => return Changes::None,
                Some(_) => {}
                None => return Changes::All,
            }
        }
        let _reading = self.reading.lock().await;
        let (header, last_seq, checked_at) = {
            let mut w = self.watch();
            match self.header(&mut w) {
                Some(h) if h == w.header => return Changes::None,
                Some(h) => (h, w.last_seq, w.checked_at_ms),
                None => return Changes::All,
            }
        };
        let now = unix_now_ms();
        let rows: Result<Vec<(i64, String)>, _> =
            sqlx::query_as("select seq, id from valv_changes where seq > ?1 order by seq").bind(last_seq).fetch_all(&self.pool).await;
        let mut w = self.watch();
        match rows {
            Ok(rows) if now - checked_at < CHANGES_KEPT_MS - 60_000 => {
                w.header = header;
                w.checked_at_ms = now;
                w.last_seq = rows.last().map_or(last_seq, |(seq, _)| *seq);
                Changes::Records(rows.iter().filter_map(|(_, id)| id.parse().ok()).collect())
            }
            Ok(rows) => {
                // Not looked for so long that rows may have been pruned.
                w.header = header;
                w.checked_at_ms = now;
                w.last_seq = rows.last().map_or(last_seq, |(seq, _)| *seq);
                w.epoch = w.epoch.wrapping_add(1);
                Changes::All
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading the SQLite change log failed; dropping the session cache");
                w.epoch = w.epoch.wrapping_add(1);
                Changes::All
            }
        }
    }

    /// `save`, and in the same transaction a row in `valv_changes` telling the other
    /// processes that `announce` changed. Nothing is written when either fails.
    pub(crate) async fn save_announcing(&self, record: &Record, announce: &Id) -> Result<bool, StoreError> {
        let data = encode(record)?;
        let mut conn = self.pool.acquire().await.map_err(err("save"))?;
        let result = async {
            let mut tx = conn.begin().await?;
            let done = sqlx::query("update valv_sessions set data = ?1, expires_at = ?2 where id = ?3 and expires_at > ?4")
                .bind(data)
                .bind(expiry_ms(record.expiry_date))
                .bind(record.id.to_string())
                .bind(unix_now_ms())
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
            sqlx::query("insert into valv_changes (id, at) values (?1, ?2)")
                .bind(announce.to_string())
                .bind(unix_now_ms())
                .execute(&mut *tx)
                .await?;
            tx.commit().await.map(|()| true)
        }
        .await;
        settle(&mut conn, result).map_err(err("save"))
    }

    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        self.execute(sqlx::query("select 1")).await.map(|_| ()).map_err(err("ping"))
    }

    pub(crate) async fn create(&self, record: &mut Record) -> Result<(), StoreError> {
        loop {
            let res = self
                .execute(
                    sqlx::query("insert into valv_sessions (id, data, expires_at) values (?1, ?2, ?3)")
                        .bind(record.id.to_string())
                        .bind(encode(record)?)
                        .bind(expiry_ms(record.expiry_date)),
                )
                .await;
            match res {
                Ok(_) => return Ok(()),
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => record.id = Id::default(),
                Err(e) => return Err(err("create")(e)),
            }
        }
    }

    pub(crate) async fn save(&self, record: &Record) -> Result<bool, StoreError> {
        let done = self
            .execute(
                sqlx::query("update valv_sessions set data = ?1, expires_at = ?2 where id = ?3 and expires_at > ?4")
                    .bind(encode(record)?)
                    .bind(expiry_ms(record.expiry_date))
                    .bind(record.id.to_string())
                    .bind(unix_now_ms()),
            )
            .await
            .map_err(err("save"))?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn touch(&self, id: &Id, expiry: OffsetDateTime) -> Result<bool, StoreError> {
        let done = self
            .execute(
                sqlx::query("update valv_sessions set expires_at = ?1 where id = ?2 and expires_at > ?3")
                    .bind(expiry_ms(expiry))
                    .bind(id.to_string())
                    .bind(unix_now_ms()),
            )
            .await
            .map_err(err("touch"))?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn load(&self, id: &Id) -> Result<Option<Record>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(err("load"))?;
        let row: Result<Option<(Vec<u8>, i64)>, _> =
            sqlx::query_as("select data, expires_at from valv_sessions where id = ?1 and expires_at > ?2")
                .bind(id.to_string())
                .bind(unix_now_ms())
                .fetch_optional(&mut *conn)
                .await;
        let row = settle(&mut conn, row).map_err(err("load"))?;
        drop(conn);
        let Some((data, expires_ms)) = row else {
            return Ok(None);
        };
        let mut record = decode(&data)?;
        // `touch` moves the column only; the column is the truth.
        if let Ok(t) = OffsetDateTime::from_unix_timestamp_nanos(i128::from(expires_ms) * 1_000_000) {
            record.expiry_date = t;
        }
        Ok(Some(record))
    }

    pub(crate) async fn delete(&self, id: &Id) -> Result<(), StoreError> {
        let id = id.to_string();
        let mut conn = self.pool.acquire().await.map_err(err("delete"))?;
        let result = async {
            let mut tx = conn.begin().await?;
            for sql in ["delete from valv_sessions where id = ?1", "delete from valv_vault_index where id = ?1"] {
                sqlx::query(sql).bind(&id).execute(&mut *tx).await?;
            }
            sqlx::query("insert into valv_changes (id, at) values (?1, ?2)").bind(&id).bind(unix_now_ms()).execute(&mut *tx).await?;
            tx.commit().await
        }
        .await;
        settle(&mut conn, result).map_err(err("delete"))
    }

    pub(crate) async fn delete_expired(&self) -> Result<(), StoreError> {
        for (sql, at) in [
            ("delete from valv_sessions where expires_at <= ?1", unix_now_ms()),
            ("delete from valv_vault_index where expires_at <= ?1", unix_now()),
            ("delete from valv_locks where expires_at <= ?1", unix_now_ms()),
            ("delete from valv_changes where at <= ?1", unix_now_ms() - CHANGES_KEPT_MS),
        ] {
            self.execute(sqlx::query(sql).bind(at)).await.map_err(err("cleanup"))?;
        }
        Ok(())
    }

    pub(crate) async fn index_vault(&self, id: &Id, expires_at: i64) -> Result<(), StoreError> {
        // Only for a record that exists: a save racing a logout adds no ghost row.
        self.execute(
            sqlx::query(
                "insert into valv_vault_index (id, expires_at) select ?1, ?2 where exists (select 1 from valv_sessions where id = ?1) \
             on conflict(id) do update set expires_at = excluded.expires_at",
            )
            .bind(id.to_string())
            .bind(expires_at),
        )
        .await
        .map_err(err("index"))?;
        Ok(())
    }

    pub(crate) async fn count_active(&self) -> Result<u64, StoreError> {
        let (n,): (i64,) = sqlx::query_as("select count(*) from valv_vault_index where expires_at > ?1")
            .bind(unix_now())
            .fetch_one(&self.pool)
            .await
            .map_err(err("count"))?;
        Ok(n.max(0) as u64)
    }

    pub(crate) async fn try_lock(&self, name: &str, token: &str, ttl_ms: i64) -> Result<bool, StoreError> {
        let now = unix_now_ms();
        let done = self
            .execute(
                sqlx::query(
                    "insert into valv_locks (name, token, expires_at) values (?1, ?2, ?3) \
             on conflict(name) do update set token = excluded.token, expires_at = excluded.expires_at \
             where valv_locks.expires_at <= ?4",
                )
                .bind(name)
                .bind(token)
                .bind(now.saturating_add(ttl_ms))
                .bind(now),
            )
            .await
            .map_err(err("lock"))?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn release(&self, name: &str, token: &str) -> Result<(), StoreError> {
        self.execute(sqlx::query("delete from valv_locks where name = ?1 and token = ?2").bind(name).bind(token))
            .await
            .map(|_| ())
            .map_err(err("unlock"))
    }
}

fn restrict_permissions(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    if !path.exists() {
        return;
    }
    // Tokens are sealed, but session ids are bearer credentials: owner-only.
    if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
        tracing::warn!(file = %path.display(), error = %e, "could not restrict the session database to its owner");
    }
}
