//! Python's `random.Random`: the Mersenne Twister seeded the way Python 3
//! seeds it, so that `random(seed=...)`, `shuffle(seed=...)` and the
//! `password` lookup's `seed=` pick what Ansible picks for the same seed
//! (`{{ 59 | random(seed=inventory_hostname) }}` gives each host the same
//! minute under fleet as under Ansible).

use sha2::{Digest, Sha512};

const N: usize = 624;
const M: usize = 397;

/// A seed, as Python's `random.seed` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seed<'a> {
    Int(i128),
    Text(&'a str),
}

pub(crate) struct PyRandom {
    state: [u32; N],
    index: usize,
}

impl PyRandom {
    /// `random.Random(seed)`.
    pub(crate) fn new(seed: &Seed<'_>) -> PyRandom {
        let key = match seed {
            Seed::Int(number) => words(&number.unsigned_abs().to_be_bytes()),
            // Version 2 seeding: the text's bytes followed by their SHA-512,
            // read as one big-endian number.
            Seed::Text(text) => {
                let mut bytes = text.as_bytes().to_vec();
                bytes.extend_from_slice(&Sha512::digest(text.as_bytes()));
                words(&bytes)
            }
        };
        let mut random = PyRandom {
            state: [0; N],
            index: N,
        };
        random.init_by_array(&key);
        random
    }

    /// Seeded from the operating system, for values that need no seed.
    pub(crate) fn from_entropy() -> Result<PyRandom, String> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|err| format!("no randomness available: {err}"))?;
        Ok(PyRandom::new(&Seed::Int(i128::from_le_bytes(
            bytes[..16].try_into().unwrap_or_default(),
        ))))
    }

    fn init_genrand(&mut self, seed: u32) {
        self.state[0] = seed;
        for i in 1..N {
            let previous = self.state[i - 1];
            self.state[i] = 1_812_433_253u32
                .wrapping_mul(previous ^ (previous >> 30))
                .wrapping_add(i as u32);
        }
        self.index = N;
    }

    fn init_by_array(&mut self, key: &[u32]) {
        self.init_genrand(19_650_218);
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key.len()) {
            let previous = self.state[i - 1];
            self.state[i] = (self.state[i] ^ (previous ^ (previous >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                self.state[0] = self.state[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let previous = self.state[i - 1];
            self.state[i] = (self.state[i]
                ^ (previous ^ (previous >> 30)).wrapping_mul(1_566_083_941))
            .wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                self.state[0] = self.state[N - 1];
                i = 1;
            }
        }
        self.state[0] = 0x8000_0000;
    }

    fn twist(&mut self) {
        for i in 0..N {
            let y = (self.state[i] & 0x8000_0000) | (self.state[(i + 1) % N] & 0x7fff_ffff);
            let mut next = self.state[(i + M) % N] ^ (y >> 1);
            if y & 1 != 0 {
                next ^= 0x9908_b0df;
            }
            self.state[i] = next;
        }
        self.index = 0;
    }

    fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.twist();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `getrandbits(k)` for `k` up to 64.
    fn bits(&mut self, k: u32) -> u64 {
        match k {
            0 => 0,
            1..=32 => u64::from(self.next_u32() >> (32 - k)),
            _ => {
                let low = u64::from(self.next_u32());
                let high = u64::from(self.next_u32() >> (64 - k));
                (high << 32) | low
            }
        }
    }

    /// `_randbelow(n)`: uniform in `0..n`, by rejection, as Python does.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let k = u64::BITS - n.leading_zeros();
        loop {
            let candidate = self.bits(k);
            if candidate < n {
                return candidate;
            }
        }
    }

    /// `randrange(start, stop, step)`.
    pub(crate) fn range(&mut self, start: i64, stop: i64, step: i64) -> Result<i64, String> {
        let width = i128::from(stop) - i128::from(start);
        let step_wide = i128::from(step);
        let count = match step {
            0 => return Err("the step cannot be 0".into()),
            1 => width,
            s if s > 0 => (width + step_wide - 1).div_euclid(step_wide),
            _ => (width + step_wide + 1).div_euclid(step_wide),
        };
        if count <= 0 {
            return Err(format!("empty range from {start} to {stop} by {step}"));
        }
        let count = u64::try_from(count).map_err(|_| "the range is too large".to_owned())?;
        let offset = i128::from(self.below(count)) * step_wide;
        i64::try_from(i128::from(start) + offset).map_err(|_| "the range is too large".to_owned())
    }

    /// `shuffle(items)`: Fisher-Yates from the end, as Python does.
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

/// A big-endian number as little-endian 32-bit words (at least one).
fn words(big_endian: &[u8]) -> Vec<u32> {
    let start = big_endian
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(big_endian.len());
    let digits = &big_endian[start..];
    let mut key: Vec<u32> = digits
        .rchunks(4)
        .map(|chunk| chunk.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)))
        .collect();
    if key.is_empty() {
        key.push(0);
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values are what CPython 3.11's `random.Random` gives.

    #[test]
    fn integer_seeds_pick_what_python_picks() {
        let mut random = PyRandom::new(&Seed::Int(42));
        let mut items: Vec<u32> = (0..10).collect();
        random.shuffle(&mut items);
        assert_eq!(items, [7, 3, 2, 8, 5, 6, 9, 4, 0, 1]);
        let mut random = PyRandom::new(&Seed::Int(0));
        assert_eq!(random.range(0, 100, 1), Ok(49));
        let mut random = PyRandom::new(&Seed::Int((1 << 40) + 5));
        assert_eq!(random.range(0, 1000, 1), Ok(516));
        let mut random = PyRandom::new(&Seed::Int(-7));
        assert_eq!(random.range(0, 1000, 1), Ok(331));
    }

    #[test]
    fn text_seeds_pick_what_python_picks() {
        let mut random = PyRandom::new(&Seed::Text("web1"));
        assert_eq!(random.range(0, 60, 1), Ok(52));
        let mut random = PyRandom::new(&Seed::Text("x"));
        assert_eq!(random.below(3), 2);
        let mut random = PyRandom::new(&Seed::Text("big"));
        assert_eq!(random.range(0, 1 << 40, 1), Ok(247_717_398_425));
    }

    #[test]
    fn ranges_with_steps_and_bad_ranges() {
        let mut random = PyRandom::new(&Seed::Text("step"));
        assert_eq!(random.range(10, 100, 10), Ok(80));
        assert_eq!(
            random.range(5, 5, 1),
            Err("empty range from 5 to 5 by 1".into())
        );
        assert_eq!(random.range(0, 5, 0), Err("the step cannot be 0".into()));
    }

    #[test]
    fn words_are_little_endian_and_never_empty() {
        assert_eq!(words(&[0, 0]), [0]);
        assert_eq!(words(&[1, 0, 0, 0, 2]), [2, 1]);
    }
}
