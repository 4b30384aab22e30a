//! The database side of `kontor verify`: a tenant's events streamed with one binary `COPY`, cut
//! into chunks of whole rows as they arrive, and checked on worker threads (one per core) while
//! PostgreSQL goes on writing the stream; the chunks' results are merged in `seq` order.
//!
//! Each worker checks its chunk on its own: every payload re-encoded canonically (from the text
//! `jsonb` hands out, without a `serde_json::Value` where it can, see
//! [`journal::canonical::CanonicalJson`]) and hashed with its stored `prev_hash`, and inside the
//! chunk each `seq` one more than the last and each `prev_hash` the previous stored hash. The
//! merge checks the same two links at the chunk borders, and takes the first failure in `seq`
//! order, in the order the checks of one event are made: its payload is JSON, its `seq`, its
//! `prev_hash`, its hash. So the failures and messages are those of checking one event after
//! the other with [`ChainVerifier`].

use super::{hash32, TenantCheck};
use anyhow::Context;
use futures_util::StreamExt;
use journal::canonical::{canonical_bytes, CanonicalJson};
use journal::chain::{event_hash_of_canonical, ChainVerifier, Hash32, ZERO_HASH};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use uuid::Uuid;

/// Rows per chunk handed to a worker (about 1 MB of payloads).
const CHUNK_ROWS: usize = 1024;

/// Where a row's fields are in its chunk's bytes (None: SQL NULL).
struct Row {
    seq: i64,
    payload: Option<(u32, u32)>,
    prev_hash: Option<(u32, u32)>,
    hash: Option<(u32, u32)>,
}

struct Chunk {
    /// (part of the journal, chunk of that part).
    index: (usize, usize),
    bytes: Vec<u8>,
    rows: Vec<Row>,
}

impl Chunk {
    fn field(&self, range: Option<(u32, u32)>) -> &[u8] {
        match range {
            Some((start, end)) => &self.bytes[start as usize..end as usize],
            None => &[],
        }
    }
}

/// The first failure of a chunk: the row's position in it, whether it is the payload that is no
/// JSON (which is found before the links of that event are checked), and the message.
struct Failure {
    position: usize,
    parse: bool,
    message: String,
}

struct ChunkResult {
    index: (usize, usize),
    /// seq and stored prev_hash of the first row.
    first: (i64, Hash32),
    /// seq and stored hash of the last row.
    last: (i64, Hash32),
    failure: Option<Failure>,
    /// The event hashes by the period their payload names, in seq order.
    periods: Vec<(String, Vec<Hash32>)>,
}

/// What the merge hears of: a chunk checked, or a part of the journal read to its end in as
/// many chunks.
enum Merged {
    Chunk(ChunkResult),
    PartRead { part: usize, chunks: usize },
}

/// The binary COPY's header: signature, flags, header extension.
const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

enum Framed {
    Row(Row, usize),
    End,
    Incomplete,
}

fn be_i32(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// One row of the binary COPY at `at` in `b`, if all of it is there.
fn frame(b: &[u8], at: usize) -> anyhow::Result<Framed> {
    let Some(count) = b.get(at..at + 2) else {
        return Ok(Framed::Incomplete);
    };
    let count = i16::from_be_bytes([count[0], count[1]]);
    if count == -1 {
        return Ok(Framed::End);
    }
    anyhow::ensure!(count == 4, "COPY: a row of {count} fields, 4 expected");
    let mut at = at + 2;
    let mut fields = [None; 4];
    for field in &mut fields {
        let Some(len) = be_i32(b, at) else {
            return Ok(Framed::Incomplete);
        };
        at += 4;
        if len >= 0 {
            let end = at + len as usize;
            if end > b.len() {
                return Ok(Framed::Incomplete);
            }
            *field = Some((at as u32, end as u32));
            at = end;
        }
    }
    let seq = match fields[0] {
        Some((s, e)) if e - s == 8 => {
            i64::from_be_bytes(b[s as usize..e as usize].try_into().expect("8 bytes"))
        }
        _ => anyhow::bail!("COPY: a row without a seq"),
    };
    Ok(Framed::Row(
        Row {
            seq,
            payload: fields[1],
            prev_hash: fields[2],
            hash: fields[3],
        },
        at,
    ))
}

/// Journals at least this long are read in two parts at once (two `COPY`s on two connections):
/// PostgreSQL writes each `jsonb` out as text on one core per connection, which takes longer
/// than checking it.
const PARTS_FROM: i64 = 100_000;

/// Checks a tenant's chain; stops reading at the first break.
pub fn chain_of(tenant_id: Uuid) -> anyhow::Result<TenantCheck> {
    let url = crate::config::Config::from_env()?.database_url;
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 8);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let last_seq: i64 = runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .context("connecting to the database")?;
        let connection = tokio::spawn(connection);
        let row = client
            .query_one(
                "SELECT coalesce(max(seq), 0) FROM journal_events WHERE tenant_id = $1",
                &[&tenant_id],
            )
            .await
            .context("reading the journal")?;
        drop(client);
        let _ = connection.await;
        anyhow::Ok(row.get::<_, i64>(0))
    })?;
    let parts: usize = if last_seq >= PARTS_FROM { 2 } else { 1 };
    // Part p holds the events with seq in (bounds[p], bounds[p + 1]]; the first and the last
    // part are open at their outer ends.
    let bounds: Vec<i64> = (0..=parts)
        .map(|p| last_seq * p as i64 / parts as i64)
        .collect();

    let (chunks, inbox) = mpsc::sync_channel::<Chunk>(workers * 2);
    let inbox = Arc::new(Mutex::new(inbox));
    let (results, merged) = mpsc::channel::<Merged>();
    let broken = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for _ in 0..workers {
        let inbox = inbox.clone();
        let results = results.clone();
        threads.push(std::thread::spawn(move || {
            let mut encoder = CanonicalJson::new();
            loop {
                let chunk = inbox.lock().expect("the inbox lock").recv();
                let Ok(chunk) = chunk else { break };
                let checked = Merged::Chunk(check_chunk(&chunk, &mut encoder));
                if results.send(checked).is_err() {
                    break;
                }
            }
        }));
    }
    let seen = broken.clone();
    let merger = std::thread::spawn(move || merge(merged, parts, &seen));

    // Each connection and its COPY on a thread and runtime of their own: each row arrives as a
    // message of its own, and passing those between threads would cost more than cutting them
    // into chunks.
    let mut readers = Vec::new();
    for part in 0..parts {
        let mut sql = format!(
            "COPY (SELECT seq, payload, prev_hash, hash FROM journal_events WHERE tenant_id = '{tenant_id}'"
        );
        if part > 0 {
            sql.push_str(&format!(" AND seq > {}", bounds[part]));
        }
        if part + 1 < parts {
            sql.push_str(&format!(" AND seq <= {}", bounds[part + 1]));
        }
        sql.push_str(" ORDER BY seq) TO STDOUT (FORMAT binary)");
        let (url, chunks, done, stop) =
            (url.clone(), chunks.clone(), results.clone(), broken.clone());
        readers.push(std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(read_copy(&url, &sql, part, chunks, done, &stop))
        }));
    }
    drop(chunks);
    drop(results);
    let mut read = Ok(());
    for r in readers {
        let result = r
            .join()
            .map_err(|_| anyhow::anyhow!("a reading thread panicked"))?;
        if read.is_ok() {
            read = result;
        }
    }
    for t in threads {
        t.join()
            .map_err(|_| anyhow::anyhow!("a verifying thread panicked"))?;
    }
    let (check, complete) = merger
        .join()
        .map_err(|_| anyhow::anyhow!("the merging thread panicked"))?;
    if check.failure.is_none() {
        read?; // an incomplete stream is an error, not a verified chain
        anyhow::ensure!(complete, "the journal was not read to its end");
    }
    Ok(check)
}

async fn read_copy(
    url: &str,
    sql: &str,
    part: usize,
    chunks: mpsc::SyncSender<Chunk>,
    done: mpsc::Sender<Merged>,
    broken: &AtomicBool,
) -> anyhow::Result<()> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .context("connecting to the database")?;
    // Dropped (and the socket closed) with this function, also at a break.
    let connection = tokio::spawn(async move {
        let _ = connection.await;
    });
    let _abort = AbortOnDrop(connection);
    let stream = client.copy_out(sql).await.context("reading the journal")?;
    let mut stream = std::pin::pin!(stream);
    let mut chunker = Chunker::new(part, CHUNK_ROWS);
    while let Some(data) = stream.next().await {
        if broken.load(Ordering::Relaxed) {
            return Ok(());
        }
        let data = data.context("reading the journal")?;
        if let Some(chunk) = chunker.push(&data)? {
            if chunks.send(chunk).is_err() {
                return Ok(());
            }
        }
    }
    let (last, count) = chunker.finish()?;
    if let Some(chunk) = last {
        let _ = chunks.send(chunk);
    }
    let _ = done.send(Merged::PartRead {
        part,
        chunks: count,
    });
    Ok(())
}

/// Cuts the bytes of a binary COPY, as they arrive, into chunks of whole rows.
struct Chunker {
    part: usize,
    chunk_rows: usize,
    bytes: Vec<u8>,
    rows: Vec<Row>,
    /// Where the next row starts in `bytes`.
    at: usize,
    header: bool,
    ended: bool,
    index: usize,
}

impl Chunker {
    fn new(part: usize, chunk_rows: usize) -> Chunker {
        Chunker {
            part,
            chunk_rows,
            bytes: Vec::with_capacity(2 << 20),
            rows: Vec::with_capacity(chunk_rows),
            at: 0,
            header: true,
            ended: false,
            index: 0,
        }
    }

    /// Takes the next bytes of the stream; a chunk once there are rows enough.
    fn push(&mut self, data: &[u8]) -> anyhow::Result<Option<Chunk>> {
        anyhow::ensure!(!self.ended, "COPY: data after the trailer");
        self.bytes.extend_from_slice(data);
        if self.header {
            if self.bytes.len() < SIGNATURE.len() + 8 {
                return Ok(None);
            }
            anyhow::ensure!(
                self.bytes.starts_with(SIGNATURE),
                "COPY: not the binary format"
            );
            let extension = be_i32(&self.bytes, SIGNATURE.len() + 4).unwrap_or(0).max(0) as usize;
            let start = SIGNATURE.len() + 8 + extension;
            if self.bytes.len() < start {
                return Ok(None);
            }
            self.bytes.drain(..start);
            self.header = false;
        }
        loop {
            match frame(&self.bytes, self.at)? {
                Framed::Row(row, next) => {
                    self.rows.push(row);
                    self.at = next;
                }
                Framed::End => {
                    self.ended = true;
                    anyhow::ensure!(
                        self.bytes.len() == self.at + 2,
                        "COPY: data after the trailer"
                    );
                    break;
                }
                Framed::Incomplete => break,
            }
        }
        if self.rows.len() < self.chunk_rows {
            return Ok(None);
        }
        let mut next = Vec::with_capacity(self.bytes.capacity());
        next.extend_from_slice(&self.bytes[self.at..]);
        self.bytes.truncate(self.at);
        self.at = 0;
        self.index += 1;
        Ok(Some(Chunk {
            index: (self.part, self.index - 1),
            bytes: std::mem::replace(&mut self.bytes, next),
            rows: std::mem::replace(&mut self.rows, Vec::with_capacity(self.chunk_rows)),
        }))
    }

    /// At the end of the stream: the last rows, if any, and how many chunks there are.
    fn finish(self) -> anyhow::Result<(Option<Chunk>, usize)> {
        anyhow::ensure!(self.ended, "COPY: the stream ended without its trailer");
        if self.rows.is_empty() {
            return Ok((None, self.index));
        }
        Ok((
            Some(Chunk {
                index: (self.part, self.index),
                bytes: self.bytes,
                rows: self.rows,
            }),
            self.index + 1,
        ))
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Re-encodes and hashes the payloads of one chunk and checks the links inside it.
fn check_chunk(chunk: &Chunk, encoder: &mut CanonicalJson) -> ChunkResult {
    let mut periods: Vec<(String, Vec<Hash32>)> = Vec::new();
    let mut failure = None;
    // The links inside the chunk; its first event's link is checked when the chunks are merged.
    let mut chain: Option<ChainVerifier> = None;
    for (position, row) in chunk.rows.iter().enumerate() {
        let seq = row.seq;
        let prev = hash32(chunk.field(row.prev_hash));
        let hash = hash32(chunk.field(row.hash));
        let fail = |parse: bool, message: String| {
            Some(Failure {
                position,
                parse,
                message,
            })
        };
        let payload = chunk.field(row.payload);
        let (computed, period) = match hashed(encoder, &prev, payload) {
            Ok(c) => c,
            Err(e) => {
                failure = fail(true, format!("event seq {seq}: payload is no JSON: {e}"));
                break;
            }
        };
        let verifier = chain.get_or_insert_with(|| ChainVerifier::resume(seq - 1, prev));
        if let Err(b) = verifier.check_hashed(seq, &prev, &hash, &computed) {
            failure = fail(false, b.to_string());
            break;
        }
        match periods.iter_mut().rev().find(|(p, _)| *p == period) {
            Some((_, hashes)) => hashes.push(hash),
            None => periods.push((period, vec![hash])),
        }
    }
    let first = chunk
        .rows
        .first()
        .map(|r| (r.seq, hash32(chunk.field(r.prev_hash))))
        .unwrap_or((0, ZERO_HASH));
    let last = chunk
        .rows
        .last()
        .map(|r| (r.seq, hash32(chunk.field(r.hash))))
        .unwrap_or((0, ZERO_HASH));
    ChunkResult {
        index: chunk.index,
        first,
        last,
        failure,
        periods,
    }
}

/// The event hash of a binary `jsonb` payload (version byte 1, then the JSON text) and the
/// period it names (`payload["period"]`, "" when there is none).
fn hashed(
    encoder: &mut CanonicalJson,
    prev: &Hash32,
    payload: &[u8],
) -> Result<(Hash32, String), String> {
    let text = match payload.split_first() {
        Some((1, text)) => text,
        Some((version, _)) => return Err(format!("jsonb format version {version}")),
        None => return Err("no jsonb value".to_string()),
    };
    if let Ok(text) = std::str::from_utf8(text) {
        if let Some(canonical) = encoder.encode(text) {
            let hash = event_hash_of_canonical(prev, canonical);
            let period = encoder
                .top_level_str(text, "period")
                .map(|p| p.into_owned())
                .unwrap_or_default();
            return Ok((hash, period));
        }
    }
    let value: Value = serde_json::from_slice(text).map_err(|e| e.to_string())?;
    let hash = event_hash_of_canonical(prev, &canonical_bytes(&value));
    Ok((hash, value["period"].as_str().unwrap_or("").to_string()))
}

/// Takes the chunks' results in order (part by part, chunk by chunk); the first failure ends
/// the check (and the reading). Also says whether every part was read and merged to its end.
fn merge(
    results: mpsc::Receiver<Merged>,
    parts: usize,
    broken: &AtomicBool,
) -> (TenantCheck, bool) {
    let mut check = TenantCheck::new();
    let mut waiting: BTreeMap<(usize, usize), ChunkResult> = BTreeMap::new();
    let mut read: Vec<Option<usize>> = vec![None; parts];
    let (mut part, mut next) = (0usize, 0usize);
    let mut next_seq = 1i64;
    let mut last_hash = ZERO_HASH;
    let mut by_period: HashMap<String, Vec<Hash32>> = HashMap::new();
    for message in results {
        if check.failure.is_some() {
            continue;
        }
        match message {
            Merged::Chunk(r) => {
                waiting.insert(r.index, r);
            }
            Merged::PartRead { part, chunks } => read[part] = Some(chunks),
        }
        loop {
            if part + 1 < parts && read[part] == Some(next) {
                (part, next) = (part + 1, 0);
                continue;
            }
            let Some(r) = waiting.remove(&(part, next)) else {
                break;
            };
            next += 1;
            let (seq, prev) = r.first;
            let failure = match &r.failure {
                Some(f) if f.position == 0 && f.parse => Some(f.message.clone()),
                other => match ChainVerifier::resume(next_seq - 1, last_hash).link(seq, &prev) {
                    Err(b) => Some(b.to_string()),
                    Ok(()) => other.as_ref().map(|f| f.message.clone()),
                },
            };
            if failure.is_some() {
                check.failure = failure;
                broken.store(true, Ordering::Relaxed);
                waiting.clear();
                break;
            }
            (next_seq, last_hash) = (r.last.0 + 1, r.last.1);
            for (period, hashes) in r.periods {
                by_period.entry(period).or_default().extend(hashes);
            }
        }
    }
    let complete = parts == 0 || (part + 1 == parts && read[part] == Some(next));
    check.chain = ChainVerifier::resume(next_seq - 1, last_hash);
    check.by_period = by_period;
    (check, complete)
}

#[cfg(test)]
mod tests {
    use super::*;
    use journal::chain::event_hash;

    #[derive(Clone)]
    struct Event {
        seq: i64,
        payload: String,
        prev_hash: Vec<u8>,
        hash: Vec<u8>,
    }

    /// A chain of `n` events, their payloads written as `jsonb` writes them (keys by length,
    /// ", " and ": "), which is not the canonical order.
    fn chain(n: i64) -> Vec<Event> {
        let mut prev = ZERO_HASH;
        (1..=n)
            .map(|seq| {
                let payload = format!(
                    r#"{{"seq": {seq}, "actor": {{"id": "k{seq}", "kind": "api_key"}}, "amount": "{seq}.50", "period": "2026-0{}", "description": "Müller \"{seq}\" \\ €"}}"#,
                    1 + seq % 3
                );
                let value: Value = serde_json::from_str(&payload).unwrap();
                let hash = event_hash(&prev, &value);
                let event = Event {
                    seq,
                    payload,
                    prev_hash: prev.to_vec(),
                    hash: hash.to_vec(),
                };
                prev = hash;
                event
            })
            .collect()
    }

    fn copy_bytes(events: &[Event]) -> Vec<u8> {
        let mut b = SIGNATURE.to_vec();
        b.extend_from_slice(&0i32.to_be_bytes());
        b.extend_from_slice(&0i32.to_be_bytes());
        for e in events {
            b.extend_from_slice(&4i16.to_be_bytes());
            b.extend_from_slice(&8i32.to_be_bytes());
            b.extend_from_slice(&e.seq.to_be_bytes());
            b.extend_from_slice(&(e.payload.len() as i32 + 1).to_be_bytes());
            b.push(1);
            b.extend_from_slice(e.payload.as_bytes());
            for h in [&e.prev_hash, &e.hash] {
                b.extend_from_slice(&(h.len() as i32).to_be_bytes());
                b.extend_from_slice(h);
            }
        }
        b.extend_from_slice(&(-1i16).to_be_bytes());
        b
    }

    /// What verify did before: one event after the other with a `Value` each.
    fn one_by_one(events: &[Event]) -> TenantCheck {
        let mut check = TenantCheck::new();
        for e in events {
            match serde_json::from_str::<Value>(&e.payload) {
                Ok(p) => check.event(e.seq, &hash32(&e.prev_hash), &hash32(&e.hash), &p),
                Err(err) => {
                    check.failure = Some(format!("event seq {}: payload is no JSON: {err}", e.seq))
                }
            }
            if check.failure.is_some() {
                break;
            }
        }
        check
    }

    /// The stream cut into pieces of `piece` bytes, chunks of `chunk_rows` rows, the chunks'
    /// results merged in reverse order of their arrival.
    /// Also read in two parts, split after `split` events (when there are that many).
    fn chunked(
        events: &[Event],
        chunk_rows: usize,
        piece: usize,
        split: Option<usize>,
    ) -> TenantCheck {
        let parts: Vec<&[Event]> = match split {
            Some(at) if at <= events.len() => vec![&events[..at], &events[at..]],
            _ => vec![events],
        };
        let mut encoder = CanonicalJson::new();
        let mut messages = Vec::new();
        for (part, events) in parts.iter().enumerate() {
            let bytes = copy_bytes(events);
            let mut chunker = Chunker::new(part, chunk_rows);
            for piece in bytes.chunks(piece) {
                if let Some(chunk) = chunker.push(piece).unwrap() {
                    messages.push(Merged::Chunk(check_chunk(&chunk, &mut encoder)));
                }
            }
            let (last, chunks) = chunker.finish().unwrap();
            if let Some(chunk) = last {
                messages.push(Merged::Chunk(check_chunk(&chunk, &mut encoder)));
            }
            messages.push(Merged::PartRead { part, chunks });
        }
        let (tx, rx) = mpsc::channel();
        for m in messages.into_iter().rev() {
            tx.send(m).unwrap();
        }
        drop(tx);
        let (check, complete) = merge(rx, parts.len(), &AtomicBool::new(false));
        assert!(complete || check.failure.is_some());
        check
    }

    fn same(events: &[Event], what: &str) {
        let expected = one_by_one(events);
        for (chunk_rows, piece, split) in [
            (1, 5, None),
            (2, 64, None),
            (3, 100_000, None),
            (4, 64, None),
            (7, 5, None),
            (100, 100_000, None),
            (1, 100_000, Some(0)),
            (2, 64, Some(1)),
            (3, 5, Some(5)),
            (4, 100_000, Some(6)),
            (100, 64, Some(7)),
            (2, 100_000, Some(events.len())),
        ] {
            {
                let got = chunked(events, chunk_rows, piece, split);
                assert_eq!(
                    got.failure, expected.failure,
                    "{what}, chunks of {chunk_rows}, split {split:?}"
                );
                if expected.failure.is_none() {
                    assert_eq!(got.chain.verified(), expected.chain.verified(), "{what}");
                    assert_eq!(got.by_period, expected.by_period, "{what}");
                }
            }
        }
    }

    #[test]
    fn chunks_find_what_one_event_after_the_other_finds() {
        let n = 12;
        let events = chain(n);
        same(&events, "intact");
        same(&[], "empty");
        for k in 0..n as usize {
            let mut e = events.clone();
            e[k].payload = e[k].payload.replace(".50", ".51");
            same(&e, &format!("amount of {k} changed"));

            let mut e = events.clone();
            e[k].payload = "{\"seq\": ".to_string();
            same(&e, &format!("payload of {k} no JSON"));

            let mut e = events.clone();
            e[k].payload = format!("{{\"seq\": {}, \"x\": 1e3, \"x\": 2}}", k);
            same(&e, &format!("payload of {k} for serde_json"));

            let mut e = events.clone();
            e.remove(k);
            same(&e, &format!("{k} removed"));

            let mut e = events.clone();
            e[k].prev_hash[3] ^= 1;
            same(&e, &format!("prev_hash of {k} changed"));

            let mut e = events.clone();
            e[k].hash[0] ^= 1;
            same(&e, &format!("hash of {k} changed"));

            let mut e = events.clone();
            e[k].hash.truncate(31);
            same(&e, &format!("hash of {k} cut short"));

            if k + 1 < n as usize {
                let mut e = events.clone();
                e.swap(k, k + 1);
                same(&e, &format!("{k} and the next swapped"));

                // Both a payload that is no JSON and a broken link at the next event.
                let mut e = events.clone();
                e[k + 1].payload = "[".to_string();
                e[k + 1].seq += 5;
                same(&e, &format!("{k}: no JSON and a gap"));
            }
        }
    }

    #[test]
    fn a_stream_cut_short_is_an_error() {
        let bytes = copy_bytes(&chain(3));
        let mut chunker = Chunker::new(0, 100);
        assert!(chunker.push(&bytes[..bytes.len() - 2]).unwrap().is_none());
        assert!(chunker.finish().is_err());
        let mut chunker = Chunker::new(0, 100);
        assert!(chunker.push(b"PGCOPY\n\xff\r\n\x01more garbage").is_err());
    }
}
