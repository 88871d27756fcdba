//! The one seeded random generator of the crate: portable, so the same seed gives the
//! same numbers natively and in wasm (data generation, weight init, shuffling, dropout).

/// A small, fast, portable PRNG (PCG with 64-bit output).
pub type Rng = rand_pcg::Pcg64Mcg;

/// A generator from a seed; equal seeds give equal streams on every platform.
pub fn rng_from_seed(seed: u64) -> Rng {
    <Rng as rand::SeedableRng>::seed_from_u64(seed)
}
