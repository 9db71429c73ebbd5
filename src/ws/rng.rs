//! Randomness for masking keys (RFC 6455 §5.3) and handshake nonces (§4.1).
//!
//! RFC 6455 §10.3 asks for keys an attacker cannot predict, so the default
//! source is the operating system's CSPRNG. One `getrandom` call per 4-byte
//! key would put a syscall on every client frame, so [`OsRandom`] draws a
//! block at a time and hands it out in pieces; every byte is still straight
//! from the OS and none is handed out twice.

/// A source of random bytes for masking keys and handshake nonces.
///
/// The default is [`OsRandom`]. Tests, fuzzers and embedded users can supply
/// their own (for example a seeded generator to make output reproducible).
///
/// # Example
/// ```
/// use pushcodec::ws::RandomSource;
///
/// /// Deterministic bytes: for tests only, never on a real connection.
/// struct Counter(u8);
/// impl RandomSource for Counter {
///     fn fill(&mut self, buf: &mut [u8]) {
///         for b in buf {
///             self.0 = self.0.wrapping_add(1);
///             *b = self.0;
///         }
///     }
/// }
/// let mut rng = Counter(0);
/// let mut key = [0u8; 4];
/// rng.fill(&mut key);
/// assert_eq!(key, [1, 2, 3, 4]);
/// ```
pub trait RandomSource: Send {
    /// Fills `buf` entirely with random bytes.
    fn fill(&mut self, buf: &mut [u8]);
}

/// 256 masking keys per system call.
const POOL_LEN: usize = 1024;

/// The operating system's CSPRNG (`getrandom`), drawn in 1 KiB blocks.
///
/// # Panics
/// Refilling panics only if the operating system cannot supply randomness at
/// all (`getrandom` failing), which no supported platform does after boot;
/// a connection must not go on with predictable mask keys.
pub struct OsRandom {
    pool: [u8; POOL_LEN],
    next: usize,
}

impl OsRandom {
    /// A source whose first draw reads from the operating system.
    pub fn new() -> Self {
        OsRandom {
            pool: [0; POOL_LEN],
            next: POOL_LEN,
        }
    }
}

impl Default for OsRandom {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for OsRandom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print pooled bytes: they are future mask keys.
        f.debug_struct("OsRandom").finish_non_exhaustive()
    }
}

impl RandomSource for OsRandom {
    fn fill(&mut self, mut buf: &mut [u8]) {
        while !buf.is_empty() {
            if self.next == POOL_LEN {
                getrandom::fill(&mut self.pool).expect("the OS random source failed");
                self.next = 0;
            }
            let n = buf.len().min(POOL_LEN - self.next);
            let (head, rest) = buf.split_at_mut(n);
            head.copy_from_slice(&self.pool[self.next..self.next + n]);
            // Wipe what was handed out so a later leak of this struct does
            // not reveal keys already in use.
            self.pool[self.next..self.next + n].fill(0);
            self.next += n;
            buf = rest;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_random_hands_out_distinct_bytes_across_refills() {
        let mut rng = OsRandom::new();
        let mut a = [0u8; 300];
        let mut b = [0u8; 300];
        rng.fill(&mut a);
        rng.fill(&mut b);
        // 2400 random bits: equal or all-zero only if the source is broken.
        assert_ne!(a, b);
        assert!(a.iter().any(|&x| x != 0));
    }
}
