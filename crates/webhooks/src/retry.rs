//! When a failed delivery is tried again, and when a webhook that keeps failing is disabled.

/// The delays after a failed attempt, in seconds: the first retry `delays[0]` after the first
/// attempt, and so on. After the last retry fails the delivery is exhausted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(Vec<u64>);

impl Default for RetrySchedule {
    /// 1 min, 5 min, 30 min, 2 h, 8 h (seed 002).
    fn default() -> Self {
        RetrySchedule(vec![60, 300, 1800, 7200, 28_800])
    }
}

impl RetrySchedule {
    pub fn new(delays: Vec<u64>) -> RetrySchedule {
        RetrySchedule(delays)
    }

    /// `KONTOR_WEBHOOK_RETRY_SCHEDULE`: seconds, comma-separated, each 1 to 604800 (a week),
    /// at most 20 entries. An empty text means no retries.
    pub fn parse(text: &str) -> Result<RetrySchedule, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(RetrySchedule(Vec::new()));
        }
        let mut delays = Vec::new();
        for part in text.split(',') {
            let secs: u64 = part
                .trim()
                .parse()
                .map_err(|_| format!("{:?} is not a number of seconds", part.trim()))?;
            if !(1..=604_800).contains(&secs) {
                return Err(format!("{secs} is not between 1 and 604800 seconds"));
            }
            delays.push(secs);
        }
        if delays.len() > 20 {
            return Err("at most 20 retries".into());
        }
        Ok(RetrySchedule(delays))
    }

    pub fn delays(&self) -> &[u64] {
        &self.0
    }

    /// All attempts a delivery gets: the first and the retries.
    pub fn max_attempts(&self) -> u32 {
        self.0.len() as u32 + 1
    }

    /// After `attempts` attempts that all failed: the seconds until the next, or None when the
    /// delivery is exhausted.
    pub fn next_delay(&self, attempts: u32) -> Option<u64> {
        if attempts == 0 {
            return Some(0);
        }
        self.0.get(attempts as usize - 1).copied()
    }
}

/// How a delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Delivered,
    Exhausted,
}

/// A webhook is disabled when its last this many settled events all exhausted their retries.
pub const DISABLE_AFTER: usize = 5;

/// `newest_first`: how the webhook's most recent settled deliveries ended, newest event
/// (highest sequence) first. Deliveries still being retried do not count, or an endpoint that
/// is down for good would never be disabled while new events keep coming.
pub fn should_disable(newest_first: &[Settled]) -> bool {
    newest_first.len() >= DISABLE_AFTER
        && newest_first[..DISABLE_AFTER]
            .iter()
            .all(|s| *s == Settled::Exhausted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Settled::*;

    #[test]
    fn schedule() {
        let d = RetrySchedule::default();
        assert_eq!(d.max_attempts(), 6);
        for (attempts, want) in [
            (0, Some(0)),
            (1, Some(60)),
            (2, Some(300)),
            (3, Some(1800)),
            (4, Some(7200)),
            (5, Some(28_800)),
            (6, None),
            (7, None),
        ] {
            assert_eq!(d.next_delay(attempts), want, "after {attempts}");
        }
        let none = RetrySchedule::parse("").unwrap();
        assert_eq!(none.next_delay(1), None);
        assert_eq!(none.max_attempts(), 1);
    }

    #[test]
    fn parsing() {
        for (text, want) in [
            ("1,1,1", Ok(vec![1, 1, 1])),
            (" 60, 300 ,1800", Ok(vec![60, 300, 1800])),
            ("", Ok(vec![])),
            ("0", Err(())),
            ("1,,2", Err(())),
            ("1.5", Err(())),
            ("-1", Err(())),
            ("604801", Err(())),
        ] {
            assert_eq!(
                RetrySchedule::parse(text).map(|s| s.0).map_err(|_| ()),
                want,
                "{text:?}"
            );
        }
    }

    #[test]
    fn disabling() {
        for (outcomes, want) in [
            (vec![Exhausted; 5], true),
            (vec![Exhausted; 6], true),
            (vec![Exhausted; 4], false),
            (
                vec![Exhausted, Exhausted, Exhausted, Exhausted, Delivered],
                false,
            ),
            (
                vec![
                    Delivered, Exhausted, Exhausted, Exhausted, Exhausted, Exhausted,
                ],
                false,
            ),
            (
                vec![
                    Exhausted, Exhausted, Exhausted, Exhausted, Exhausted, Delivered,
                ],
                true,
            ),
            (vec![], false),
        ] {
            assert_eq!(should_disable(&outcomes), want, "{outcomes:?}");
        }
    }
}
