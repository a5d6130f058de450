//! sentence-transformers' all-MiniLM-L6-v2 in pure Rust: the `tokenizers`
//! crate's WordPiece tokenizer, candle's BERT on the CPU, mean pooling over
//! the attention mask and L2 normalisation (384 dimensions), as the Python
//! library computes it.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config as BertConfig};
use tokenizers::{Encoding, Tokenizer, TruncationParams};

use crate::embed::{Embedder, Embedding};
use crate::error::{Error, ErrorKind, Result};

/// Hidden size, layers and attention heads of MiniLM-L6-H384: `config.json`
/// must describe this shape, since the embedder's name promises the model.
const SHAPE: (usize, usize, usize) = (384, 6, 12);

/// all-MiniLM-L6-v2 loaded from a folder holding `model.safetensors`,
/// `config.json` and `tokenizer.json` (`scripts/fetch-minilm.sh` fetches
/// them). Texts longer than [`MiniLmEmbedder::MAX_TOKENS`] tokens are
/// truncated, like sentence-transformers does; the empty text gets the
/// model's vector of `[CLS] [SEP]`, also like sentence-transformers.
pub struct MiniLmEmbedder {
    model: BertModel,
    tokenizer: Tokenizer,
    pad_id: u32,
}

impl MiniLmEmbedder {
    /// The name recorded with each collection the embedder fills.
    pub const NAME: &'static str = "all-MiniLM-L6-v2";
    /// The model's window, `[CLS]` and `[SEP]` included; longer texts are
    /// cut to it (sentence-transformers' `max_seq_length`).
    pub const MAX_TOKENS: usize = 256;
    /// Most texts per forward pass: a larger batch is run in chunks of at
    /// most this many, each padded to its longest text.
    pub const CHUNK: usize = 32;
    /// The fixed cost of one forward pass (streaming the weights), in
    /// padded tokens' worth of work. Measured one-threaded with CPU time:
    /// a pass costs about 8 ms plus 0.4 ms per padded token, so ~20.
    const PASS_COST: usize = 20;

    /// Loads the model from `dir`. A missing folder or file is an `Io`
    /// error, an unreadable one `Corrupt`; both name the file.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        if !dir.is_dir() {
            return Err(Error::io(
                format!("embedding model folder {}", dir.display()),
                "not found (scripts/fetch-minilm.sh fetches all-MiniLM-L6-v2)",
            ));
        }
        let config = load_config(&dir.join("config.json"))?;
        let tokenizer = load_tokenizer(&dir.join("tokenizer.json"), &config)?;
        let model = load_weights(&dir.join("model.safetensors"), &config)?;
        Ok(MiniLmEmbedder {
            model,
            tokenizer,
            pad_id: u32::try_from(config.pad_token_id).unwrap_or(0),
        })
    }

    /// Mean-pooled, L2-normalised vectors of texts of similar length, in
    /// one forward pass padded to the longest.
    fn forward(&self, chunk: &[&Encoding]) -> Result<Vec<Vec<f32>>> {
        let rows = chunk.len();
        let width = chunk.iter().map(|e| e.get_ids().len()).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(rows * width);
        let mut mask = Vec::with_capacity(rows * width);
        for e in chunk {
            let n = e.get_ids().len();
            ids.extend_from_slice(e.get_ids());
            ids.resize(ids.len() + width - n, self.pad_id);
            mask.extend(std::iter::repeat_n(1u32, n));
            mask.extend(std::iter::repeat_n(0u32, width - n));
        }
        let device = &self.model.device;
        let ids = Tensor::from_vec(ids, (rows, width), device).map_err(model_error)?;
        let mask = Tensor::from_vec(mask, (rows, width), device).map_err(model_error)?;
        let pooled = (|| {
            let types = ids.zeros_like()?;
            let hidden = self.model.forward(&ids, &types, Some(&mask))?;
            let weights = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
            let sum = hidden.broadcast_mul(&weights)?.sum(1)?;
            let count = weights.sum(1)?.clamp(1e-9f32, f32::MAX)?;
            sum.broadcast_div(&count)?.to_vec2::<f32>()
        })()
        .map_err(model_error)?;
        pooled.into_iter().map(normalised).collect()
    }
}

/// Where to cut texts sorted by token count `lens` into forward passes:
/// the chunk ends that minimise the modelled work, `PASS_COST` per pass
/// plus every padded token, with at most `CHUNK` texts a pass. One pass
/// for texts of similar length; a long text among short ones gets its own
/// pass instead of padding them all (which made a mixed batch of 32 slower
/// than 32 single passes).
fn chunk_ends(lens: &[usize]) -> Vec<usize> {
    // best[j]: (least work for the first j texts, start of their last chunk).
    let mut best = vec![(0usize, 0usize); lens.len() + 1];
    for j in 1..=lens.len() {
        best[j] = (j.saturating_sub(MiniLmEmbedder::CHUNK)..j)
            .map(|i| {
                (
                    best[i].0 + MiniLmEmbedder::PASS_COST + (j - i) * lens[j - 1],
                    i,
                )
            })
            .min()
            .unwrap_or((usize::MAX, j - 1));
    }
    let mut ends = Vec::new();
    let mut j = lens.len();
    while j > 0 {
        ends.push(j);
        j = best[j].1;
    }
    ends.reverse();
    ends
}

/// Scales `v` to unit length (sentence-transformers' `Normalize`).
fn normalised(mut v: Vec<f32>) -> Result<Vec<f32>> {
    if v.iter().any(|x| !x.is_finite()) {
        return Err(Error::corrupt(
            "model.safetensors",
            "the model produced non-finite values",
        ));
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= norm);
    Ok(v)
}

fn model_error(e: candle_core::Error) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("{}: forward pass failed: {e}", MiniLmEmbedder::NAME),
    )
}

/// Reads a file, naming it in the error.
fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path.display(), e))
}

fn corrupt(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::corrupt(path.display(), e)
}

fn load_config(path: &Path) -> Result<BertConfig> {
    let config: BertConfig = serde_json::from_slice(&read(path)?).map_err(|e| corrupt(path, e))?;
    let shape = (
        config.hidden_size,
        config.num_hidden_layers,
        config.num_attention_heads,
    );
    if shape != SHAPE {
        return Err(corrupt(
            path,
            format!(
                "describes a BERT with hidden size {}, {} layers and {} heads, not \
                 all-MiniLM-L6-v2 ({}, {}, {})",
                shape.0, shape.1, shape.2, SHAPE.0, SHAPE.1, SHAPE.2
            ),
        ));
    }
    if config.max_position_embeddings < MiniLmEmbedder::MAX_TOKENS {
        return Err(corrupt(
            path,
            format!(
                "max_position_embeddings is {}, below the {}-token window",
                config.max_position_embeddings,
                MiniLmEmbedder::MAX_TOKENS
            ),
        ));
    }
    Ok(config)
}

fn load_tokenizer(path: &Path, config: &BertConfig) -> Result<Tokenizer> {
    let bytes = read(path)?;
    let mut tokenizer = Tokenizer::from_bytes(&bytes).map_err(|e| corrupt(path, e))?;
    // tokenizer.json pads and truncates to 128; sentence-transformers
    // truncates to 256 and pads per batch, which `forward` does.
    tokenizer
        .with_truncation(Some(TruncationParams {
            max_length: MiniLmEmbedder::MAX_TOKENS,
            ..TruncationParams::default()
        }))
        .map_err(|e| corrupt(path, e))?;
    tokenizer.with_padding(None);
    let vocab = tokenizer.get_vocab_size(true);
    if vocab > config.vocab_size {
        return Err(corrupt(
            path,
            format!(
                "has {vocab} tokens, more than the model's {}",
                config.vocab_size
            ),
        ));
    }
    Ok(tokenizer)
}

fn load_weights(path: &Path, config: &BertConfig) -> Result<BertModel> {
    let vb = VarBuilder::from_buffered_safetensors(read(path)?, DType::F32, &Device::Cpu)
        .map_err(|e| corrupt(path, e))?;
    BertModel::load(vb, config).map_err(|e| corrupt(path, e))
}

impl Embedder for MiniLmEmbedder {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn dimension(&self) -> usize {
        SHAPE.0
    }

    fn embed(&self, text: &str) -> Result<Vec<f32>> {
        super::one_vector(self.embed_counted(&[text]))
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        super::vectors(self.embed_counted(texts))
    }

    /// Tokenizes every text, sorts them by length, cuts them into chunks
    /// of at most [`MiniLmEmbedder::CHUNK`] ([`chunk_ends`]), runs one
    /// forward pass per chunk and returns the vectors in the input order. Tokens counted:
    /// those the model read, `[CLS]` and `[SEP]` included, after truncation.
    fn embed_counted(&self, texts: &[&str]) -> Result<Vec<Embedding>> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("{}: tokenizer failed: {e}", Self::NAME),
                )
            })?;
        let mut order: Vec<usize> = (0..encodings.len()).collect();
        order.sort_by_key(|&i| encodings[i].get_ids().len());
        let lens: Vec<usize> = order
            .iter()
            .map(|&i| encodings[i].get_ids().len())
            .collect();
        let mut done: Vec<(usize, Embedding)> = Vec::with_capacity(order.len());
        let mut start = 0;
        for end in chunk_ends(&lens) {
            let chunk = &order[start..end];
            start = end;
            let batch: Vec<&Encoding> = chunk.iter().map(|&i| &encodings[i]).collect();
            let vectors = self.forward(&batch)?;
            done.extend(chunk.iter().zip(vectors).map(|(&i, vector)| {
                let tokens = encodings[i].get_ids().len() as u64;
                (i, Embedding { vector, tokens })
            }));
        }
        done.sort_by_key(|(i, _)| *i);
        Ok(done.into_iter().map(|(_, e)| e).collect())
    }
}

impl std::fmt::Debug for MiniLmEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniLmEmbedder").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_of_one_length_share_passes_of_at_most_chunk() {
        assert_eq!(chunk_ends(&[10; 70]), [6, 38, 70]);
        assert_eq!(chunk_ends(&[7; 3]), [3]);
        assert!(chunk_ends(&[]).is_empty());
    }

    #[test]
    fn a_long_text_does_not_pad_the_short_ones() {
        let mut lens = vec![8; 31];
        lens.push(256);
        assert_eq!(chunk_ends(&lens), [31, 32]);
        // A slightly longer text rides along when padding costs less than a
        // pass: 4 texts by 2 tokens here, but not 31 by 1.
        assert_eq!(chunk_ends(&[8, 8, 8, 8, 10]), [5]);
        let mut lens = vec![8; 31];
        lens.push(9);
        assert_eq!(chunk_ends(&lens), [31, 32]);
    }
}
