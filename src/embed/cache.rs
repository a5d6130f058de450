//! An LRU cache of recent texts in front of an embedder, so a repeated
//! `embed("...")` costs a hash lookup instead of a forward pass.

use std::num::NonZeroUsize;
use std::sync::Arc;

use lru::LruCache;
use parking_lot::Mutex;

use crate::embed::{Embedder, Embedding};
use crate::error::{Error, Result};

/// Wraps an embedder with an LRU cache of its `capacity` most recently
/// used texts. The name and dimension are the inner embedder's, so
/// collections cannot tell the two apart. A hit still reports the text's
/// tokens, so a tenant's metered usage does not depend on what other
/// tenants embedded before.
pub struct CachedEmbedder {
    inner: Arc<dyn Embedder>,
    /// `None` when the capacity is 0: every call goes to `inner`.
    cache: Option<Mutex<LruCache<String, Embedding>>>,
}

impl CachedEmbedder {
    /// The default capacity in texts (about 1.6 KB each for 384 dims).
    pub const DEFAULT_CAPACITY: usize = 1024;

    /// Caches `inner`'s answers for the last `capacity` texts; 0 caches
    /// nothing.
    pub fn new(inner: Arc<dyn Embedder>, capacity: usize) -> Self {
        CachedEmbedder {
            inner,
            cache: NonZeroUsize::new(capacity).map(|c| Mutex::new(LruCache::new(c))),
        }
    }

    /// Texts held now.
    pub fn len(&self) -> usize {
        self.cache.as_ref().map_or(0, |c| c.lock().len())
    }

    /// Whether the cache holds no text.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Embedder for CachedEmbedder {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn dimension(&self) -> usize {
        self.inner.dimension()
    }

    fn embed(&self, text: &str) -> Result<Vec<f32>> {
        super::one_vector(self.embed_counted(&[text]))
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        super::vectors(self.embed_counted(texts))
    }

    /// Answers hits from the cache and sends the misses (each distinct text
    /// once) to the inner embedder in one batch, then caches them in input
    /// order.
    fn embed_counted(&self, texts: &[&str]) -> Result<Vec<Embedding>> {
        let Some(cache) = &self.cache else {
            return self.inner.embed_counted(texts);
        };
        let hits: Vec<Option<Embedding>> = {
            let mut c = cache.lock();
            texts.iter().map(|t| c.get(*t).cloned()).collect()
        };
        let mut misses: Vec<&str> = texts
            .iter()
            .zip(&hits)
            .filter(|(_, hit)| hit.is_none())
            .map(|(t, _)| *t)
            .collect();
        misses.sort_unstable();
        misses.dedup();
        let fresh = if misses.is_empty() {
            Vec::new()
        } else {
            self.inner.embed_counted(&misses)?
        };
        let mut c = cache.lock();
        texts
            .iter()
            .zip(hits)
            .map(|(text, hit)| match hit {
                Some(e) => Ok(e),
                None => {
                    let e = misses
                        .binary_search(text)
                        .ok()
                        .and_then(|i| fresh.get(i))
                        .cloned()
                        .ok_or_else(|| {
                            Error::io(
                                format!("embedder {}", self.inner.name()),
                                "returned fewer vectors than texts",
                            )
                        })?;
                    c.put((*text).to_string(), e.clone());
                    Ok(e)
                }
            })
            .collect()
    }
}

impl std::fmt::Debug for CachedEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedEmbedder")
            .field("inner", &self.inner.name())
            .field("len", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Embeds a text as `[its length, 1]` and records every batch it gets.
    #[derive(Default)]
    struct Recording {
        batches: Mutex<Vec<Vec<String>>>,
    }

    impl Embedder for Recording {
        fn name(&self) -> &str {
            "recording"
        }
        fn dimension(&self) -> usize {
            2
        }
        fn embed(&self, text: &str) -> Result<Vec<f32>> {
            Ok(vec![text.len() as f32, 1.0])
        }
        fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
            self.batches
                .lock()
                .push(texts.iter().map(|t| t.to_string()).collect());
            texts.iter().map(|t| self.embed(t)).collect()
        }
    }

    fn cached(capacity: usize) -> (Arc<Recording>, CachedEmbedder) {
        let inner = Arc::new(Recording::default());
        (inner.clone(), CachedEmbedder::new(inner, capacity))
    }

    fn batches(r: &Recording) -> Vec<Vec<String>> {
        r.batches.lock().clone()
    }

    #[test]
    fn a_repeated_text_is_a_hit_that_still_reports_its_tokens() {
        let (inner, c) = cached(8);
        let first = c.embed_counted(&["two words"]).unwrap();
        let again = c.embed_counted(&["two words"]).unwrap();
        assert_eq!(first, again);
        assert_eq!(again[0].tokens, 2);
        assert_eq!(batches(&inner), [["two words"]]);
        assert_eq!((c.name(), c.dimension(), c.len()), ("recording", 2, 1));
    }

    #[test]
    fn a_batch_sends_each_distinct_miss_once_and_keeps_the_order() {
        let (inner, c) = cached(8);
        c.embed("bb").unwrap();
        let got = c.embed_batch(&["a", "bb", "ccc", "a"]).unwrap();
        assert_eq!(got, [[1.0, 1.0], [2.0, 1.0], [3.0, 1.0], [1.0, 1.0]]);
        assert_eq!(batches(&inner), [vec!["bb"], vec!["a", "ccc"]]);
    }

    #[test]
    fn the_least_recently_used_text_is_evicted() {
        let (inner, c) = cached(2);
        for t in ["a", "b", "a", "c", "a", "b"] {
            c.embed(t).unwrap();
        }
        // "b" was the oldest when "c" came in; "a" stayed warm.
        assert_eq!(batches(&inner), [["a"], ["b"], ["c"], ["b"]]);
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn a_batch_larger_than_the_cache_still_gets_every_vector() {
        let (_, c) = cached(2);
        let texts = ["a", "bb", "ccc", "dddd", "a"];
        let got = c.embed_batch(&texts).unwrap();
        let want: Vec<Vec<f32>> = texts.iter().map(|t| vec![t.len() as f32, 1.0]).collect();
        assert_eq!(got, want);
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn capacity_zero_caches_nothing() {
        let (inner, c) = cached(0);
        c.embed("a").unwrap();
        c.embed("a").unwrap();
        assert_eq!(batches(&inner).len(), 2);
        assert!(c.is_empty());
    }
}
