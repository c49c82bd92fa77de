//! A circuit breaker per TikTok endpoint: after a run of transient failures (5xx, timeouts,
//! broken connections) calls to that endpoint fail fast for a cool-down, then one trial call
//! decides whether it is healthy again. Keeps Cadence from hammering a TikTok that is down and
//! lets it recover by itself. Refusals (4xx) mean TikTok is up and reset the count.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Consecutive transient failures that open the circuit.
pub const FAILURES_TO_OPEN: u32 = 5;
/// How long an open circuit refuses calls before letting one through.
pub const COOL_DOWN: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Circuit {
    failures: u32,
    open_until: Option<Instant>,
    trial_in_flight: bool,
}

/// The breakers of one process, by endpoint.
#[derive(Default)]
pub struct Breakers {
    circuits: Mutex<HashMap<&'static str, Circuit>>,
}

impl Breakers {
    /// May a call to `endpoint` go out now? `Err` says how long until it may.
    pub fn admit(&self, endpoint: &'static str, now: Instant) -> Result<(), Duration> {
        let mut circuits = self.circuits.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let circuit = circuits.entry(endpoint).or_default();
        match circuit.open_until {
            None => Ok(()),
            Some(until) if now < until => Err(until - now),
            // Half-open: one trial call at a time.
            Some(_) if circuit.trial_in_flight => Err(Duration::from_secs(1)),
            Some(_) => {
                circuit.trial_in_flight = true;
                Ok(())
            }
        }
    }

    /// Records how a call went: `transient_failure` for 5xx, timeouts and broken connections.
    pub fn record(&self, endpoint: &'static str, transient_failure: bool, now: Instant) {
        let mut circuits = self.circuits.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let circuit = circuits.entry(endpoint).or_default();
        circuit.trial_in_flight = false;
        if !transient_failure {
            *circuit = Circuit::default();
            return;
        }
        circuit.failures += 1;
        if circuit.failures >= FAILURES_TO_OPEN || circuit.open_until.is_some() {
            if circuit.open_until.is_none() {
                tracing::warn!(endpoint, "TikTok keeps failing; pausing calls to this endpoint");
            }
            circuit.open_until = Some(now + COOL_DOWN);
        }
    }
}

/// The names of a circuit's states, as `/healthz` and `/metrics` show them.
pub const STATES: [&str; 3] = ["closed", "open", "half_open"];

impl Breakers {
    /// Each endpoint called so far with its circuit's state at `now`, by endpoint name.
    pub fn states(&self, now: Instant) -> Vec<(&'static str, &'static str)> {
        let circuits = self.circuits.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut states: Vec<_> = circuits
            .iter()
            .map(|(endpoint, circuit)| {
                let state = match circuit.open_until {
                    None => STATES[0],
                    Some(until) if now < until => STATES[1],
                    Some(_) => STATES[2],
                };
                (*endpoint, state)
            })
            .collect();
        states.sort_unstable();
        states
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_a_run_of_failures_and_recovers_through_one_trial() {
        let breakers = Breakers::default();
        let start = Instant::now();
        for _ in 0..FAILURES_TO_OPEN - 1 {
            assert!(breakers.admit("status", start).is_ok());
            breakers.record("status", true, start);
        }
        assert!(breakers.admit("status", start).is_ok(), "still closed one short of the threshold");
        breakers.record("status", true, start);
        assert_eq!(breakers.admit("status", start), Err(COOL_DOWN), "open: fail fast");
        assert!(breakers.admit("init", start).is_ok(), "other endpoints are unaffected");

        let later = start + COOL_DOWN;
        assert!(breakers.admit("status", later).is_ok(), "half-open: one trial");
        assert!(breakers.admit("status", later).is_err(), "only one trial at a time");
        breakers.record("status", true, later);
        assert_eq!(breakers.admit("status", later), Err(COOL_DOWN), "a failed trial opens it again");

        let even_later = later + COOL_DOWN;
        assert!(breakers.admit("status", even_later).is_ok());
        assert_eq!(breakers.states(even_later), [("init", "closed"), ("status", "half_open")]);
        breakers.record("status", false, even_later);
        assert!(breakers.admit("status", even_later).is_ok(), "a good trial closes it");
        assert_eq!(breakers.states(even_later), [("init", "closed"), ("status", "closed")]);
    }

    #[test]
    fn a_refusal_means_tiktok_is_up() {
        let breakers = Breakers::default();
        let now = Instant::now();
        for _ in 0..FAILURES_TO_OPEN - 1 {
            breakers.record("init", true, now);
        }
        breakers.record("init", false, now);
        breakers.record("init", true, now);
        assert!(breakers.admit("init", now).is_ok());
    }
}
