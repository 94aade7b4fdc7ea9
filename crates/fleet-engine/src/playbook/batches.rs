//! Rolling batches: how a play's hosts split into batches (`serial`), and
//! whether the rollout goes on after a batch (`max_fail_percentage`).

use fleet_playbook::{HostOrder, Rollback, Serial};

use crate::events::StopReason;

/// The size of each batch of a play of `play_hosts` hosts, in order, as
/// Ansible computes them: each entry of `serial` in turn, the last one
/// repeating until every host is placed; a percentage is of `play_hosts`,
/// rounded down but at least 1; a batch never exceeds the hosts left.
/// Without `serial`, one batch of every host (even of none).
pub fn batch_sizes(serial: Option<&Serial>, play_hosts: usize) -> Vec<usize> {
    let Some(Serial(ramp)) = serial.filter(|serial| !serial.0.is_empty()) else {
        return vec![play_hosts];
    };
    let mut sizes = Vec::new();
    let mut left = play_hosts;
    let mut entries = ramp.iter().chain(std::iter::repeat(&ramp[ramp.len() - 1]));
    while left > 0 {
        let wanted = entries
            .next()
            .map_or(left, |size| size.hosts(play_hosts))
            .max(1);
        let size = wanted.min(left);
        sizes.push(size);
        left -= size;
    }
    sizes
}

/// `hosts` cut into consecutive batches of [`batch_sizes`].
/// `hosts` in the play's `order`; `shuffle` draws a new order each run.
pub(super) fn ordered<'h, T>(
    hosts: &[&'h T],
    order: HostOrder,
    name: impl Fn(&T) -> &str,
) -> Vec<&'h T> {
    let mut hosts = hosts.to_vec();
    match order {
        HostOrder::Inventory => {}
        HostOrder::ReverseInventory => hosts.reverse(),
        HostOrder::Sorted => hosts.sort_by(|a, b| name(a).cmp(name(b))),
        HostOrder::ReverseSorted => hosts.sort_by(|a, b| name(b).cmp(name(a))),
        HostOrder::Shuffle => {
            let seed = fleet_shell::token();
            let mut state = seed.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
                (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3)
            });
            for index in (1..hosts.len()).rev() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let other = usize::try_from(state % (index as u64 + 1)).unwrap_or(0);
                hosts.swap(index, other);
            }
        }
    }
    hosts
}

pub(super) fn split<'h, T>(hosts: &'h [T], serial: Option<&Serial>) -> Vec<&'h [T]> {
    let mut rest = hosts;
    batch_sizes(serial, hosts.len())
        .into_iter()
        .map(|size| {
            let (batch, after) = rest.split_at(size);
            rest = after;
            batch
        })
        .collect()
}

/// Whether the rollout stops after a batch in which `failed` of its
/// `batch_size` hosts failed (or were unreachable), as Ansible decides:
/// with `max_fail_percentage`, when the failed share of the batch is
/// strictly greater than it (equal goes on). Without it, a play with
/// `serial` stops at the first batch with a failed host, and a play
/// without `serial` (a single batch) never stops the run.
pub fn stop_reason(
    failed: usize,
    batch_size: usize,
    serial: bool,
    max_fail_percentage: Option<f64>,
) -> Option<StopReason> {
    match max_fail_percentage {
        // failed / batch_size > limit / 100, without dividing.
        Some(limit) => (failed as f64 * 100.0 > limit * batch_size as f64)
            .then_some(StopReason::MaxFailPercentage),
        None => (serial && failed > 0).then_some(StopReason::HostFailed),
    }
}

/// The hosts a release-gated play puts back after a batch with failures.
/// `whole` is when the failures stopped the rollout (or the play has no
/// batches): then `rollback:` decides, the batch (`batch`), every host done
/// so far (`all`) or none; failures the threshold tolerates go back host by
/// host (unless `rollback: none`).
pub(super) fn rollback_hosts<H: Copy>(
    policy: Rollback,
    whole: bool,
    batch: &[H],
    done: &[H],
    failed: impl Fn(&H) -> bool,
) -> Vec<H> {
    match (whole, policy) {
        (_, Rollback::None) => Vec::new(),
        (true, Rollback::Batch) => batch.to_vec(),
        (true, Rollback::All) => done.to_vec(),
        (false, _) => batch.iter().copied().filter(|host| failed(host)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use fleet_playbook::{BatchSize, Rollback, Serial};

    use super::{StopReason, batch_sizes, rollback_hosts, split, stop_reason};

    #[test]
    fn a_stopped_rollout_rolls_back_per_policy() {
        let done = ["lab1", "lab2", "lab3", "lab4"];
        let batch = &done[2..];
        let failed = |host: &&str| *host == "lab4";
        assert_eq!(
            rollback_hosts(Rollback::Batch, true, batch, &done, failed),
            ["lab3", "lab4"]
        );
        assert_eq!(
            rollback_hosts(Rollback::All, true, batch, &done, failed),
            done
        );
        assert!(rollback_hosts(Rollback::None, true, batch, &done, failed).is_empty());
    }

    #[test]
    fn tolerated_failures_roll_back_host_by_host() {
        let done = ["lab1", "lab2", "lab3", "lab4"];
        let batch = &done[2..];
        let failed = |host: &&str| *host == "lab4";
        for policy in [Rollback::Batch, Rollback::All] {
            assert_eq!(
                rollback_hosts(policy, false, batch, &done, failed),
                ["lab4"],
                "{policy:?}"
            );
        }
        assert!(rollback_hosts(Rollback::None, false, batch, &done, failed).is_empty());
    }

    fn sizes(ramp: &[BatchSize], hosts: usize) -> Vec<usize> {
        batch_sizes(Some(&Serial(ramp.to_vec())), hosts)
    }

    use BatchSize::{Count, Percent};

    #[test]
    fn a_ramp_uses_each_entry_then_repeats_the_last() {
        assert_eq!(
            sizes(&[Count(1), Percent(50.0), Percent(100.0)], 6),
            [1, 3, 2]
        );
        assert_eq!(
            sizes(
                &[Count(1), Percent(10.0), Percent(50.0), Percent(100.0)],
                20
            ),
            [1, 2, 10, 7]
        );
        assert_eq!(
            sizes(&[Count(1), Count(5), Count(10)], 30),
            [1, 5, 10, 10, 4]
        );
    }

    #[test]
    fn a_count_repeats_and_the_last_batch_takes_the_rest() {
        assert_eq!(sizes(&[Count(3)], 10), [3, 3, 3, 1]);
        assert_eq!(sizes(&[Count(2)], 4), [2, 2]);
        assert_eq!(sizes(&[Count(1)], 3), [1, 1, 1]);
    }

    #[test]
    fn a_percentage_is_of_the_play_hosts_rounded_down_but_at_least_one() {
        assert_eq!(sizes(&[Percent(30.0)], 10), [3, 3, 3, 1]);
        assert_eq!(sizes(&[Percent(30.0)], 20), [6, 6, 6, 2]);
        assert_eq!(sizes(&[Percent(10.0)], 4), [1, 1, 1, 1]);
        assert_eq!(sizes(&[Percent(100.0)], 5), [5]);
        assert_eq!(sizes(&[Percent(50.0)], 5), [2, 2, 1]);
    }

    #[test]
    fn a_batch_never_exceeds_the_hosts_left() {
        assert_eq!(sizes(&[Count(1), Count(5)], 2), [1, 1]);
        assert_eq!(sizes(&[Count(10)], 3), [3]);
        assert_eq!(sizes(&[Count(2), Count(2), Count(9)], 3), [2, 1]);
    }

    #[test]
    fn no_serial_is_one_batch_of_every_host() {
        assert_eq!(batch_sizes(None, 6), [6]);
        assert_eq!(batch_sizes(None, 0), [0]);
        assert_eq!(sizes(&[Count(2)], 0), Vec::<usize>::new());
        assert_eq!(sizes(&[], 4), [4]);
    }

    #[test]
    fn split_keeps_inventory_order() {
        let hosts = ["lab1", "lab2", "lab3", "lab4", "lab5", "lab6"];
        let ramp = Serial(vec![Count(1), Percent(50.0), Percent(100.0)]);
        assert_eq!(
            split(&hosts, Some(&ramp)),
            [&hosts[..1], &hosts[1..4], &hosts[4..]]
        );
        assert_eq!(split(&hosts, None), [&hosts[..]]);
    }

    #[test]
    fn max_fail_percentage_must_be_exceeded_not_reached() {
        // 1 of 4 is 25%: at the limit goes on, just under it stops.
        assert_eq!(stop_reason(1, 4, true, Some(25.0)), None);
        assert_eq!(
            stop_reason(1, 4, true, Some(24.9)),
            Some(StopReason::MaxFailPercentage)
        );
        // Ansible's own example: serial 4, stop when 2 fail: 49, not 50.
        assert_eq!(stop_reason(2, 4, true, Some(50.0)), None);
        assert_eq!(
            stop_reason(2, 4, true, Some(49.0)),
            Some(StopReason::MaxFailPercentage)
        );
        // 3 of 10 at 30% goes on; a fourth failure stops.
        assert_eq!(stop_reason(3, 10, true, Some(30.0)), None);
        assert_eq!(
            stop_reason(4, 10, true, Some(30.0)),
            Some(StopReason::MaxFailPercentage)
        );
        // 1 of 3 is 33.33…%.
        assert_eq!(stop_reason(1, 3, true, Some(33.4)), None);
        assert_eq!(
            stop_reason(1, 3, true, Some(33.3)),
            Some(StopReason::MaxFailPercentage)
        );
    }

    #[test]
    fn zero_tolerates_no_failure_and_hundred_tolerates_all() {
        assert_eq!(stop_reason(0, 3, true, Some(0.0)), None);
        assert_eq!(
            stop_reason(1, 3, true, Some(0.0)),
            Some(StopReason::MaxFailPercentage)
        );
        assert_eq!(stop_reason(3, 3, true, Some(100.0)), None);
    }

    #[test]
    fn without_max_fail_percentage_serial_stops_at_any_failure() {
        assert_eq!(stop_reason(0, 3, true, None), None);
        assert_eq!(stop_reason(1, 3, true, None), Some(StopReason::HostFailed));
        assert_eq!(stop_reason(3, 3, false, None), None);
    }

    #[test]
    fn max_fail_percentage_applies_without_serial_too() {
        assert_eq!(
            stop_reason(2, 6, false, Some(10.0)),
            Some(StopReason::MaxFailPercentage)
        );
        assert_eq!(stop_reason(0, 6, false, Some(10.0)), None);
    }
}
