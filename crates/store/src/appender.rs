//! The write path: per-tenant appenders with pipelined group commit.
//!
//! Every tenant that is being written to has one appender task in this process. Requests hand
//! their command to it through a channel; the task takes whatever has queued up (up to
//! `MAX_BATCH`), decides all of it and writes it with ONE statement, `kontor_append_batch`
//! (schema/0018), which is its own transaction: a compare-and-set on the tenant's head row
//! (`last_seq`, `last_hash` and `epoch` as the appender expects them), the journal rows, the
//! projections, the outbox rows and the `Idempotency-Key` answers.
//!
//! **Pipelined.** The appender keeps the head in memory. While batch *n* is written and
//! committed on one connection, batch *n + 1* is gathered, its lookups are read on a second
//! connection and it is decided from the head batch *n* will leave (what *n* books that the
//! lookups cannot see yet, its external references and reversals, is carried over). Batch
//! *n + 1* is sent when *n* has committed, so a batch costs the database one round trip and one
//! commit in the serial part, and everything else overlaps.
//!
//! **The same guarantees.** `seq` stays gapless and the chain linear because every write
//! names the head it extends and the database refuses another (SQLSTATE `KH409`): a write of
//! another replica, of a use case's own transaction (`append_in_tx`) or a period's state change
//! (which bumps `epoch`, see `periods::lock_head`) in between makes the batch fail as a whole,
//! and it is decided again from the head read under its row lock (`SELECT … FOR UPDATE`), the
//! way every write of a use case's own transaction is. Nothing is answered before its commit.
//!
//! A command that breaks a booking rule fails alone, before any SQL is sent for it. If a batch's
//! write fails for another reason, its commands are retried in a transaction that reads the
//! head under lock, and then one by one, so one bad command cannot take others down with it.

use crate::idempotency::{IdempotencyKey, Idempotent, StoredResponse};
use crate::tenants::TenantInfo;
use crate::webhooks::NewEvent;
use crate::{Store, StoreError};
use futures_util::future::BoxFuture;
use journal::booking::{
    decide_booking, decide_opening_balances, decide_reversal, OriginalIntent, Stamp,
};
use journal::calendar::PeriodId;
use journal::canonical::canonical_bytes;
use journal::chain::{event_hash_of_canonical, Hash32};
use journal::event::{EventPayload, JournalLine};
use journal::{
    AccountRef, Actor, BookedIntent, BookingCommand, BookingContext, IntentKind,
    OpeningBalanceCommand, ReversalCommand, TaxCode,
};
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::GenericClient as _;
use uuid::Uuid;

type Param = dyn tokio_postgres::types::ToSql + Sync;

/// The most commands one transaction takes.
pub const MAX_BATCH: usize = 256;
/// An appender without work for this long ends; the next command starts a new one.
const IDLE: Duration = Duration::from_secs(30);
/// The SQLSTATE `kontor_append_batch` raises when the head is not where the batch expects it.
const HEAD_MOVED: &str = "KH409";

#[derive(Debug, Clone)]
pub enum AppendCommand {
    Booking(BookingCommand),
    OpeningBalances(OpeningBalanceCommand),
    Reversal(ReversalCommand),
}

/// What an append wrote.
#[derive(Debug, Clone)]
pub struct Appended {
    pub intent_id: Uuid,
    pub event_count: usize,
    pub first_seq: i64,
    pub total_debit: Decimal,
    pub total_credit: Decimal,
    pub reversal_of: Option<Uuid>,
}

/// One command for the appender, with the `Idempotency-Key` answer to store with it.
pub struct AppendRequest {
    pub cmd: AppendCommand,
    pub actor: Actor,
    pub idempotency: Option<Idempotent<Appended>>,
}

struct Job {
    req: AppendRequest,
    reply: oneshot::Sender<Result<Appended, StoreError>>,
}

#[derive(Default)]
pub struct Appenders {
    senders: Mutex<HashMap<Uuid, mpsc::UnboundedSender<Job>>>,
    /// How many appenders of this process have a batch in flight.
    busy: std::sync::atomic::AtomicUsize,
}

impl Appenders {
    fn busy(&self) -> usize {
        self.busy.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Counts an appender as busy while it has a batch in flight.
struct Busy(Arc<Appenders>);

impl Busy {
    fn new(appenders: &Arc<Appenders>) -> Busy {
        appenders
            .busy
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Busy(appenders.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0
            .busy
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A tenant's journal head: the last event's `seq` and hash, and the `epoch` that every change
/// under the head row lock other than an append bumps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Head {
    seq: i64,
    hash: Hash32,
    epoch: i64,
}

impl Head {
    fn from_row(row: &tokio_postgres::Row) -> Result<Head, StoreError> {
        Ok(Head {
            seq: row.get(0),
            hash: row.get::<_, Vec<u8>>(1).try_into().map_err(|_| {
                StoreError::Internal("journal head hash has the wrong length".into())
            })?,
            epoch: row.get(2),
        })
    }
}

const HEAD_SQL: &str = "SELECT last_seq, last_hash, epoch FROM journal_heads WHERE tenant_id = $1";
const HEAD_LOCKED_SQL: &str =
    "SELECT last_seq, last_hash, epoch FROM journal_heads WHERE tenant_id = $1 FOR UPDATE";

/// What a batch that is still being committed books that a later batch's lookups may not see
/// yet: its external references and the intents it reverses.
#[derive(Debug, Default, Clone)]
struct Carry {
    refs: HashSet<String>,
    reversed: HashSet<Uuid>,
}

/// A connection or a transaction of the pool: statements are prepared once per connection.
trait Conn: Sync {
    type Pg: tokio_postgres::GenericClient + Sync;
    fn pg(&self) -> &Self::Pg;
    fn cached<'a>(
        &'a self,
        sql: &'a str,
    ) -> BoxFuture<'a, Result<tokio_postgres::Statement, tokio_postgres::Error>>;
}

/// `Conn` for a pool type with an inherent `prepare_cached` that derefs to its `Pg`.
macro_rules! conn {
    ($($lt:lifetime)?; $ty:ty => $pg:ty) => {
        impl<$($lt)?> Conn for $ty {
            type Pg = $pg;
            fn pg(&self) -> &$pg {
                self
            }
            fn cached<'a>(
                &'a self,
                sql: &'a str,
            ) -> BoxFuture<'a, Result<tokio_postgres::Statement, tokio_postgres::Error>> {
                Box::pin(self.prepare_cached(sql))
            }
        }
    };
}
conn!(; deadpool_postgres::ClientWrapper => tokio_postgres::Client);
conn!('t; deadpool_postgres::Transaction<'t> => tokio_postgres::Transaction<'t>);

/// A batch whose write was sent and has not settled yet.
struct InFlight {
    handle: tokio::task::JoinHandle<Settled>,
    _busy: Busy,
    size: usize,
    /// What it books.
    carry: Carry,
}

enum Settled {
    /// Committed, and every command answered.
    Committed,
    /// Nothing written (the head moved, or the write failed): the commands, unanswered.
    Back(Vec<Job>, StoreError),
}

/// A batch decided and ready to be written on its connection.
struct Prepared {
    client: deadpool_postgres::Client,
    jobs: Vec<Job>,
    decided: Decided,
}

impl Store {
    /// Decides and appends one command for a tenant, batched with whatever else is queued.
    /// The `Idempotency-Key` answer of the request, if any, is stored in the same transaction.
    pub async fn append(
        &self,
        tenant_id: Uuid,
        req: AppendRequest,
    ) -> Result<Appended, StoreError> {
        let info = self.tenant_info(tenant_id).await?;
        let (reply, answer) = oneshot::channel();
        let mut job = Job { req, reply };
        loop {
            let sender = self.appender_for(&info);
            match sender.send(job) {
                Ok(()) => break,
                // The appender went idle and closed between lookup and send: start another.
                Err(mpsc::error::SendError(back)) => {
                    job = back;
                    self.forget_appender(tenant_id, &sender);
                }
            }
        }
        answer
            .await
            .map_err(|_| StoreError::Internal("the appender stopped before answering".into()))?
    }

    fn appender_for(&self, info: &Arc<TenantInfo>) -> mpsc::UnboundedSender<Job> {
        let mut map = self.appenders.senders.lock().expect("appenders");
        if let Some(s) = map.get(&info.id()) {
            if !s.is_closed() {
                return s.clone();
            }
        }
        let (sender, receiver) = mpsc::unbounded_channel();
        map.insert(info.id(), sender.clone());
        tokio::spawn(
            self.clone()
                .run_appender(info.clone(), sender.downgrade(), receiver),
        );
        sender
    }

    fn forget_appender(&self, tenant_id: Uuid, sender: &mpsc::UnboundedSender<Job>) {
        let mut map = self.appenders.senders.lock().expect("appenders");
        if map.get(&tenant_id).is_some_and(|s| s.same_channel(sender)) {
            map.remove(&tenant_id);
        }
    }

    async fn run_appender(
        self,
        info: Arc<TenantInfo>,
        me: mpsc::WeakUnboundedSender<Job>,
        mut jobs: mpsc::UnboundedReceiver<Job>,
    ) {
        // The head after the last batch sent; None when it must be read.
        let mut head: Option<Head> = None;
        let mut flight: Option<InFlight> = None;
        loop {
            let mut batch: Vec<Job> = Vec::new();
            let mut closed = false;
            if let Some(f) = flight.as_mut() {
                // While a batch commits, gather the next: until as many commands wait as it
                // carries (the clients it answers last time come back together), or it settles.
                // When other tenants' appenders have batches in flight too, the database is
                // kept busy by them: then wait for the settle, so that batches stay large
                // (fewer statements and commits for the same bookings when the CPU is the
                // limit; benches/README.md, "64 clients over 8 tenants").
                let target = if self.appenders.busy() > 1 {
                    MAX_BATCH
                } else {
                    f.size.min(MAX_BATCH)
                };
                let mut settled = None;
                while batch.len() < target {
                    tokio::select! {
                        biased;
                        s = &mut f.handle => {
                            settled = Some(s);
                            break;
                        }
                        job = jobs.recv() => match job {
                            Some(job) => {
                                batch.push(job);
                                drain(&mut jobs, &mut batch);
                            }
                            None => {
                                closed = true;
                                break;
                            }
                        },
                    }
                }
                if let Some(s) = settled {
                    flight = None;
                    if !self.settled(&info, s).await {
                        head = None;
                    }
                }
            }
            if batch.is_empty() && !closed {
                if flight.is_some() {
                    continue;
                }
                match tokio::time::timeout(IDLE, jobs.recv()).await {
                    Ok(Some(job)) => {
                        batch.push(job);
                        drain(&mut jobs, &mut batch);
                    }
                    Ok(None) => closed = true,
                    Err(_idle) => {
                        if let Some(sender) = me.upgrade() {
                            self.forget_appender(info.id(), &sender);
                        }
                        // Commands that raced in before the close are still answered.
                        jobs.close();
                        closed = true;
                    }
                }
            }
            if closed {
                if let Some(f) = flight.take() {
                    self.settled(&info, f.handle.await).await;
                }
                while let Some(job) = jobs.recv().await {
                    batch.push(job);
                }
                while !batch.is_empty() {
                    let rest: Vec<Job> = batch.drain(..batch.len().min(MAX_BATCH)).collect();
                    self.commit_batch(&info, rest).await;
                }
                return;
            }

            // Read and decide this batch, while the one in flight (if any) commits.
            let carry = flight.as_ref().map(|f| f.carry.clone()).unwrap_or_default();
            let prepared = self.prepare(&info, batch, head, &carry).await;
            if let Some(f) = flight.take() {
                if !self.settled(&info, f.handle.await).await {
                    // Decided on a head that did not come about: decide it again.
                    head = None;
                    let jobs = match prepared {
                        Ok(p) => p.jobs,
                        Err((jobs, _)) => jobs,
                    };
                    self.commit_batch(&info, jobs).await;
                    continue;
                }
            }
            match prepared {
                Err((jobs, error)) => {
                    tracing::warn!(error = ?error, size = jobs.len(), "reading a batch's lookups failed; retrying it under the head lock");
                    head = None;
                    self.commit_batch(&info, jobs).await;
                }
                Ok(p) if p.decided.rows.seq.is_empty() => {
                    // Nothing to write: every command broke a rule (decided on a head that
                    // is now committed, so the answers stand).
                    for (job, result) in p.jobs.into_iter().zip(p.decided.results) {
                        let _ = job.reply.send(result);
                    }
                }
                Ok(mut p) => {
                    let size = p.jobs.len();
                    let next = p.decided.head;
                    let carry = std::mem::take(&mut p.decided.carry);
                    head = Some(next);
                    flight = Some(InFlight {
                        handle: tokio::spawn(write_and_answer(info.id(), info.calendar, p)),
                        _busy: Busy::new(&self.appenders),
                        size,
                        carry,
                    });
                }
            }
        }
    }

    /// Handles a settled batch: one that came back is committed the careful way. Returns
    /// whether it had committed as sent (so the head in memory holds).
    async fn settled(
        &self,
        info: &TenantInfo,
        settled: Result<Settled, tokio::task::JoinError>,
    ) -> bool {
        match settled {
            Ok(Settled::Committed) => true,
            Ok(Settled::Back(jobs, error)) => {
                if head_moved(&error) {
                    tracing::debug!(size = jobs.len(), "the journal head moved under a batch; deciding it again under the head lock");
                } else {
                    tracing::warn!(error = ?error, size = jobs.len(), "a batch's write failed; retrying it under the head lock");
                }
                self.commit_batch(info, jobs).await;
                false
            }
            Err(join) => {
                // Its commands were dropped unanswered: their requests fail with "stopped
                // before answering".
                tracing::error!(error = %join, "a batch's write task ended without settling");
                false
            }
        }
    }

    /// Reads what the decisions of a batch need (and the head, when it is not known) on a
    /// connection of its own, and decides the batch from `head` plus `carry`.
    async fn prepare(
        &self,
        info: &TenantInfo,
        jobs: Vec<Job>,
        head: Option<Head>,
        carry: &Carry,
    ) -> Result<Prepared, (Vec<Job>, StoreError)> {
        let read = async {
            let client = self.client().await?;
            let commands: Vec<&AppendRequest> = jobs.iter().map(|j| &j.req).collect();
            let (head, state) = match head {
                Some(h) => (h, load_state(&*client, info, &commands).await?),
                None => head_and_state(&*client, info, &commands, HEAD_SQL).await?,
            };
            let decided = decide_batch(info, &commands, state, head, carry);
            Ok::<_, StoreError>((client, decided))
        };
        match read.await {
            Ok((client, decided)) => Ok(Prepared {
                client,
                jobs,
                decided,
            }),
            Err(e) => Err((jobs, e)),
        }
    }

    /// Commits a batch the careful way: in a transaction that reads the head under its row
    /// lock; if that fails, each command in a transaction of its own.
    async fn commit_batch(&self, info: &TenantInfo, batch: Vec<Job>) {
        let commands: Vec<&AppendRequest> = batch.iter().map(|j| &j.req).collect();
        match self.try_commit(info, &commands).await {
            Ok(results) => {
                for (job, result) in batch.into_iter().zip(results) {
                    let _ = job.reply.send(result);
                }
            }
            Err(e) if batch.len() > 1 => {
                tracing::warn!(error = ?e, size = batch.len(), "batch failed; retrying its commands one by one");
                for job in batch {
                    let result = match self.try_commit(info, &[&job.req]).await {
                        Ok(mut r) => r.pop().expect("one result per command"),
                        Err(e) => Err(e),
                    };
                    let _ = job.reply.send(result);
                }
            }
            Err(e) => {
                if let Some(job) = batch.into_iter().next() {
                    let _ = job.reply.send(Err(e));
                }
            }
        }
    }

    /// One transaction for a batch, with the head read under lock. The outer error means
    /// nothing was written; the inner results are per command.
    async fn try_commit(
        &self,
        info: &TenantInfo,
        commands: &[&AppendRequest],
    ) -> Result<Vec<Result<Appended, StoreError>>, StoreError> {
        let started = std::time::Instant::now();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let results = append_in_tx(&tx, info, commands).await?;
        if results.iter().any(Result::is_ok) {
            tx.commit().await?;
            crate::fault::point(crate::fault::AFTER_APPEND_COMMIT);
            let appended = results.iter().filter(|r| r.is_ok()).count();
            crate::metrics::appended(commands.len(), appended, started);
        }
        Ok(results)
    }

    /// Appends one command inside a transaction the caller owns, so that other rows (an
    /// invoice, a bank match) are written atomically with the booking. This takes the tenant's
    /// head row lock for the rest of the transaction: keep such transactions short. The
    /// command is not batched with others.
    pub async fn append_in_tx(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        tenant_id: Uuid,
        cmd: &AppendCommand,
        actor: &Actor,
    ) -> Result<Appended, StoreError> {
        let info = self.tenant_info(tenant_id).await?;
        // The caller's transaction stores its own Idempotency-Key answer.
        let req = AppendRequest {
            cmd: cmd.clone(),
            actor: actor.clone(),
            idempotency: None,
        };
        append_in_tx(tx, &info, &[&req])
            .await?
            .pop()
            .expect("one result per command")
    }
}

/// Moves whatever else is queued into `batch`, up to `MAX_BATCH`.
fn drain(jobs: &mut mpsc::UnboundedReceiver<Job>, batch: &mut Vec<Job>) {
    while batch.len() < MAX_BATCH {
        match jobs.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
}

fn head_moved(e: &StoreError) -> bool {
    matches!(e, StoreError::Db(db) if db.code().is_some_and(|c| c.code() == HEAD_MOVED))
}

/// Writes a decided batch with one statement (its own transaction) and answers its commands
/// once it has committed; a batch that could not be written comes back unanswered.
async fn write_and_answer(
    tenant_id: Uuid,
    calendar: journal::FiscalCalendar,
    p: Prepared,
) -> Settled {
    let started = std::time::Instant::now();
    let Prepared {
        client,
        jobs,
        decided,
    } = p;
    let Decided {
        results,
        rows,
        expected,
        head,
        ..
    } = decided;
    match rows
        .write(&*client, tenant_id, calendar, expected, head)
        .await
    {
        Ok(()) => {
            crate::fault::point(crate::fault::AFTER_APPEND_COMMIT);
            let appended = results.iter().filter(|r| r.is_ok()).count();
            crate::metrics::appended(jobs.len(), appended, started);
            for (job, result) in jobs.into_iter().zip(results) {
                let _ = job.reply.send(result);
            }
            Settled::Committed
        }
        Err(e) => Settled::Back(jobs, e),
    }
}

impl Store {
    /// Decides and appends many commands inside a transaction the caller owns (`POST
    /// /v1/bookings/bulk`), in slices of `MAX_BATCH`: each slice is decided against what the
    /// slices before it wrote, so the same rules, events and hashes hold as for single
    /// bookings. A command that breaks a rule fails alone and writes nothing; the caller
    /// commits what succeeded or rolls back. The tenant's head row is locked by the first slice
    /// and stays locked until the caller's transaction ends. `next` yields the commands one
    /// slice at a time, so a caller can build them lazily (the bulk route parses each booking
    /// only when its slice comes); a command it could not build is an `Err` that stands as that
    /// command's result.
    ///
    /// Pipelined like the appender: while slice *n* is written in the transaction, slice
    /// *n + 1* is built, its lookups are read on a second connection (what the earlier slices
    /// book is carried over: those rows are not committed yet) and it is decided from the head
    /// slice *n* leaves. A slice with a reversal reads its lookups in the transaction, after
    /// the slices before it.
    pub async fn append_many_in_tx(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        tenant_id: Uuid,
        count: usize,
        mut next: impl FnMut(std::ops::Range<usize>) -> Vec<Result<AppendRequest, StoreError>>,
    ) -> Result<Vec<Result<Appended, StoreError>>, StoreError> {
        let info = self.tenant_info(tenant_id).await?;
        let mut results = Vec::with_capacity(count);
        if count == 0 {
            return Ok(results);
        }
        let reader = self.client().await?;
        let mut carry = Carry::default();

        // The first slice: the head under its row lock, and its lookups, in the transaction.
        let mut slice = next(0..count.min(MAX_BATCH));
        let mut decided = {
            let commands = built(&slice);
            let (head, state) = head_and_state(tx, &info, &commands, HEAD_LOCKED_SQL).await?;
            decide_batch(&info, &commands, state, head, &carry)
        };
        let mut start = 0;
        loop {
            let Decided {
                results: decided_results,
                rows,
                expected,
                head,
                carry: booked,
            } = decided;
            carry.refs.extend(booked.refs);
            carry.reversed.extend(booked.reversed);
            let end = start + slice.len();
            let mut answers = decided_results.into_iter();
            for item in slice {
                results.push(match item {
                    Ok(_) => answers.next().ok_or_else(|| {
                        StoreError::Internal("a bulk command without a result".into())
                    })?,
                    Err(e) => Err(e),
                });
            }
            let write = async {
                if rows.seq.is_empty() {
                    Ok(())
                } else {
                    rows.write(tx, info.id(), info.calendar, expected, head)
                        .await
                }
            };
            let following = async {
                if end >= count {
                    return Ok(None);
                }
                // Let the connection send the write before the CPU work of the next slice.
                tokio::task::yield_now().await;
                let slice = next(end..count.min(end + MAX_BATCH));
                let commands = built(&slice);
                if commands
                    .iter()
                    .any(|r| matches!(r.cmd, AppendCommand::Reversal(_)))
                {
                    // Its original may be in a slice before it: read after the write.
                    return Ok(Some((slice, None)));
                }
                let state = load_state(&*reader, &info, &commands).await?;
                let decided = decide_batch(&info, &commands, state, head, &carry);
                Ok::<_, StoreError>(Some((slice, Some(decided))))
            };
            let (written, following) = futures_util::join!(write, following);
            written?;
            match following? {
                None => break,
                Some((s, d)) => {
                    decided = match d {
                        Some(d) => d,
                        None => {
                            let commands = built(&s);
                            let state = load_state(tx, &info, &commands).await?;
                            decide_batch(&info, &commands, state, head, &carry)
                        }
                    };
                    slice = s;
                    start = end;
                }
            }
        }
        Ok(results)
    }
}

/// The commands of a slice that could be built.
fn built(slice: &[Result<AppendRequest, StoreError>]) -> Vec<&AppendRequest> {
    slice.iter().filter_map(|r| r.as_ref().ok()).collect()
}

/// Decides and writes a batch inside `tx` (which the caller commits), with the head read under
/// its row lock. The outer error means the transaction is unusable; the inner results are per
/// command.
async fn append_in_tx(
    tx: &deadpool_postgres::Transaction<'_>,
    info: &TenantInfo,
    commands: &[&AppendRequest],
) -> Result<Vec<Result<Appended, StoreError>>, StoreError> {
    let (head, state) = head_and_state(tx, info, commands, HEAD_LOCKED_SQL).await?;
    let decided = decide_batch(info, commands, state, head, &Carry::default());
    if !decided.rows.seq.is_empty() {
        decided
            .rows
            .write(tx, info.id(), info.calendar, head, decided.head)
            .await?;
    }
    Ok(decided.results)
}

/// The head, read with `head_sql` (under its row lock or not), and the lookups of `commands`,
/// pipelined on one connection: one round trip, and the server runs the head query first, so a
/// lock is taken before the lookups read.
async fn head_and_state(
    c: &impl Conn,
    info: &TenantInfo,
    commands: &[&AppendRequest],
    head_sql: &'static str,
) -> Result<(Head, State), StoreError> {
    let stmt = c.cached(head_sql).await?;
    let params: [&Param; 1] = [&info.id()];
    let (row, state) = futures_util::try_join!(
        async {
            c.pg()
                .query_one(&stmt, &params)
                .await
                .map_err(StoreError::from)
        },
        load_state(c, info, commands)
    )?;
    Ok((Head::from_row(&row)?, state))
}

/// A batch decided: the answers, the rows to write, the head it extends and the one it leaves,
/// and what it books that a later batch must know of before it is visible.
struct Decided {
    results: Vec<Result<Appended, StoreError>>,
    rows: Rows,
    expected: Head,
    head: Head,
    carry: Carry,
}

/// Decides a batch from the lookups `state`, the head it extends and what batches not yet
/// visible to the lookups book (`carry`). Pure: no I/O.
fn decide_batch(
    info: &TenantInfo,
    commands: &[&AppendRequest],
    state: State,
    head: Head,
    carry: &Carry,
) -> Decided {
    let tenant_id = info.id();
    let mut last_seq = head.seq;
    let mut last_hash = head.hash;
    let closed = &state.closed_periods;
    let mut booked_refs = state.booked_refs;
    booked_refs.extend(carry.refs.iter().cloned());
    let mut reversed: HashSet<Uuid> = carry.reversed.clone();
    let mut mine = Carry::default();

    let mut rows = Rows::default();
    let mut results = Vec::with_capacity(commands.len());
    let now = chrono::Utc::now();
    for req in commands {
        let (cmd, actor) = (&req.cmd, &req.actor);
        let ctx = BookingContext {
            base_currency: info.base_currency,
            calendar: info.calendar,
            accounts: &state.accounts,
            tax_codes: &state.tax_codes,
            closed_periods: closed,
            booked_external_references: &booked_refs,
            documents: &state.documents,
            fx_rounding_account: info.role("fx_rounding"),
            opening_balance_account: info.role("opening_balance"),
        };
        let stamp = Stamp {
            intent_id: Uuid::now_v7(),
            actor: actor.clone(),
            recorded_at: now,
        };
        // A decision is a pure function and must not panic; if one does all the same, that
        // command alone fails (500) and the rest of the batch goes on.
        let decision = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            crate::fault::poison(cmd);
            match cmd {
                AppendCommand::Booking(c) => Some(decide_booking(&ctx, c, stamp)),
                AppendCommand::OpeningBalances(c) => Some(decide_opening_balances(&ctx, c, stamp)),
                AppendCommand::Reversal(c) => state.originals.get(&c.intent_id).map(|original| {
                    let mut original = original.clone();
                    original.already_reversed |= reversed.contains(&original.intent_id);
                    decide_reversal(&ctx, &original, c, stamp)
                }),
            }
        }));
        let decided = match decision {
            Ok(Some(decided)) => decided,
            Ok(None) => {
                let AppendCommand::Reversal(c) = cmd else {
                    unreachable!("only a reversal has no decision: its original is missing")
                };
                results.push(Err(StoreError::not_found(format!(
                    "intent {}",
                    c.intent_id
                ))));
                continue;
            }
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!(tenant = %tenant_id, panic = %what, "deciding a command panicked; it alone fails");
                results.push(Err(StoreError::Internal(format!(
                    "deciding the command panicked: {what}"
                ))));
                continue;
            }
        };
        match decided {
            Ok(intent) => {
                if let Some(r) = &intent.external_reference {
                    booked_refs.insert(r.clone());
                    mine.refs.insert(r.clone());
                }
                if let Some(o) = intent.reversal_of {
                    reversed.insert(o);
                    mine.reversed.insert(o);
                }
                let first_seq = last_seq + 1;
                for i in 0..intent.lines.len() {
                    // Encoded once: the canonical bytes are hashed and are the stored jsonb's
                    // text (PostgreSQL reorders the keys; the hash does not depend on that).
                    let payload = canonical_bytes(&intent.event_payload(tenant_id, first_seq, i));
                    let hash = event_hash_of_canonical(&last_hash, &payload);
                    rows.push_event(&intent, i, first_seq + i as i64, payload, last_hash, hash);
                    last_hash = hash;
                }
                last_seq += intent.lines.len() as i64;
                rows.push_intent(&intent, first_seq);
                // The feed event of the intent (webhooks, schema/0015).
                rows.feed
                    .push(crate::webhooks::booking_event(&intent, first_seq));
                let appended = Appended {
                    intent_id: intent.intent_id,
                    event_count: intent.lines.len(),
                    first_seq,
                    total_debit: intent.total_base_debit(),
                    total_credit: intent.total_base_credit(),
                    reversal_of: intent.reversal_of,
                };
                if let Some(idem) = &req.idempotency {
                    rows.push_answer(&idem.key, &(idem.render)(&appended));
                }
                results.push(Ok(appended));
            }
            Err(e) => results.push(Err(StoreError::Booking(e))),
        }
    }
    Decided {
        results,
        rows,
        expected: head,
        head: Head {
            seq: last_seq,
            hash: last_hash,
            epoch: head.epoch,
        },
        carry: mine,
    }
}

/// JSON text sent as a `jsonb` parameter as it is (binary format: version 1, then the text),
/// without a `serde_json::Value` in between.
#[derive(Debug)]
pub(crate) struct JsonbText(pub(crate) Vec<u8>);

impl tokio_postgres::types::ToSql for JsonbText {
    fn to_sql(
        &self,
        _ty: &tokio_postgres::types::Type,
        out: &mut bytes::BytesMut,
    ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        use bytes::BufMut;
        out.put_u8(1);
        out.put_slice(&self.0);
        Ok(tokio_postgres::types::IsNull::No)
    }

    tokio_postgres::types::accepts!(JSONB);
    tokio_postgres::types::to_sql_checked!();
}

/// What the decisions of a batch need, loaded in one round of pipelined queries.
struct State {
    accounts: HashMap<String, AccountRef>,
    tax_codes: HashMap<String, TaxCode>,
    closed_periods: HashSet<PeriodId>,
    booked_refs: HashSet<String>,
    documents: HashSet<Uuid>,
    originals: HashMap<Uuid, OriginalIntent>,
}

async fn load_state(
    c: &impl Conn,
    info: &TenantInfo,
    commands: &[&AppendRequest],
) -> Result<State, StoreError> {
    let tenant_id = info.id();
    let mut accounts: Vec<String> = Vec::new();
    let mut codes: Vec<String> = Vec::new();
    let mut refs: Vec<String> = Vec::new();
    let mut docs: Vec<Uuid> = Vec::new();
    let mut originals: Vec<Uuid> = Vec::new();
    for role in ["fx_rounding", "opening_balance"] {
        if let Some(n) = info.role(role) {
            accounts.push(n.to_string());
        }
    }
    for req in commands {
        match &req.cmd {
            AppendCommand::Booking(c) => {
                accounts.extend(c.line_accounts().map(str::to_string));
                codes.extend(c.tax_codes().map(str::to_string));
                refs.extend(c.external_reference.clone());
                docs.extend(c.document_id);
            }
            AppendCommand::OpeningBalances(c) => {
                accounts.extend(c.balances.iter().map(|b| b.account.clone()));
            }
            AppendCommand::Reversal(c) => originals.push(c.intent_id),
        }
    }
    accounts.sort_unstable();
    accounts.dedup();
    codes.sort_unstable();
    codes.dedup();

    let accounts_sql = c
        .cached(
            "SELECT number, is_active FROM accounts WHERE tenant_id = $1 AND (number = ANY($2)
               OR number IN (SELECT vat_account FROM tax_codes WHERE tenant_id = $1 AND code = ANY($3))
               OR number IN (SELECT self_assess_account FROM tax_codes WHERE tenant_id = $1 AND code = ANY($3)))",
        )
        .await?;
    let codes_sql = c
        .cached(
            "SELECT code, rate, vat_account, self_assess_account, is_active FROM tax_codes
              WHERE tenant_id = $1 AND code = ANY($2)",
        )
        .await?;
    let periods_sql = c
        .cached("SELECT period FROM period_states WHERE tenant_id = $1")
        .await?;
    let accounts_params: [&Param; 3] = [&tenant_id, &accounts, &codes];
    let codes_params: [&Param; 2] = [&tenant_id, &codes];
    let periods_params: [&Param; 1] = [&tenant_id];
    // One index probe per reference, whatever the planner believes about the tenant's row
    // count (with `= ANY` a fresh table's missing statistics gave scans of all its intents).
    let refs_sql = c
        .cached(
            "SELECT r FROM unnest($2::text[]) AS r,
                LATERAL (SELECT 1 FROM intents i
                          WHERE i.tenant_id = $1 AND i.external_reference = r LIMIT 1) AS hit",
        )
        .await?;
    let refs_params: [&Param; 2] = [&tenant_id, &refs];
    let (account_rows, code_rows, period_rows, ref_rows) = futures_util::try_join!(
        c.pg().query(&accounts_sql, &accounts_params),
        c.pg().query(&codes_sql, &codes_params),
        c.pg().query(&periods_sql, &periods_params),
        c.pg().query(&refs_sql, &refs_params),
    )?;
    let booked_refs: HashSet<String> = ref_rows
        .into_iter()
        .map(|r| r.get::<_, String>(0))
        .collect();
    let mut documents = HashSet::new();
    if !docs.is_empty() {
        let rows = c
            .pg()
            .query(
                "SELECT id FROM documents WHERE tenant_id = $1 AND id = ANY($2)",
                &[&tenant_id, &docs],
            )
            .await?;
        documents.extend(rows.into_iter().map(|r| r.get::<_, Uuid>(0)));
    }
    let originals = if originals.is_empty() {
        HashMap::new()
    } else {
        load_originals(c, info, &originals).await?
    };
    Ok(State {
        accounts: account_rows
            .into_iter()
            .map(|r| {
                let number: String = r.get(0);
                (
                    number.clone(),
                    AccountRef {
                        number,
                        is_active: r.get(1),
                    },
                )
            })
            .collect(),
        tax_codes: code_rows
            .into_iter()
            .map(|r| {
                let code: String = r.get(0);
                (
                    code.clone(),
                    TaxCode {
                        code,
                        rate: r.get(1),
                        vat_account: r.get(2),
                        self_assess_account: r.get(3),
                        is_active: r.get(4),
                    },
                )
            })
            .collect(),
        closed_periods: period_rows
            .into_iter()
            .filter_map(|r| r.get::<_, String>(0).parse().ok())
            .collect(),
        booked_refs,
        documents,
        originals,
    })
}

async fn load_originals(
    c: &impl Conn,
    info: &TenantInfo,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, OriginalIntent>, StoreError> {
    let tenant_id = info.id();
    let intents = c.pg()
        .query(
            "SELECT i.intent_id, i.kind, i.booking_date, i.period, i.description, i.fx_rate,
                    EXISTS (SELECT 1 FROM intents r WHERE r.tenant_id = i.tenant_id AND r.reversal_of = i.intent_id)
               FROM intents i WHERE i.tenant_id = $1 AND i.intent_id = ANY($2)",
            &[&tenant_id, &ids],
        )
        .await?;
    let events = c.pg()
        .query(
            "SELECT intent_id, payload FROM journal_events WHERE tenant_id = $1 AND intent_id = ANY($2) ORDER BY seq",
            &[&tenant_id, &ids],
        )
        .await?;
    let mut lines: HashMap<Uuid, Vec<JournalLine>> = HashMap::new();
    for row in events {
        let payload: Value = row.get(1);
        let line = EventPayload::from_value(&payload)
            .map_err(|e| StoreError::Internal(e.to_string()))?
            .line();
        lines.entry(row.get(0)).or_default().push(line);
    }
    let mut out = HashMap::new();
    for r in intents {
        let id: Uuid = r.get(0);
        let period: String = r.get(3);
        out.insert(
            id,
            OriginalIntent {
                intent_id: id,
                kind: IntentKind::parse(r.get::<_, &str>(1)).ok_or_else(|| {
                    StoreError::Internal(format!("stored intent kind {:?}", r.get::<_, &str>(1)))
                })?,
                booking_date: r.get(2),
                period: period
                    .parse()
                    .map_err(|_| StoreError::Internal(format!("stored period {period:?}")))?,
                description: r.get(4),
                fx_rate: r.get(5),
                already_reversed: r.get(6),
                lines: lines.remove(&id).unwrap_or_default(),
            },
        );
    }
    Ok(out)
}

/// Column arrays for the multi-row inserts of a batch (one statement per table).
#[derive(Default)]
struct Rows {
    // journal_events + entries
    seq: Vec<i64>,
    intent: Vec<Uuid>,
    period: Vec<String>,
    payload: Vec<JsonbText>,
    prev_hash: Vec<Vec<u8>>,
    hash: Vec<Vec<u8>>,
    recorded_at: Vec<chrono::DateTime<chrono::Utc>>,
    line_no: Vec<i32>,
    account: Vec<String>,
    booking_date: Vec<chrono::NaiveDate>,
    debit: Vec<Decimal>,
    credit: Vec<Decimal>,
    currency: Vec<String>,
    amount: Vec<Decimal>,
    tax_code: Vec<Option<String>>,
    generated: Vec<Option<String>>,
    description: Vec<String>,
    line_description: Vec<Option<String>>,
    cost_center: Vec<Option<String>>,
    external_reference: Vec<Option<String>>,
    // intents
    i_id: Vec<Uuid>,
    i_kind: Vec<String>,
    i_date: Vec<chrono::NaiveDate>,
    i_period: Vec<String>,
    i_description: Vec<String>,
    i_ref: Vec<Option<String>>,
    i_doc: Vec<Option<Uuid>>,
    i_meta: Vec<Option<Value>>,
    i_currency: Vec<String>,
    i_fx: Vec<Option<Decimal>>,
    i_first_seq: Vec<i64>,
    i_count: Vec<i32>,
    i_debit: Vec<Decimal>,
    i_credit: Vec<Decimal>,
    i_reversal_of: Vec<Option<Uuid>>,
    i_mode: Vec<Option<String>>,
    i_reason: Vec<Option<String>>,
    i_actor: Vec<Value>,
    i_recorded: Vec<chrono::DateTime<chrono::Utc>>,
    // idempotency_keys: the answers of the requests that sent a key
    k_key: Vec<String>,
    k_hash: Vec<Vec<u8>>,
    k_status: Vec<i32>,
    k_type: Vec<Option<String>>,
    k_body: Vec<Vec<u8>>,
    // account_balances, aggregated per (account, period)
    balances: BTreeMap<(String, String), (chrono::NaiveDate, Decimal, Decimal, i64)>,
    // account_day_balances, aggregated per (account, booking date, period)
    days: BTreeMap<(String, chrono::NaiveDate, String), (Decimal, Decimal, i64)>,
    // feed_events (webhooks, schema/0015): one per intent
    feed: Vec<NewEvent>,
}

impl Rows {
    fn push_event(
        &mut self,
        intent: &BookedIntent,
        i: usize,
        seq: i64,
        payload: Vec<u8>,
        prev: Hash32,
        hash: Hash32,
    ) {
        let line = &intent.lines[i];
        self.seq.push(seq);
        self.intent.push(intent.intent_id);
        self.period.push(intent.period.to_string());
        self.payload.push(JsonbText(payload));
        self.prev_hash.push(prev.to_vec());
        self.hash.push(hash.to_vec());
        self.recorded_at.push(intent.recorded_at);
        self.line_no.push(i as i32 + 1);
        self.account.push(line.account.clone());
        self.booking_date.push(intent.booking_date);
        self.debit.push(line.base_debit());
        self.credit.push(line.base_credit());
        self.currency.push(line.currency.code().to_string());
        self.amount.push(line.amount);
        self.tax_code.push(line.tax_code.clone());
        self.generated
            .push(line.generated.map(|g| g.as_str().to_string()));
        self.description.push(intent.description.clone());
        self.line_description.push(line.description.clone());
        self.cost_center.push(line.cost_center.clone());
        self.external_reference
            .push(intent.external_reference.clone());
        let entry = self
            .balances
            .entry((line.account.clone(), intent.period.to_string()))
            .or_insert((chrono::NaiveDate::MIN, Decimal::ZERO, Decimal::ZERO, 0));
        entry.1 += line.base_debit();
        entry.2 += line.base_credit();
        entry.3 += 1;
        let day = self
            .days
            .entry((
                line.account.clone(),
                intent.booking_date,
                intent.period.to_string(),
            ))
            .or_insert((Decimal::ZERO, Decimal::ZERO, 0));
        day.0 += line.base_debit();
        day.1 += line.base_credit();
        day.2 += 1;
    }

    fn push_answer(&mut self, key: &IdempotencyKey, answer: &StoredResponse) {
        self.k_key.push(key.key.clone());
        self.k_hash.push(key.request_hash.to_vec());
        self.k_status.push(i32::from(answer.status));
        self.k_type.push(answer.content_type.clone());
        self.k_body.push(answer.body.clone());
    }

    fn push_intent(&mut self, intent: &BookedIntent, first_seq: i64) {
        self.i_id.push(intent.intent_id);
        self.i_kind.push(intent.kind.as_str().to_string());
        self.i_date.push(intent.booking_date);
        self.i_period.push(intent.period.to_string());
        self.i_description.push(intent.description.clone());
        self.i_ref.push(intent.external_reference.clone());
        self.i_doc.push(intent.document_id);
        self.i_meta
            .push(intent.custom_metadata.clone().map(Value::Object));
        self.i_currency.push(
            intent
                .lines
                .first()
                .map(|l| l.currency.code().to_string())
                .unwrap_or_else(|| intent.base_currency.code().to_string()),
        );
        self.i_fx.push(intent.fx_rate);
        self.i_first_seq.push(first_seq);
        self.i_count.push(intent.lines.len() as i32);
        self.i_debit.push(intent.total_base_debit());
        self.i_credit.push(intent.total_base_credit());
        self.i_reversal_of.push(intent.reversal_of);
        self.i_mode
            .push(intent.posting_mode.map(|m| m.as_str().to_string()));
        self.i_reason.push(intent.reason.clone());
        self.i_actor.push(intent.actor.to_json());
        self.i_recorded.push(intent.recorded_at);
    }

    /// Writes the batch with `kontor_append_batch` (schema/0018): one statement, one round
    /// trip. Outside a transaction it is its own transaction; in one (`append_in_tx`), part of
    /// it. It fails with SQLSTATE `KH409` and writes nothing when the head is not `expected`.
    async fn write(
        mut self,
        c: &impl Conn,
        tenant_id: Uuid,
        calendar: journal::FiscalCalendar,
        expected: Head,
        head: Head,
    ) -> Result<(), StoreError> {
        let mut b_account = Vec::new();
        let mut b_period = Vec::new();
        let mut b_month = Vec::new();
        let mut b_debit = Vec::new();
        let mut b_credit = Vec::new();
        let mut b_count = Vec::new();
        for ((account, period), (_, d, c, n)) in std::mem::take(&mut self.balances) {
            let p: PeriodId = period
                .parse()
                .map_err(|_| StoreError::Internal("period".into()))?;
            b_month.push(calendar.bounds(p).0);
            b_account.push(account);
            b_period.push(period);
            b_debit.push(d);
            b_credit.push(c);
            b_count.push(n);
        }
        let mut d_account = Vec::new();
        let mut d_date = Vec::new();
        let mut d_period = Vec::new();
        let mut d_debit = Vec::new();
        let mut d_credit = Vec::new();
        let mut d_count = Vec::new();
        for ((account, date, period), (d, c, n)) in std::mem::take(&mut self.days) {
            d_account.push(account);
            d_date.push(date);
            d_period.push(period);
            d_debit.push(d);
            d_credit.push(c);
            d_count.push(n);
        }
        let feed = crate::webhooks::FeedColumns::of(&self.feed);
        let stmt = c.cached(APPEND_BATCH_SQL).await?;
        let (expect_hash, last_hash) = (expected.hash.to_vec(), head.hash.to_vec());
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 67] = [
            &tenant_id,
            &expected.seq,
            &expect_hash,
            &expected.epoch,
            &head.seq,
            &last_hash,
            // journal_events
            &self.seq,
            &self.intent,
            &self.period,
            &self.payload,
            &self.prev_hash,
            &self.hash,
            &self.recorded_at,
            // entries
            &self.line_no,
            &self.account,
            &self.booking_date,
            &self.debit,
            &self.credit,
            &self.currency,
            &self.amount,
            &self.tax_code,
            &self.generated,
            &self.description,
            &self.line_description,
            &self.cost_center,
            &self.external_reference,
            // intents
            &self.i_id,
            &self.i_kind,
            &self.i_date,
            &self.i_period,
            &self.i_description,
            &self.i_ref,
            &self.i_doc,
            &self.i_meta,
            &self.i_currency,
            &self.i_fx,
            &self.i_first_seq,
            &self.i_count,
            &self.i_debit,
            &self.i_credit,
            &self.i_reversal_of,
            &self.i_mode,
            &self.i_reason,
            &self.i_actor,
            &self.i_recorded,
            // account_balances
            &b_account,
            &b_period,
            &b_month,
            &b_debit,
            &b_credit,
            &b_count,
            // account_day_balances
            &d_account,
            &d_date,
            &d_period,
            &d_debit,
            &d_credit,
            &d_count,
            // feed_events
            &feed.ids,
            &feed.names,
            &feed.versions,
            &feed.datas,
            &feed.dedupe,
            // idempotency_keys: a key that another replica's transaction holds makes the insert
            // wait for it, then fail: the batch is retried one by one, and that request replays
            // the stored answer.
            &self.k_key,
            &self.k_hash,
            &self.k_status,
            &self.k_type,
            &self.k_body,
        ];
        c.pg()
            .execute(&stmt, &params)
            .await
            .map_err(crate::idempotency::taken)?;
        Ok(())
    }
}

/// The call of `kontor_append_batch` with its 67 parameters, typed.
const APPEND_BATCH_SQL: &str = "SELECT kontor_append_batch($1, $2, $3, $4, $5, $6,
    $7::bigint[], $8::uuid[], $9::text[], $10::jsonb[], $11::bytea[], $12::bytea[], $13::timestamptz[],
    $14::int[], $15::text[], $16::date[], $17::numeric[], $18::numeric[], $19::text[], $20::numeric[],
    $21::text[], $22::text[], $23::text[], $24::text[], $25::text[], $26::text[],
    $27::uuid[], $28::text[], $29::date[], $30::text[], $31::text[], $32::text[], $33::uuid[], $34::jsonb[],
    $35::text[], $36::numeric[], $37::bigint[], $38::int[], $39::numeric[], $40::numeric[], $41::uuid[],
    $42::text[], $43::text[], $44::jsonb[], $45::timestamptz[],
    $46::text[], $47::text[], $48::date[], $49::numeric[], $50::numeric[], $51::bigint[],
    $52::text[], $53::date[], $54::text[], $55::numeric[], $56::numeric[], $57::bigint[],
    $58::uuid[], $59::text[], $60::int[], $61::jsonb[], $62::text[],
    $63::text[], $64::bytea[], $65::int[], $66::text[], $67::bytea[])";
