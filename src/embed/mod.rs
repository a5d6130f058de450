//! Text embedders behind the [`Embedder`] trait, and the built-in default.
//!
//! The default, [`HashEmbedder`], is *lexical*: it hashes words and character
//! trigrams into a fixed number of dimensions. Texts that share words or
//! word pieces land near each other; synonyms with no letters in common do
//! not. It is deterministic, needs no model files, and is fast.
//!
//! [`MiniLmEmbedder`] is semantic: sentence-transformers' all-MiniLM-L6-v2
//! run in-process from a local model folder. [`CachedEmbedder`] puts an LRU
//! cache of recent texts in front of any embedder.

mod cache;
#[cfg(feature = "minilm")]
mod minilm;

pub use cache::CachedEmbedder;
#[cfg(feature = "minilm")]
pub use minilm::MiniLmEmbedder;

use crate::error::{Error, ErrorKind, Result};

/// One embedded text: its vector, and the tokens the embedder read to make
/// it (what usage metering counts as `embedding_tokens`).
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding {
    /// The vector, [`Embedder::dimension`] long.
    pub vector: Vec<f32>,
    /// Tokens read for this text.
    pub tokens: u64,
}

/// Turns text into a vector. Implement it to plug a real model into the
/// engine (`Config::embedder`).
pub trait Embedder: Send + Sync {
    /// A short name, recorded with each collection the embedder fills.
    fn name(&self) -> &str;
    /// The dimension of every vector it returns.
    fn dimension(&self) -> usize;
    /// Embeds one text.
    fn embed(&self, text: &str) -> Result<Vec<f32>>;
    /// Embeds many texts; the default calls [`Embedder::embed`] for each.
    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        texts.iter().map(|t| self.embed(t)).collect()
    }
    /// Embeds many texts and counts the tokens read for each: the hook the
    /// engine's usage metering calls. The default calls
    /// [`Embedder::embed_batch`] and counts whitespace-separated words.
    fn embed_counted(&self, texts: &[&str]) -> Result<Vec<Embedding>> {
        Ok(texts
            .iter()
            .zip(self.embed_batch(texts)?)
            .map(|(text, vector)| Embedding {
                vector,
                tokens: text.split_whitespace().count() as u64,
            })
            .collect())
    }
}

/// all-MiniLM-L6-v2 from the model folder `dir`, behind an LRU cache of
/// [`CachedEmbedder::DEFAULT_CAPACITY`] texts (`Config::with_minilm`).
#[cfg(feature = "minilm")]
pub(crate) fn minilm_cached(dir: &std::path::Path) -> Result<std::sync::Arc<dyn Embedder>> {
    let model = std::sync::Arc::new(MiniLmEmbedder::load(dir)?);
    Ok(std::sync::Arc::new(CachedEmbedder::new(
        model,
        CachedEmbedder::DEFAULT_CAPACITY,
    )))
}

/// Without the `minilm` feature there is no model to load: says so.
#[cfg(not(feature = "minilm"))]
pub(crate) fn minilm_cached(dir: &std::path::Path) -> Result<std::sync::Arc<dyn Embedder>> {
    Err(Error::new(
        ErrorKind::Unsupported,
        format!(
            "cannot load the model at {}: this build of PQL lacks the `minilm` feature \
             (rebuild with `--features minilm`)",
            dir.display()
        ),
    ))
}

/// The vectors of [`Embedder::embed_counted`]'s answer, for embedders whose
/// `embed_batch` is built on it.
fn vectors(embedded: Result<Vec<Embedding>>) -> Result<Vec<Vec<f32>>> {
    Ok(embedded?.into_iter().map(|e| e.vector).collect())
}

/// The one vector of [`Embedder::embed_counted`]'s answer for one text.
fn one_vector(embedded: Result<Vec<Embedding>>) -> Result<Vec<f32>> {
    vectors(embedded)?
        .pop()
        .ok_or_else(|| Error::new(ErrorKind::Io, "embedder returned no vector"))
}

/// The built-in lexical embedder: feature hashing of lower-cased words
/// (weight 1.0) and their character trigrams with word boundaries (weight
/// 0.5) into `dimension` buckets with a hashed sign, L2-normalised.
#[derive(Debug, Clone)]
pub struct HashEmbedder {
    dimension: usize,
}

impl HashEmbedder {
    /// The default dimension, the same as all-MiniLM-L6-v2's.
    pub const DEFAULT_DIMENSION: usize = 384;
    /// Its name, whatever the dimension.
    pub const NAME: &'static str = "builtin-hash";

    /// A hashing embedder producing `dimension`-sized vectors (at least 1).
    pub fn new(dimension: usize) -> Self {
        HashEmbedder {
            dimension: dimension.max(1),
        }
    }
}

impl Default for HashEmbedder {
    fn default() -> Self {
        HashEmbedder::new(Self::DEFAULT_DIMENSION)
    }
}

/// FNV-1a, 64-bit: stable across platforms and releases (unlike std's
/// `DefaultHasher`), so stored vectors stay valid after an upgrade.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl HashEmbedder {
    fn add(&self, v: &mut [f32], feature: &[u8], weight: f32) {
        let h = fnv1a(feature);
        let bucket = (h % self.dimension as u64) as usize;
        let sign = if (h >> 63) == 0 { 1.0 } else { -1.0 };
        v[bucket] += sign * weight;
    }
}

impl Embedder for HashEmbedder {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn embed(&self, text: &str) -> Result<Vec<f32>> {
        let mut v = vec![0.0f32; self.dimension];
        let lower = text.to_lowercase();
        for word in lower
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            let mut tagged = Vec::with_capacity(word.len() + 2);
            tagged.push(b'w');
            tagged.extend_from_slice(word.as_bytes());
            self.add(&mut v, &tagged, 1.0);
            let padded: Vec<char> = std::iter::once('<')
                .chain(word.chars())
                .chain(std::iter::once('>'))
                .collect();
            for tri in padded.windows(3) {
                let s: String = tri.iter().collect();
                let mut t = Vec::with_capacity(s.len() + 1);
                t.push(b'c');
                t.extend_from_slice(s.as_bytes());
                self.add(&mut v, &t, 0.5);
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cos(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn deterministic_and_normalised() {
        let e = HashEmbedder::default();
        let a = e.embed("High quality widget").unwrap();
        let b = e.embed("High quality widget").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 384);
        assert!((cos(&a, &a) - 1.0).abs() < 1e-5);
    }

    #[test]
    fn shared_words_are_nearer_than_unrelated_text() {
        let e = HashEmbedder::default();
        let q = e.embed("hardware tool").unwrap();
        let near = e.embed("a sturdy hardware tool for the garage").unwrap();
        let far = e.embed("fresh organic bananas").unwrap();
        assert!(cos(&q, &near) > cos(&q, &far) + 0.2);
    }

    #[test]
    fn empty_text_is_the_zero_vector() {
        let e = HashEmbedder::new(8);
        assert_eq!(e.embed("  ").unwrap(), vec![0.0; 8]);
    }
}
