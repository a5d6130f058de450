//! Data shared by the benches: the same pseudo-random vectors on every run.

/// splitmix64 uniform in [-1, 1): the same data on every run.
pub fn next(state: &mut u64) -> f32 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 23) as f32 - 1.0
}

/// A PQL vector literal of `dim` numbers.
pub fn vector(state: &mut u64, dim: usize) -> String {
    let v: Vec<String> = (0..dim).map(|_| format!("{:.4}", next(state))).collect();
    format!("[{}]", v.join(", "))
}
