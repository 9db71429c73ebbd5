//! Payload masking (RFC 6455 §5.3): `byte[i] ^= key[i % 4]`.
//!
//! Safe code at word speed: the key is rotated to the phase where the slice
//! starts and widened to a `u64`, and the bulk is combined by XOR eight bytes at a
//! time, a loop the compiler vectorizes. Measured on this machine kind
//! (research notes, appendix B), this shape matches or beats the
//! `align_to::<u32>` code of the peers (which needs unchecked casts). The phase lets a frame be
//! unmasked piece by piece as its bytes arrive.

use crate::prelude::*;
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
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], phase: usize) -> usize {
    let phase = phase % 4;
    let end_phase = (phase + buf.len()) % 4;
    // Byte i of the little-endian word is key[(phase + i) % 4].
    #[expect(clippy::cast_possible_truncation, reason = "phase < 4")]
    let key32 = u32::from_le_bytes(key).rotate_right(8 * phase as u32);
    let key64 = u64::from(key32) | (u64::from(key32) << 32);
    let mut words = buf.chunks_exact_mut(8);
    for word in &mut words {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        word.copy_from_slice(&(u64::from_le_bytes(bytes) ^ key64).to_le_bytes());
    }
    let key = key64.to_le_bytes();
    for (byte, k) in words.into_remainder().iter_mut().zip(key) {
        *byte ^= k;
    }
    end_phase
}

/// Client payloads at least this long are masked as they are appended;
/// shorter ones are copied, then masked in place (measured fewer
/// instructions and the same time below this length).
const FUSED_MASK_MIN: usize = 512;

/// Appends `src` masked with `key` (from phase 0) to `out`.
///
/// Long payloads are masked block by block into a buffer on the stack and
/// appended from there, with no room zeroed first. An iterator of masked
/// words given to `Vec::extend` (the earlier shape) was as fast only where
/// the compiler happened to vectorize it: 18.8k instructions per 64 KiB in
/// one build, 65.9k in another; this shape is 19.7k in both. Zeroing the
/// room and masking into it cost 4x the instructions and twice the time.
#[inline]
pub(crate) fn extend_masked(out: &mut Vec<u8>, src: &[u8], key: [u8; 4]) {
    if src.len() < FUSED_MASK_MIN {
        let start = out.len();
        out.extend_from_slice(src);
        apply_mask(&mut out[start..], key, 0);
        return;
    }
    extend_masked_blocks(out, src, key);
}

/// The fused path's unit: a block this size is copied and masked into a
/// stack buffer (hot in L1) and appended; a multiple of 8, so every block
/// starts at mask phase 0 and the bulk is whole words.
const MASK_BLOCK: usize = 1024;

/// Not inlined: how well the compiler vectorizes a masking loop was
/// measured to depend on the caller it is inlined into (3.5x the
/// instructions in one build); a call is nothing beside 512 bytes.
#[inline(never)]
fn extend_masked_blocks(out: &mut Vec<u8>, src: &[u8], key: [u8; 4]) {
    let key32 = u32::from_le_bytes(key);
    let key64 = u64::from(key32) | (u64::from(key32) << 32);
    out.reserve(src.len());
    let mut blocks = src.chunks_exact(MASK_BLOCK);
    let mut masked = [0u8; MASK_BLOCK];
    for block in &mut blocks {
        for (to, from) in masked.chunks_exact_mut(8).zip(block.chunks_exact(8)) {
            let mut word = [0u8; 8];
            word.copy_from_slice(from);
            to.copy_from_slice(&(u64::from_le_bytes(word) ^ key64).to_le_bytes());
        }
        out.extend_from_slice(&masked);
    }
    let start = out.len();
    out.extend_from_slice(blocks.remainder());
    apply_mask(&mut out[start..], key, 0);
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

    #[test]
    fn extend_masked_matches_the_bytewise_reference_on_both_sides_of_the_fused_length() {
        let key = [0x12, 0x34, 0x56, 0x78];
        let data: Vec<u8> = (0..4000u32).map(|i| (i * 7 % 251) as u8).collect();
        for len in (0..40)
            .chain(FUSED_MASK_MIN - 9..FUSED_MASK_MIN + 9)
            .chain(MASK_BLOCK - 9..MASK_BLOCK + 9)
            .chain([1999, 2000, 3 * MASK_BLOCK + 5])
        {
            let mut expected = data[..len].to_vec();
            reference(&mut expected, key, 0);
            let mut got = vec![0xAA; 3];
            extend_masked(&mut got, &data[..len], key);
            assert_eq!(&got[..3], &[0xAA; 3], "len {len}: what was there stays");
            assert_eq!(&got[3..], &expected[..], "len {len}");
        }
    }
}
