//! The broker's log output: the line format, and the writer that puts lines on standard
//! error, informational ones (the access log) in batches and warnings and errors at once.
//!
//! The format is tracing-subscriber's full format without colours —
//! `2026-12-01T22:39:20.651985Z  INFO request{request_id=… method="GET"}: target: message
//! key=value …` — written by [`LineFormat`] and [`LineFields`] with the cost of a proxied
//! call in mind: the timestamp's date and time of day are formatted once a second, and
//! plain strings are quoted without going through `Debug`.
//!
//! A line per request written straight to a pipe wakes the pipe's reader per request, and a
//! writer thread fed line by line (`tracing-appender`) wakes that thread per request; on a
//! loaded machine either costs more than the rest of a proxied call. Here an informational
//! line is appended to a buffer, and a flusher thread writes the buffer every
//! [`FLUSH_EVERY`] — the `buffer`/`flush` trade-off of nginx's `access_log`. A warning or
//! error first writes out what is buffered, then itself, so lines stay in order and a
//! problem is on standard error before the request that met it is answered. Nothing is
//! dropped: a buffer that grows past [`MAX_BUFFER`] is written by the thread that filled it,
//! and [`LogGuard`] writes the rest when the process shuts down.

use std::cell::RefCell;
use std::fmt;
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

/// The event format (see the module header).
#[derive(Debug, Clone, Copy, Default)]
pub struct LineFormat;

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        timestamp(&mut writer)?;
        let meta = event.metadata();
        writer.write_str(match *meta.level() {
            Level::ERROR => " ERROR ",
            Level::WARN => "  WARN ",
            Level::INFO => "  INFO ",
            Level::DEBUG => " DEBUG ",
            Level::TRACE => " TRACE ",
        })?;
        if let Some(current) = crate::context::current() {
            request_prefix(&mut writer, &current)?;
        }
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                writer.write_str(span.name())?;
                let ext = span.extensions();
                if let Some(fields) = ext.get::<FormattedFields<N>>().filter(|f| !f.is_empty()) {
                    writer.write_char('{')?;
                    writer.write_str(fields)?;
                    writer.write_char('}')?;
                }
                writer.write_char(':')?;
            }
            writer.write_char(' ')?;
        }
        writer.write_str(meta.target())?;
        writer.write_str(": ")?;
        ctx.format_fields(writer.by_ref(), event)?;
        writer.write_char('\n')
    }
}

/// `request{request_id=… method="GET"}: `, the request the line belongs to.
fn request_prefix(w: &mut impl fmt::Write, current: &crate::context::Current) -> fmt::Result {
    w.write_str("request{request_id=")?;
    w.write_str(current.id())?;
    w.write_str(" method=\"")?;
    w.write_str(current.method())?;
    w.write_str("\"}: ")
}

/// Where [`access`] writes: the batched writer, once [`batched_stderr`] made it.
static ACCESS: OnceLock<Arc<Shared>> = OnceLock::new();

/// The access-log target, as the line names it.
const ACCESS_TARGET: &str = "valv_broker::context";

/// Writes the access-log line of one request, in the format of every other line:
/// `… INFO request{request_id=… method="GET"}: valv_broker::context: request path=/api/…
/// route=/api/{provider}/{*path} status=200 ms=0`. It is the one line every request writes,
/// so it is formatted here, straight into the batched buffer, instead of going through a
/// tracing event (its field visitors, `Display` formatting and writer per line). It obeys the
/// subscriber's filter for its target; without [`batched_stderr`] (tests, other
/// subscribers) it is an ordinary `tracing` event.
pub(crate) fn access(current: &crate::context::Current, path: &str, route: &str, status: u16, ms: u64) {
    if !tracing::enabled!(target: ACCESS_TARGET, Level::INFO) {
        return;
    }
    let Some(shared) = ACCESS.get() else {
        tracing::info!(target: ACCESS_TARGET, path = %path, route = %route, status, ms, "request");
        return;
    };
    thread_local! {
        static LINE: RefCell<String> = const { RefCell::new(String::new()) };
    }
    LINE.with(|line| {
        let mut line = line.borrow_mut();
        line.clear();
        access_line(&mut line, current, path, route, status, ms);
        let _ = EventWriter { shared, urgent: false }.write_all(line.as_bytes());
    });
}

/// The access-log line (see [`access`]).
fn access_line(w: &mut String, current: &crate::context::Current, path: &str, route: &str, status: u16, ms: u64) {
    let _ = timestamp(w);
    w.push_str("  INFO ");
    let _ = request_prefix(w, current);
    w.push_str(ACCESS_TARGET);
    w.push_str(": request path=");
    w.push_str(path);
    w.push_str(" route=");
    w.push_str(route);
    w.push_str(" status=");
    w.push_str(itoa::Buffer::new().format(status));
    w.push_str(" ms=");
    w.push_str(itoa::Buffer::new().format(ms));
    w.push('\n');
}

/// `2026-12-01T22:39:20.651985Z`, the part before the fraction formatted once a second per
/// thread.
fn timestamp(w: &mut impl fmt::Write) -> fmt::Result {
    thread_local! {
        static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs();
    SECOND.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != secs {
            let at = i64::try_from(secs).ok().and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok());
            let text = match at {
                Some(t) => {
                    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute(), t.second())
                }
                None => "1970-01-01T00:00:00".to_owned(),
            };
            *cached = (secs, text);
        }
        w.write_str(&cached.1)
    })?;
    let micros = now.subsec_micros();
    let mut digits = [b'0'; 6];
    let mut n = micros;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    w.write_char('.')?;
    w.write_str(std::str::from_utf8(&digits).unwrap_or("000000"))?;
    w.write_char('Z')
}

/// The field format: `name=value` separated by spaces, the message first and bare, strings
/// quoted and escaped as `Debug` does, `%`-recorded values as they display.
#[derive(Debug, Clone, Copy, Default)]
pub struct LineFields;

impl<'w> FormatFields<'w> for LineFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'w>, fields: R) -> fmt::Result {
        let mut v = FieldVisitor { writer, result: Ok(()), first: true };
        fields.record(&mut v);
        v.result
    }
}

struct FieldVisitor<'w> {
    writer: Writer<'w>,
    result: fmt::Result,
    first: bool,
}

impl FieldVisitor<'_> {
    /// Writes the separator and `name=` (nothing for the message).
    fn name(&mut self, field: &Field) -> fmt::Result {
        if !self.first {
            self.writer.write_char(' ')?;
        }
        self.first = false;
        if field.name() == "message" {
            return Ok(());
        }
        let name = field.name();
        self.writer.write_str(name.strip_prefix("r#").unwrap_or(name))?;
        self.writer.write_char('=')
    }
}

impl Visit for FieldVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.result.is_err() {
            return;
        }
        self.result = self.name(field).and_then(|()| {
            if field.name() == "message" {
                self.writer.write_str(value)
            } else if value.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\') {
                self.writer.write_char('"')?;
                self.writer.write_str(value)?;
                self.writer.write_char('"')
            } else {
                write!(self.writer, "{value:?}")
            }
        });
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_err() {
            return;
        }
        self.result = self.name(field).and_then(|()| write!(self.writer, "{value:?}"));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.result.is_err() {
            return;
        }
        self.result = self.name(field).and_then(|()| self.writer.write_str(itoa::Buffer::new().format(value)));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.result.is_err() {
            return;
        }
        self.result = self.name(field).and_then(|()| self.writer.write_str(itoa::Buffer::new().format(value)));
    }
}

/// How long an informational line may wait in the buffer.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// A buffer this large is written at once by the thread that filled it.
pub const MAX_BUFFER: usize = 256 * 1024;

struct Shared {
    buffer: Mutex<State>,
    wake: Condvar,
}

struct State {
    pending: Vec<u8>,
    closed: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.buffer.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Writes `bytes` to standard error; a log line that cannot be written has nowhere else to go.
fn to_stderr(bytes: &[u8]) {
    if !bytes.is_empty() {
        let _ = std::io::stderr().lock().write_all(bytes);
    }
}

/// The [`MakeWriter`] of the broker's subscriber.
#[derive(Clone)]
pub struct BatchedStderr {
    shared: Arc<Shared>,
}

/// Flushes what is buffered and stops the flusher when dropped (keep it for the process's
/// lifetime).
#[must_use = "dropping the guard stops the log flusher"]
pub struct LogGuard {
    shared: Arc<Shared>,
    flusher: Option<std::thread::JoinHandle<()>>,
}

/// The writer and its guard; starts the flusher thread.
pub fn batched_stderr() -> (BatchedStderr, LogGuard) {
    let shared =
        Arc::new(Shared { buffer: Mutex::new(State { pending: Vec::with_capacity(64 * 1024), closed: false }), wake: Condvar::new() });
    let for_thread = shared.clone();
    let flusher = std::thread::Builder::new()
        .name("log-flusher".into())
        .spawn(move || {
            let mut state = for_thread.lock();
            loop {
                if !state.pending.is_empty() {
                    let batch = std::mem::replace(&mut state.pending, Vec::with_capacity(64 * 1024));
                    drop(state);
                    to_stderr(&batch);
                    state = for_thread.lock();
                    continue;
                }
                if state.closed {
                    return;
                }
                state = for_thread.wake.wait_timeout(state, FLUSH_EVERY).unwrap_or_else(PoisonError::into_inner).0;
            }
        })
        .ok();
    let _ = ACCESS.set(shared.clone());
    (BatchedStderr { shared: shared.clone() }, LogGuard { shared, flusher })
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_one();
        match self.flusher.take() {
            Some(t) => {
                let _ = t.join();
            }
            None => to_stderr(&std::mem::take(&mut self.shared.lock().pending)),
        }
    }
}

/// One event's writer.
pub struct EventWriter<'a> {
    shared: &'a Shared,
    urgent: bool,
}

impl Write for EventWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut state = self.shared.lock();
        if self.urgent || state.closed || state.pending.len() + buf.len() > MAX_BUFFER {
            // In order: what is buffered first, then this line, under the lock.
            let batch = std::mem::take(&mut state.pending);
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(&batch);
            let _ = err.write_all(buf);
        } else {
            state.pending.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchedStderr {
    type Writer = EventWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        EventWriter { shared: &self.shared, urgent: true }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        EventWriter { shared: &self.shared, urgent: *meta.level() <= Level::WARN }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collects what a subscriber with this format writes.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_look_like_the_full_format() {
        let out = Capture::default();
        let sink = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .event_format(LineFormat)
            .fmt_fields(LineFields)
            .with_writer(move || sink.clone())
            .with_max_level(Level::INFO)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            crate::context::sync_scope(request(), || {
                tracing::info!(path = %"/api/seb/x", status = 200u16, ms = 3u64, "request");
                tracing::warn!(error = "a \"quoted\"\nline", delta = -2i64, "the bank's answer broke off");
            });
            tracing::info!("outside any request");
        });
        let text = String::from_utf8(out.0.lock().unwrap_or_else(PoisonError::into_inner).clone()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        let (stamp, rest) = lines[0].split_once(' ').unwrap_or_default();
        assert_eq!(stamp.len(), "2026-12-01T22:39:20.651985Z".len(), "{stamp}");
        assert!(stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T' && stamp.as_bytes()[19] == b'.', "{stamp}");
        assert_eq!(
            rest,
            format!(
                r#" INFO request{{request_id={ID} method="GET"}}: valv_broker::logging::tests: request path=/api/seb/x status=200 ms=3"#
            )
        );
        let warn = format!(
            r#"WARN request{{request_id={ID} method="GET"}}: valv_broker::logging::tests: the bank's answer broke off error="a \"quoted\"\nline" delta=-2"#
        );
        assert!(lines[1].ends_with(&warn), "{}", lines[1]);
        assert!(lines[2].ends_with("  INFO valv_broker::logging::tests: outside any request"), "{}", lines[2]);
    }

    const ID: &str = "6083bde9-0d2f-4c51-9a4e-5b1f1f2a9c10";

    fn request() -> crate::context::Current {
        crate::context::Current::new(ID, "GET")
    }

    #[test]
    fn the_access_line_has_the_same_format() {
        let mut line = String::new();
        access_line(&mut line, &request(), "/api/seb/ais/v7/identified2/accounts", "/api/{provider}/{*path}", 200, 4);
        let (stamp, rest) = line.split_once(' ').unwrap_or_default();
        assert_eq!(stamp.len(), "2026-12-01T22:39:20.651985Z".len(), "{stamp}");
        assert_eq!(
            rest,
            format!(" INFO request{{request_id={ID} method=\"GET\"}}: valv_broker::context: request path=/api/seb/ais/v7/identified2/accounts route=/api/{{provider}}/{{*path}} status=200 ms=4\n")
        );
    }

    #[test]
    fn buffered_lines_are_written_by_the_guard() {
        let (writer, guard) = batched_stderr();
        let mut w = EventWriter { shared: &writer.shared, urgent: false };
        w.write_all(b"").unwrap_or_default();
        w.write_all(b"valv logging test line\n").unwrap_or_default();
        drop(guard);
        assert!(writer.shared.lock().pending.is_empty(), "the guard wrote the buffer out");
        assert!(writer.shared.lock().closed);
    }

    #[test]
    fn a_warning_empties_the_buffer_first() {
        let (writer, _guard) = batched_stderr();
        {
            let mut state = writer.shared.lock();
            state.pending.extend_from_slice(b"info line\n");
        }
        let mut w = EventWriter { shared: &writer.shared, urgent: true };
        w.write_all(b"warning line\n").unwrap_or_default();
        assert!(writer.shared.lock().pending.is_empty(), "buffered lines went out before the warning");
    }
}
