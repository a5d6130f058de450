//! Counting bytes of a text fast, for the checks that look at the whole text
//! before or besides pest (bracket depth, list lengths).

/// How many bytes of `bytes` `hit` accepts. Counted in blocks of 64 bytes
/// whose count fits a byte, so that the compiler counts many bytes at once.
pub(crate) fn bytes_where(bytes: &[u8], hit: impl Fn(u8) -> bool) -> usize {
    bytes
        .chunks(64)
        .map(|block| {
            let n: u8 = block.iter().map(|&b| u8::from(hit(b))).sum();
            usize::from(n)
        })
        .sum()
}
