//! Payload masking (RFC 6455 §5.3): `byte[i] ^= key[i % 4]`.
//!
//! Safe code at word speed: the key is rotated to the phase where the slice
//! starts and widened to 32 bytes, and the bulk is `XORed` in 32-byte blocks of
//! four `u64`s, which the compiler turns into vector instructions. Measured on
//! this machine kind (research notes, appendix B), this shape matches or beats
//! the `align_to::<u32>` `unsafe` code of the peers. The phase lets a frame be
//! unmasked piece by piece as its bytes arrive.

const BLOCK: usize = 32;

/// XORs `buf` with the masking `key`, as if `buf` started at byte `phase` of
/// the payload (`phase` is taken modulo 4). Returns the phase for the byte
/// after `buf`, so a payload can be masked in pieces.
///
/// Masking is its own inverse: the same call unmasks.
///
/// # Example
/// ```
/// use pushcodec::ws::apply_mask;
///
/// // RFC 6455 §5.7: "Hello" masked with key 37 fa 21 3d.
/// let key = [0x37, 0xfa, 0x21, 0x3d];
/// let mut payload = *b"Hello";
/// let phase = apply_mask(&mut payload[..2], key, 0);
/// apply_mask(&mut payload[2..], key, phase);
/// assert_eq!(payload, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
/// ```
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], phase: usize) -> usize {
    let phase = phase % 4;
    let end_phase = (phase + buf.len()) % 4;
    let key = rotated(key, phase);
    let wide = widen(key);
    let mut blocks = buf.chunks_exact_mut(BLOCK);
    for block in &mut blocks {
        xor_block(block, &wide);
    }
    let rest = blocks.into_remainder();
    xor_tail(rest, key);
    end_phase
}

fn rotated(key: [u8; 4], phase: usize) -> [u8; 4] {
    let mut k = key;
    k.rotate_left(phase);
    k
}

fn widen(key: [u8; 4]) -> [u8; BLOCK] {
    let mut wide = [0u8; BLOCK];
    for chunk in wide.chunks_exact_mut(4) {
        chunk.copy_from_slice(&key);
    }
    wide
}

#[inline]
fn xor_block(block: &mut [u8], wide: &[u8; BLOCK]) {
    for (b, k) in block.chunks_exact_mut(8).zip(wide.chunks_exact(8)) {
        let v = u64::from_ne_bytes(b.try_into().unwrap_or([0; 8]))
            ^ u64::from_ne_bytes(k.try_into().unwrap_or([0; 8]));
        b.copy_from_slice(&v.to_ne_bytes());
    }
}

#[inline]
fn xor_tail(tail: &mut [u8], key: [u8; 4]) {
    for (i, b) in tail.iter_mut().enumerate() {
        *b ^= key[i % 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(buf: &mut [u8], key: [u8; 4], phase: usize) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[(phase + i) % 4];
        }
    }

    #[test]
    fn matches_bytewise_reference_for_all_lengths_phases_and_splits() {
        let key = [0x12, 0x34, 0x56, 0x78];
        let data: Vec<u8> = (0..200u8).collect();
        for len in 0..data.len() {
            for phase in 0..4 {
                let mut expected = data[..len].to_vec();
                reference(&mut expected, key, phase);
                let mut got = data[..len].to_vec();
                let end = apply_mask(&mut got, key, phase);
                assert_eq!(got, expected, "len {len} phase {phase}");
                assert_eq!(end, (phase + len) % 4);
            }
            let cut = len / 3;
            let mut got = data[..len].to_vec();
            let p = apply_mask(&mut got[..cut], key, 1);
            apply_mask(&mut got[cut..], key, p);
            let mut expected = data[..len].to_vec();
            reference(&mut expected, key, 1);
            assert_eq!(got, expected, "split at {cut} of {len}");
        }
    }
}
