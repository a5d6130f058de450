//! A missing or corrupt all-MiniLM-L6-v2 folder is a clear error naming
//! the file, never a panic. These tests make their own small folders and
//! need no fetched model.
#![cfg(feature = "minilm")]

use std::path::Path;

use pql::{Config, ErrorKind, MiniLmEmbedder};

/// all-MiniLM-L6-v2's config.json.
const CONFIG: &str = r#"{"architectures": ["BertModel"], "attention_probs_dropout_prob": 0.1,
  "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": 384,
  "initializer_range": 0.02, "intermediate_size": 1536, "layer_norm_eps": 1e-12,
  "max_position_embeddings": 512, "model_type": "bert", "num_attention_heads": 12,
  "num_hidden_layers": 6, "pad_token_id": 0, "position_embedding_type": "absolute",
  "type_vocab_size": 2, "vocab_size": 30522}"#;

/// A valid WordPiece tokenizer with a three-token vocabulary.
const TOKENIZER: &str = r###"{"version": "1.0", "truncation": null, "padding": null,
  "added_tokens": [], "normalizer": null, "pre_tokenizer": {"type": "BertPreTokenizer"},
  "post_processor": null, "decoder": null,
  "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100, "vocab": {"[PAD]": 0, "[UNK]": 1, "drill": 2}}}"###;

/// A well-formed safetensors file holding one tensor `x` of shape [1].
fn tiny_safetensors() -> Vec<u8> {
    let header = br#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header);
    out.extend_from_slice(&1.0f32.to_le_bytes());
    out
}

/// A folder with the three files; `None` leaves one out.
fn folder(
    config: Option<&[u8]>,
    tokenizer: Option<&[u8]>,
    weights: Option<&[u8]>,
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("config.json", config),
        ("tokenizer.json", tokenizer),
        ("model.safetensors", weights),
    ] {
        if let Some(bytes) = bytes {
            std::fs::write(dir.path().join(name), bytes).unwrap();
        }
    }
    dir
}

/// Loads `dir` and checks the error's kind and that it names `file`.
fn refused(dir: &Path, kind: ErrorKind, file: &str) -> String {
    let err = MiniLmEmbedder::load(dir).unwrap_err();
    assert_eq!(err.kind(), &kind, "{}", err.message());
    assert!(err.message().contains(file), "{}", err.message());
    err.message().to_string()
}

#[test]
fn a_missing_folder_is_an_io_error_naming_it_and_the_fetch_script() {
    let dir = tempfile::tempdir().unwrap();
    let gone = dir.path().join("no-such-model");
    let msg = refused(&gone, ErrorKind::Io, "no-such-model");
    assert!(msg.contains("fetch-minilm.sh"), "{msg}");
    // Config::with_minilm reports the same.
    let err = Config::new(dir.path()).with_minilm(&gone).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Io);
}

#[test]
fn each_missing_file_is_an_io_error_naming_it() {
    let w = tiny_safetensors();
    let (c, t) = (CONFIG.as_bytes(), TOKENIZER.as_bytes());
    refused(
        folder(None, Some(t), Some(&w)).path(),
        ErrorKind::Io,
        "config.json",
    );
    refused(
        folder(Some(c), None, Some(&w)).path(),
        ErrorKind::Io,
        "tokenizer.json",
    );
    refused(
        folder(Some(c), Some(t), None).path(),
        ErrorKind::Io,
        "model.safetensors",
    );
}

#[test]
fn corrupt_files_are_corrupt_errors_naming_them() {
    let w = tiny_safetensors();
    let (c, t) = (CONFIG.as_bytes(), TOKENIZER.as_bytes());
    let garbage: &[u8] = b"\x00\xffnot what you think";
    refused(
        folder(Some(garbage), Some(t), Some(&w)).path(),
        ErrorKind::Corrupt,
        "config.json",
    );
    refused(
        folder(Some(c), Some(garbage), Some(&w)).path(),
        ErrorKind::Corrupt,
        "tokenizer.json",
    );
    refused(
        folder(Some(c), Some(t), Some(garbage)).path(),
        ErrorKind::Corrupt,
        "model.safetensors",
    );
    // A header that promises more bytes than the file has.
    let mut cut = w.clone();
    cut.truncate(w.len() - 2);
    refused(
        folder(Some(c), Some(t), Some(&cut)).path(),
        ErrorKind::Corrupt,
        "model.safetensors",
    );
    // Well-formed, but without the model's tensors.
    let msg = refused(
        folder(Some(c), Some(t), Some(&w)).path(),
        ErrorKind::Corrupt,
        "model.safetensors",
    );
    assert!(msg.contains("embeddings"), "{msg}");
}

#[test]
fn a_config_of_another_shape_is_refused_rather_than_misnamed() {
    let w = tiny_safetensors();
    let t = TOKENIZER.as_bytes();
    for (from, to) in [
        (r#""hidden_size": 384"#, r#""hidden_size": 768"#),
        (r#""num_hidden_layers": 6"#, r#""num_hidden_layers": 12"#),
        (
            r#""num_attention_heads": 12"#,
            r#""num_attention_heads": 0"#,
        ),
        (
            r#""max_position_embeddings": 512"#,
            r#""max_position_embeddings": 128"#,
        ),
        (r#""hidden_act": "gelu""#, r#""hidden_act": "swish""#),
    ] {
        let config = CONFIG.replace(from, to);
        assert_ne!(config, CONFIG);
        refused(
            folder(Some(config.as_bytes()), Some(t), Some(&w)).path(),
            ErrorKind::Corrupt,
            "config.json",
        );
    }
    // A vocabulary larger than the model's embedding table.
    let small = CONFIG.replace(r#""vocab_size": 30522"#, r#""vocab_size": 2"#);
    refused(
        folder(Some(small.as_bytes()), Some(t), Some(&w)).path(),
        ErrorKind::Corrupt,
        "tokenizer.json",
    );
}
