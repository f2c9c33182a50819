//! Client-side load balancing: which instance takes the next call.
//!
//! Every strategy skips instances that are unhealthy, disabled or of weight
//! 0 ([`Instance::callable`]). The weighted round robin is nginx's smooth
//! one: weights 5, 1, 1 give `a a b a c a a`, spread out rather than in
//! runs (the peer's own always picks the first instance, §6). Consistent
//! hashing is rendezvous hashing, weighted: a key keeps its instance while
//! that instance stays, and only the keys of an instance that goes move.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};

use crate::Instance;

/// How to pick.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    #[default]
    RoundRobin,
    WeightedRoundRobin,
    Random,
    WeightedRandom,
    /// The less busy of two picked at random (power of two choices).
    LeastRequests,
    /// By a key taken from the request; the same key, the same instance.
    ConsistentHash,
}

impl Strategy {
    pub const ALL: [Strategy; 6] = [
        Strategy::RoundRobin,
        Strategy::WeightedRoundRobin,
        Strategy::Random,
        Strategy::WeightedRandom,
        Strategy::LeastRequests,
        Strategy::ConsistentHash,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Strategy::RoundRobin => "round_robin",
            Strategy::WeightedRoundRobin => "weighted_round_robin",
            Strategy::Random => "random",
            Strategy::WeightedRandom => "weighted_random",
            Strategy::LeastRequests => "least_requests",
            Strategy::ConsistentHash => "consistent_hash",
        }
    }
}

impl FromStr for Strategy {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Strategy::ALL
            .into_iter()
            .find(|s| s.name() == name.replace('-', "_"))
            .ok_or_else(|| {
                let names: Vec<&str> = Strategy::ALL.iter().map(|s| s.name()).collect();
                format!("unknown strategy {name:?}; one of {}", names.join(", "))
            })
    }
}

/// Picks instances by one strategy, keeping what the strategy needs between
/// calls (a counter, current weights, calls in flight), keyed by instance
/// id. Clone it freely.
#[derive(Debug, Clone, Default)]
pub struct Balancer {
    strategy: Strategy,
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    next: usize,
    /// Smooth weighted round robin: each instance's current weight.
    current: HashMap<String, f64>,
    /// Calls in flight per instance. A counter is kept while its instance
    /// is listed, so a call neither allocates one nor locks to let it go.
    in_flight: HashMap<String, Arc<AtomicUsize>>,
}

/// A picked instance (one of those given to [`Balancer::pick`]); while it
/// lives, the call counts as in flight.
#[derive(Debug)]
pub struct Picked<'a, T = Instance> {
    pub instance: &'a T,
    in_flight: Arc<AtomicUsize>,
}

impl<T> Drop for Picked<'_, T> {
    fn drop(&mut self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Balancer {
    pub fn new(strategy: Strategy) -> Self {
        Balancer {
            strategy,
            state: Arc::default(),
        }
    }

    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// The instance for the next call, among the callable ones; `key` is
    /// what consistent hashing hashes (others ignore it). `None` when no
    /// instance is callable. Takes anything that is an [`Instance`], so a
    /// caller can keep what it worked out per instance beside it.
    pub fn pick<'a, T: AsRef<Instance>>(
        &self,
        instances: impl IntoIterator<Item = &'a T>,
        key: Option<&str>,
    ) -> Option<Picked<'a, T>> {
        let mut callable: Vec<&T> = instances
            .into_iter()
            .filter(|i| i.as_ref().callable())
            .collect();
        if callable.is_empty() {
            return None;
        }
        // A stable order, whatever order the registry answered in.
        callable.sort_by(|a, b| {
            let (a, b) = (a.as_ref(), b.as_ref());
            (a.ip.as_str(), a.port).cmp(&(b.ip.as_str(), b.port))
        });
        let mut state = lock(&self.state);
        let chosen = match self.strategy {
            Strategy::RoundRobin => {
                let i = state.next % callable.len();
                state.next = state.next.wrapping_add(1);
                callable[i]
            }
            Strategy::WeightedRoundRobin => smooth_weighted(&mut state, &callable),
            Strategy::Random => callable[fastrand::usize(..callable.len())],
            Strategy::WeightedRandom => weighted_random(&callable),
            Strategy::LeastRequests => least_requests(&state, &callable),
            Strategy::ConsistentHash => rendezvous(&callable, key.unwrap_or_default()),
        };
        let id = chosen.as_ref().id.as_str();
        let in_flight = match state.in_flight.get(id) {
            Some(count) => count.clone(),
            None => {
                // Counters of instances gone (and idle) go before one is added.
                if state.in_flight.len() >= 2 * callable.len() + 16 {
                    state.in_flight.retain(|id, count| {
                        count.load(Ordering::Relaxed) > 0
                            || callable.iter().any(|i| i.as_ref().id == *id)
                    });
                }
                let count = Arc::new(AtomicUsize::new(0));
                state.in_flight.insert(id.to_owned(), count.clone());
                count
            }
        };
        // Counted under the lock: a concurrent pick's pruning keeps it then.
        in_flight.fetch_add(1, Ordering::Relaxed);
        drop(state);
        Some(Picked {
            instance: chosen,
            in_flight,
        })
    }

    /// Calls in flight on the instance with this id.
    pub fn in_flight(&self, id: &str) -> usize {
        lock(&self.state)
            .in_flight
            .get(id)
            .map_or(0, |count| count.load(Ordering::Relaxed))
    }
}

/// nginx's smooth weighted round robin.
fn smooth_weighted<'a, T: AsRef<Instance>>(state: &mut State, callable: &[&'a T]) -> &'a T {
    // Instances that went away take their current weight with them.
    if state.current.len() > callable.len() {
        state
            .current
            .retain(|id, _| callable.iter().any(|i| i.as_ref().id == *id));
    }
    let total: f64 = callable.iter().map(|i| i.as_ref().weight).sum();
    let mut best = callable[0];
    let mut best_weight = f64::MIN;
    for &item in callable {
        let instance = item.as_ref();
        if !state.current.contains_key(instance.id.as_str()) {
            state.current.insert(instance.id.clone(), 0.0);
        }
        if let Some(current) = state.current.get_mut(instance.id.as_str()) {
            *current += instance.weight;
            if *current > best_weight {
                best_weight = *current;
                best = item;
            }
        }
    }
    if let Some(current) = state.current.get_mut(best.as_ref().id.as_str()) {
        *current -= total;
    }
    best
}

fn weighted_random<'a, T: AsRef<Instance>>(callable: &[&'a T]) -> &'a T {
    let total: f64 = callable.iter().map(|i| i.as_ref().weight).sum();
    let mut point = fastrand::f64() * total;
    for &item in callable {
        let weight = item.as_ref().weight;
        if point < weight {
            return item;
        }
        point -= weight;
    }
    callable[callable.len() - 1]
}

fn least_requests<'a, T: AsRef<Instance>>(state: &State, callable: &[&'a T]) -> &'a T {
    if callable.len() == 1 {
        return callable[0];
    }
    let a = fastrand::usize(..callable.len());
    let mut b = fastrand::usize(..callable.len() - 1);
    if b >= a {
        b += 1;
    }
    let load = |i: &T| {
        let i = i.as_ref();
        let in_flight = state.in_flight.get(i.id.as_str());
        in_flight.map_or(0, |count| count.load(Ordering::Relaxed)) as f64 / i.weight
    };
    if load(callable[b]) < load(callable[a]) {
        callable[b]
    } else {
        callable[a]
    }
}

/// Weighted rendezvous hashing: the highest `-weight / ln(u)`, `u` the
/// key and instance hashed into (0, 1).
fn rendezvous<'a, T: AsRef<Instance>>(callable: &[&'a T], key: &str) -> &'a T {
    let mut best = callable[0];
    let mut best_score = f64::MIN;
    for &item in callable {
        let instance = item.as_ref();
        let seed = fnv1a(
            &instance.port.to_le_bytes(),
            fnv1a(instance.ip.as_bytes(), FNV_OFFSET),
        );
        let hash = fnv1a(key.as_bytes(), seed);
        // 53 bits into (0, 1): never 0, so the logarithm is finite.
        let unit = ((hash >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let score = -instance.weight / unit.ln();
        if score > best_score {
            best_score = score;
            best = item;
        }
    }
    best
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a: stable across runs and builds, unlike `DefaultHasher`, so a key
/// maps to the same instance in every process.
fn fnv1a(bytes: &[u8], seed: u64) -> u64 {
    let mut hash = seed;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    // A final mix: FNV alone leaves the low bits of similar keys close.
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^ (hash >> 33)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn instance(port: u16, weight: f64) -> Instance {
        Instance {
            id: port.to_string(),
            service: "S".into(),
            ip: "127.0.0.1".into(),
            port,
            weight,
            healthy: true,
            enabled: true,
            ephemeral: true,
            cluster: "DEFAULT".into(),
            metadata: BTreeMap::new(),
        }
    }

    fn counts(balancer: &Balancer, instances: &[Instance], calls: usize) -> Vec<usize> {
        let mut counts = vec![0; instances.len()];
        for call in 0..calls {
            let key = format!("key-{call}");
            let picked = balancer.pick(instances, Some(&key)).unwrap();
            let i = instances
                .iter()
                .position(|x| x.port == picked.instance.port)
                .unwrap();
            counts[i] += 1;
        }
        counts
    }

    #[test]
    fn smooth_weighted_round_robin_spreads_picks_as_nginx_does() {
        let instances = [instance(1, 5.0), instance(2, 1.0), instance(3, 1.0)];
        let balancer = Balancer::new(Strategy::WeightedRoundRobin);
        let order: Vec<u16> = (0..7)
            .map(|_| balancer.pick(&instances, None).unwrap().instance.port)
            .collect();
        assert_eq!(order, [1, 1, 2, 1, 3, 1, 1]);
    }

    #[test]
    fn each_strategy_lands_in_proportion_or_evenly() {
        // Seeded: the random strategies give the same picks every run, so
        // the tolerance below cannot flake.
        fastrand::seed(7);
        let instances = [instance(1, 1.0), instance(2, 2.0), instance(3, 3.0)];
        let calls = 6000;
        for strategy in Strategy::ALL {
            let got = counts(&Balancer::new(strategy), &instances, calls);
            let weighted = matches!(
                strategy,
                Strategy::WeightedRoundRobin | Strategy::WeightedRandom | Strategy::ConsistentHash
            );
            for (i, &count) in got.iter().enumerate() {
                let share = if weighted {
                    instances[i].weight / 6.0
                } else {
                    1.0 / 3.0
                };
                let expected = share * calls as f64;
                // Exact for the round robins; within 10 % for the random ones.
                let tolerance = if matches!(
                    strategy,
                    Strategy::RoundRobin | Strategy::WeightedRoundRobin
                ) {
                    1.0
                } else {
                    expected * 0.10
                };
                assert!(
                    (count as f64 - expected).abs() <= tolerance,
                    "{}: {got:?}, instance {i} expected {expected}",
                    strategy.name()
                );
            }
        }
    }

    #[test]
    fn uncallable_instances_are_never_picked() {
        let mut sick = instance(2, 1.0);
        sick.healthy = false;
        let mut off = instance(3, 1.0);
        off.enabled = false;
        let instances = [instance(1, 1.0), sick, off, instance(4, 0.0)];
        for strategy in Strategy::ALL {
            let got = counts(&Balancer::new(strategy), &instances, 200);
            assert_eq!(got, vec![200, 0, 0, 0], "{}", strategy.name());
        }
        assert!(Balancer::default().pick(&instances[1..], None).is_none());
    }

    #[test]
    fn a_key_keeps_its_instance_and_only_a_removed_instances_keys_move() {
        let balancer = Balancer::new(Strategy::ConsistentHash);
        let all = [
            instance(1, 1.0),
            instance(2, 1.0),
            instance(3, 1.0),
            instance(4, 1.0),
        ];
        let before: Vec<u16> = (0..400)
            .map(|k| {
                balancer
                    .pick(&all, Some(&format!("user-{k}")))
                    .unwrap()
                    .instance
                    .port
            })
            .collect();
        let again: Vec<u16> = (0..400)
            .map(|k| {
                balancer
                    .pick(&all, Some(&format!("user-{k}")))
                    .unwrap()
                    .instance
                    .port
            })
            .collect();
        assert_eq!(before, again);
        let without_3: Vec<Instance> = all.iter().filter(|i| i.port != 3).cloned().collect();
        for (k, &port) in before.iter().enumerate() {
            let now = balancer
                .pick(&without_3, Some(&format!("user-{k}")))
                .unwrap()
                .instance
                .port;
            if port != 3 {
                assert_eq!(now, port, "key {k} moved though its instance stayed");
            }
        }
    }

    #[test]
    fn least_requests_avoids_the_busy_instance() {
        let instances = [instance(1, 1.0), instance(2, 1.0)];
        let balancer = Balancer::new(Strategy::LeastRequests);
        // Ten calls held on whichever comes first...
        let held: Vec<Picked> = (0..10)
            .map(|_| balancer.pick(&instances[..1], None).unwrap())
            .collect();
        assert_eq!(balancer.in_flight("1"), 10);
        // ...so the two-choice pick always prefers the idle one.
        for _ in 0..50 {
            assert_eq!(balancer.pick(&instances, None).unwrap().instance.port, 2);
        }
        drop(held);
        assert_eq!(balancer.in_flight("1"), 0);
    }

    #[test]
    fn counters_of_instances_gone_do_not_pile_up() {
        let balancer = Balancer::new(Strategy::LeastRequests);
        let busy = instance(1, 1.0);
        let held = balancer.pick([&busy], None).unwrap();
        // A thousand instances come and go, one at a time.
        for port in 2..1002 {
            balancer.pick([&instance(port, 1.0)], None).unwrap();
        }
        let counters = lock(&balancer.state).in_flight.len();
        assert!(counters <= 19, "{counters} counters kept");
        // The counter of a call still in flight is never dropped.
        assert_eq!(balancer.in_flight("1"), 1);
        drop(held);
        assert_eq!(balancer.in_flight("1"), 0);
    }

    #[test]
    fn strategies_parse_by_name() {
        for strategy in Strategy::ALL {
            assert_eq!(strategy.name().parse::<Strategy>(), Ok(strategy));
        }
        assert_eq!(
            "least-requests".parse::<Strategy>(),
            Ok(Strategy::LeastRequests)
        );
        assert!(
            "fastest"
                .parse::<Strategy>()
                .unwrap_err()
                .contains("round_robin")
        );
    }
}
