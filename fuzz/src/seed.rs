//! Writing seed inputs in the byte format `arbitrary` reads (version 1),
//! for the types the targets use. `fuzz/examples/make_seeds.rs` builds the
//! committed seed corpora with it and checks each by parsing it back.

/// Appends values in `arbitrary`'s format.
#[derive(Debug, Default, Clone)]
pub struct Enc(pub Vec<u8>);

impl Enc {
    /// An empty input.
    pub fn new() -> Self {
        Enc(Vec::new())
    }

    /// A `bool`.
    pub fn bool(&mut self, b: bool) -> &mut Self {
        self.0.push(u8::from(b));
        self
    }

    /// A `u8`.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }

    /// A `u16` (little-endian).
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// A `u64` (little-endian).
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Raw bytes (a `[u8; N]`, or the rest of the input).
    pub fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }

    /// Variant `index` of a derived enum with `count` variants: derive
    /// reads a `u32` `x` and picks `(x * count) >> 32`.
    pub fn variant(&mut self, index: u32, count: u32) -> &mut Self {
        let x = (u64::from(index) << 32).div_ceil(u64::from(count));
        let x = u32::try_from(x).expect("index < count");
        assert_eq!((u64::from(x) * u64::from(count)) >> 32, u64::from(index));
        self.0.extend_from_slice(&x.to_le_bytes());
        self
    }

    /// A [`Blob`](crate::Blob) or [`Text`](crate::Text).
    pub fn blob(&mut self, b: &[u8]) -> &mut Self {
        self.u16(u16::try_from(b.len()).expect("blob under 64 KiB"));
        self.raw(b)
    }

    /// One element of a `Vec<T>` follows (a `true` "keep going" byte);
    /// end a vector with `.bool(false)` or the end of the input.
    pub fn more(&mut self) -> &mut Self {
        self.bool(true)
    }

    /// `Some(..)` follows.
    pub fn some(&mut self) -> &mut Self {
        self.bool(true)
    }

    /// `None`.
    pub fn none(&mut self) -> &mut Self {
        self.bool(false)
    }
}
