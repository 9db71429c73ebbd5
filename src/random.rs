//! Randomness, from one trait: WebSocket masking keys (RFC 6455 §5.3) and
//! handshake nonces (§4.1), and the jitter of SSE reconnect delays.
//!
//! Long-lived state owns its source (`with_random(Box<dyn RandomSource>)`
//! on [`ws::Connection`](crate::ws::Connection) and
//! [`sse::Client`](crate::sse::Client)); a one-off call borrows one
//! (`&mut dyn RandomSource`, as the client handshake does).
//!
//! RFC 6455 §10.3 asks for keys an attacker cannot predict, so the default
//! source is the operating system's CSPRNG. One `getrandom` call per 4-byte
//! key would put a syscall on every client frame, so [`OsRandom`] draws a
//! 4 KiB block at a time into a pool per thread and hands it out in pieces;
//! every byte is still straight from the OS and none is handed out twice.
//! The pool is per thread, not per connection, so an idle client
//! connection holds no randomness of its own.

#[cfg(feature = "os-random")]
use core::cell::RefCell;

/// A source of random bytes: masking keys, handshake nonces, reconnect jitter.
///
/// The default is [`OsRandom`]. Tests, fuzzers and embedded users can supply
/// their own (for example a seeded generator to make output reproducible).
///
/// # Example
/// ```
/// use pushcodec::RandomSource;
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

    /// A fresh masking key (RFC 6455 §5.3). The default takes it from
    /// [`fill`](Self::fill); a source can answer faster.
    fn mask_key(&mut self) -> [u8; 4] {
        let mut key = [0u8; 4];
        self.fill(&mut key);
        key
    }

    /// A uniform draw in `[0, 1)` (53 random bits), for jitter.
    fn unit(&mut self) -> f64 {
        let mut bytes = [0u8; 8];
        self.fill(&mut bytes);
        #[expect(clippy::cast_precision_loss, reason = "53 bits fit an f64 exactly")]
        let bits = (u64::from_le_bytes(bytes) >> 11) as f64;
        // 2^-53, exact.
        bits * f64::from_bits(0x3CA0_0000_0000_0000)
    }
}

#[cfg(feature = "os-random")]
/// 1024 masking keys per system call.
const POOL_LEN: usize = 4096;

#[cfg(feature = "os-random")]
/// Random bytes from the OS not yet handed out, for this thread.
struct Pool {
    bytes: [u8; POOL_LEN],
    next: usize,
}

#[cfg(feature = "os-random")]
impl Pool {
    /// Refills from the OS when empty.
    fn ensure(&mut self) {
        if self.next == POOL_LEN {
            getrandom::fill(&mut self.bytes).expect("the OS random source failed");
            self.next = 0;
        }
    }
}

#[cfg(feature = "os-random")]
std::thread_local! {
    static POOL: RefCell<Pool> = const {
        RefCell::new(Pool { bytes: [0; POOL_LEN], next: POOL_LEN })
    };
}

#[cfg(feature = "os-random")]
/// The operating system's CSPRNG (`getrandom`), drawn in 4 KiB blocks into
/// a pool per thread. A handle: it holds no state, so boxing it allocates
/// nothing.
///
/// # Panics
/// Refilling panics only if the operating system cannot supply randomness at
/// all (`getrandom` failing), which no supported platform does after boot;
/// a connection must not go on with predictable mask keys.
///
/// # Example
/// ```
/// use pushcodec::{OsRandom, RandomSource};
///
/// let mut rng = OsRandom::new();
/// let (a, b) = (rng.mask_key(), rng.mask_key());
/// assert!(a != b || a != [0; 4]); // 2^-32 chance of a false alarm
/// ```
#[derive(Clone, Copy, Default)]
pub struct OsRandom {
    _private: (),
}

#[cfg(feature = "os-random")]
impl OsRandom {
    /// A handle on this thread's pool; the first draw reads from the OS.
    pub const fn new() -> Self {
        OsRandom { _private: () }
    }
}

#[cfg(feature = "os-random")]
impl core::fmt::Debug for OsRandom {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OsRandom").finish_non_exhaustive()
    }
}

#[cfg(feature = "os-random")]
impl RandomSource for OsRandom {
    fn fill(&mut self, buf: &mut [u8]) {
        POOL.with_borrow_mut(|pool| {
            let mut done = 0;
            while done < buf.len() {
                pool.ensure();
                let n = (buf.len() - done).min(POOL_LEN - pool.next);
                let taken = &mut pool.bytes[pool.next..pool.next + n];
                buf[done..done + n].copy_from_slice(taken);
                // Wipe what was handed out so a later leak of the pool does
                // not reveal keys already in use.
                taken.fill(0);
                pool.next += n;
                done += n;
            }
        });
    }

    #[inline]
    fn mask_key(&mut self) -> [u8; 4] {
        POOL.with_borrow_mut(|pool| {
            if POOL_LEN - pool.next < 4 {
                // Fewer than 4 left (after fills of other lengths): drop
                // them, wiped, and refill.
                pool.bytes[pool.next..].fill(0);
                pool.next = POOL_LEN;
                pool.ensure();
            }
            let at = pool.next;
            let mut key = [0u8; 4];
            key.copy_from_slice(&pool.bytes[at..at + 4]);
            pool.bytes[at..at + 4].fill(0);
            pool.next = at + 4;
            key
        })
    }
}

#[cfg(test)]
mod unit_tests {
    use super::RandomSource;

    struct Bytes(u8);
    impl RandomSource for Bytes {
        fn fill(&mut self, buf: &mut [u8]) {
            buf.fill(self.0);
        }
    }

    #[test]
    fn unit_draws_stay_in_the_half_open_interval() {
        assert!(Bytes(0).unit().abs() < f64::EPSILON);
        let top = Bytes(0xff).unit();
        assert!(top < 1.0 && top > 0.999_999, "{top}");
    }
}

#[cfg(all(test, feature = "os-random"))]
mod tests {
    use super::*;

    #[test]
    fn mask_keys_and_odd_fills_share_the_pool_without_repeats_across_refills() {
        let mut rng = OsRandom::new();
        let mut seen = std::collections::HashSet::new();
        let mut repeats = 0;
        // Over three refills, with odd-length fills misaligning the pool.
        for i in 0..3 * POOL_LEN / 4 {
            if i % 100 == 0 {
                let mut odd = [0u8; 7];
                rng.fill(&mut odd);
            }
            if !seen.insert(rng.mask_key()) {
                repeats += 1;
            }
        }
        // ~3000 keys of 32 bits: a repeat has odds of about 1 in 1000.
        assert!(repeats <= 1, "{repeats} repeated keys");
    }

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
