//! Generated statements against a live engine, with invariant checks after
//! each. Shared by `tests/generated_statements.rs` (a bounded CI run) and
//! `examples/statement_fuzz.rs` (a million, with a time cap).
//!
//! The generator follows the grammar (`grammar/pql.pest`) statement family
//! by statement family, then sometimes damages the result: a truncation, or
//! token mutations (drop, repeat, swap, insert a keyword, a punctuation mark
//! or an extreme literal). Names come from a small pool (so statements meet
//! each other's tenants and collections) mixed with hostile ones (`../x`,
//! `a/b`, 65 characters, NUL, unicode, empty).
//!
//! After every statement the [`Harness`] checks:
//! - no panic (`catch_unwind`);
//! - an error has a kind with a code, and a position (line and column ≥ 1);
//! - the catalog agrees with the disk: every tenant folder is a listed,
//!   unarchived tenant, every archived tenant has its archive file, and
//!   `SHOW TENANTS` lists no name that is not a valid name;
//! - nothing was created outside the data folder (its parent holds only it,
//!   and the data folder only the engine's own entries);
//! - tenant isolation (every 50 statements and at the end): two tenants the
//!   generator never names hold disjoint ids, and a query on one never
//!   returns the other's.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use pql::{Engine, Session, Value};

/// The seed of the CI run and the example's default.
pub const SEED: u64 = 0x5EED_0016;

/// splitmix64: a seeded, reproducible stream.
pub struct Rng(pub u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// `true` with probability `percent` / 100.
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Tenants and collections the statements share.
const TENANTS: &[&str] = &["ta", "tb", "Tc", "t-4"];
const COLLECTIONS: &[&str] = &["c1", "c2", "docs"];
const FIELDS: &[&str] = &["price", "name", "tags", "category", "n", "id", "embedding"];
/// Attributes a node literal may set (besides `id` and the vector).
const ATTRIBUTES: &[&str] = &["price", "name", "tags", "category", "n", "_distance"];
/// Numbers at the edges of what a vector or a count takes.
const EXTREME_NUMBERS: &[&str] = &[
    "3.4e38",
    "-3.4e38",
    "1e39",
    "1e-45",
    "-0",
    "1e308",
    "9223372036854775807",
];

/// Names that must never reach the file system.
const HOSTILE: &[&str] = &[
    "\"../x\"",
    "\"a/b\"",
    "\"..\"",
    "\"a\\u{0}b\"",
    "\"ténant\"",
    "\"\"",
    "\"x x\"",
    "\"-lead\"",
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
    "\"\\\\server\\\\share\"",
    "\"C:\\\\x\"",
];

/// Literals at the edges of what PQL reads.
const EXTREME: &[&str] = &[
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "1e308",
    "1e39",
    "-3.4e38",
    "3.4e38",
    "1e-320",
    "-0",
    "0.0",
    "\"\\u{0}\"",
    "\"\\u{1b}[2J\"",
    "\"日本\"",
    "''",
    "[]",
    "{}",
    "null",
    "[1e39, 0]",
    "[3.4e38, -3.4e38]",
];

/// Tokens inserted by mutations.
const NOISE: &[&str] = &[
    "QUERY", "TENANT", "WHERE", "SIMILAR", "TO", "TOP", "LIMIT", "RETURN", "WITH", "AND", "OR",
    "NOT", "IN", "CREATE", "NODE", "NODES", "DROP", "SET", "(", ")", "[", "]", "{", "}", ",", ";",
    ":", "=", "<", "'", "\"", "/*", "--", "embed(", "*", "\\", "\u{0}",
];

/// Builds generated statements.
pub struct Generator {
    rng: Rng,
}

impl Generator {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Generator {
        Generator { rng: Rng(seed) }
    }

    fn tenant(&mut self) -> String {
        if self.rng.chance(8) {
            self.rng.pick(HOSTILE).to_string()
        } else {
            self.rng.pick(TENANTS).to_string()
        }
    }

    fn collection(&mut self) -> String {
        if self.rng.chance(5) {
            self.rng.pick(HOSTILE).to_string()
        } else {
            self.rng.pick(COLLECTIONS).to_string()
        }
    }

    fn number(&mut self) -> String {
        match self.rng.below(6) {
            0 => self.rng.pick(EXTREME).to_string(),
            1 => format!("{}", self.rng.below(1000) as f64 / 7.0),
            2 => format!("-{}", self.rng.below(100)),
            _ => format!("{}", self.rng.below(50)),
        }
    }

    fn literal(&mut self) -> String {
        match self.rng.below(7) {
            0 => format!("\"s{}\"", self.rng.below(20)),
            1 => "true".into(),
            2 => format!("[\"x\", {}]", self.number()),
            3 => format!("{{ k: {} }}", self.number()),
            4 => self.rng.pick(EXTREME).to_string(),
            _ => self.number(),
        }
    }

    /// A vector component: mostly ordinary, sometimes extreme.
    fn component(&mut self) -> String {
        if self.rng.chance(15) {
            self.rng.pick(EXTREME_NUMBERS).to_string()
        } else {
            format!("{}", (self.rng.below(2001) as f64 - 1000.0) / 100.0)
        }
    }

    /// A `TOP` / `LIMIT` count.
    fn count(&mut self) -> String {
        match self.rng.below(10) {
            0 => self
                .rng
                .pick(&["0", "-1", "100000000", "9223372036854775807"])
                .to_string(),
            _ => format!("{}", 1 + self.rng.below(20)),
        }
    }

    fn vector(&mut self) -> String {
        match self.rng.below(6) {
            0 => format!("embed(\"text {}\")", self.rng.below(10)),
            1 => self
                .rng
                .pick(&["[3.4e38, -3.4e38, 0]", "[1e-45, 0, 1e-45]", "[0, 0, 0]"])
                .into(),
            2 => "null".into(),
            _ => {
                let dim = 2 + self.rng.below(2);
                let xs: Vec<String> = (0..dim).map(|_| self.component()).collect();
                format!("[{}]", xs.join(", "))
            }
        }
    }

    fn node(&mut self) -> String {
        let mut fields = vec![format!("id: \"n{}\"", self.rng.below(30))];
        let mut used = Vec::new();
        for _ in 0..self.rng.below(3) {
            let f = self.rng.pick(ATTRIBUTES);
            if !used.contains(&f) {
                used.push(f);
                fields.push(format!("{f}: {}", self.literal()));
            }
        }
        if self.rng.chance(80) {
            fields.push(format!("embedding: {}", self.vector()));
        }
        format!("{{ {} }}", fields.join(", "))
    }

    fn filter(&mut self, depth: usize) -> String {
        let f = self.rng.pick(FIELDS);
        let leaf = match self.rng.below(6) {
            0 => format!("{f} IN [{}, {}]", self.literal(), self.literal()),
            1 => format!("EXISTS {f}"),
            2 => format!("{f} IS NOT NULL"),
            3 => format!("{f} CONTAINS {}", self.literal()),
            _ => format!(
                "{f} {} {}",
                self.rng.pick(&["=", "!=", "<", ">=", "<>"]),
                self.literal()
            ),
        };
        if depth < 3 && self.rng.chance(30) {
            let op = self.rng.pick(&["AND", "OR"]);
            let right = self.filter(depth + 1);
            if self.rng.chance(30) {
                format!("NOT ({leaf} {op} {right})")
            } else {
                format!("{leaf} {op} {right}")
            }
        } else {
            leaf
        }
    }

    fn tier(&mut self) -> String {
        self.rng
            .pick(&["gold", "free", "Gold", "\"../x\"", "unlimited"])
            .to_string()
    }

    fn tenant_options(&mut self) -> String {
        let opts = [
            format!("max_vectors: {}", self.number()),
            format!(
                "tier: '{}'",
                self.rng.pick(&["free", "pro", "unlimited", "gold"])
            ),
            format!("max_qps: {}", self.number()),
            format!("max_dimension: {}", self.number()),
            format!("display_name: {}", self.literal()),
            format!("retention_days: {}", self.number()),
            "isolation_level: 'shared'".to_string(),
        ];
        let n = 1 + self.rng.below(2);
        let picked: Vec<String> = (0..n)
            .map(|_| opts[self.rng.below(opts.len())].clone())
            .collect();
        picked.join(", ")
    }

    fn read(&mut self, c: &str, t: &str) -> String {
        let mut s = format!("QUERY {c} TENANT {t}");
        if self.rng.chance(50) {
            s.push_str(&format!(" WHERE {}", self.filter(0)));
        }
        if self.rng.chance(60) {
            let v = if self.rng.chance(20) {
                format!("NODE \"n{}\"", self.rng.below(30))
            } else {
                self.vector()
            };
            s.push_str(&format!(" SIMILAR TO {v}"));
        }
        if self.rng.chance(60) {
            s.push_str(&format!(
                " {} {}",
                self.rng.pick(&["TOP", "LIMIT"]),
                self.count()
            ));
        }
        if self.rng.chance(20) {
            s.push_str(&format!(
                " WITH (ef: {}, exact: {})",
                self.number(),
                self.rng.pick(&["true", "false"])
            ));
        }
        if self.rng.chance(30) {
            s.push_str(if self.rng.chance(30) {
                " RETURN COUNT(*)"
            } else {
                " RETURN _id, price, _distance"
            });
        }
        s
    }

    /// A statement that follows the grammar (it may still be refused).
    pub fn valid(&mut self) -> String {
        let (t, c) = (self.tenant(), self.collection());
        let stmt = match self.rng.below(28) {
            0 | 24 | 25 => format!(
                "CREATE TENANT {}{t}", if self.rng.chance(50) { "IF NOT EXISTS " } else { "" }),
            1 => format!("CREATE TENANT {t} WITH ({})", self.tenant_options()),
            2 => format!("ALTER TENANT {t} SET {}", self.tenant_options().replace(':', " =")),
            3 => format!(
                "ALTER TENANT {t} SET status = '{}'",
                self.rng.pick(&["active", "inactive", "read_only", "suspended", "archived", "bogus"])
            ),
            4 => format!("DROP TENANT {}{t}", if self.rng.chance(50) { "IF EXISTS " } else { "" }),
            5 => format!("{} TENANT {t}", self.rng.pick(&["ARCHIVE", "RESTORE"])),
            6 => "SHOW TENANTS".to_string(),
            7 => format!("SHOW TENANTS WHERE {} LIMIT {}", self.filter(1), self.count()),
            8 => format!("DESCRIBE TENANT {t}"),
            9 => format!("USE TENANT {t}"),
            10 => format!(
                "CREATE COLLECTION {}{c} TENANT {t} WITH (metric: '{}', index: '{}', dimension: {})",
                if self.rng.chance(50) { "IF NOT EXISTS " } else { "" },
                self.rng.pick(&["cosine", "l2", "dot", "hamming"]),
                self.rng.pick(&["auto", "flat", "graph", "hnsw_rs"]),
                self.rng.pick(&["2", "3", "384", "0", "70000"]),
            ),
            11 => format!("ALTER COLLECTION {c} TENANT {t} SET ef_search = {}", self.number()),
            12 => format!("DROP COLLECTION IF EXISTS {c} TENANT {t}"),
            13 => format!("SHOW COLLECTIONS TENANT {t}"),
            14 | 15 => format!("QUERY {c} TENANT {t} CREATE NODE {}", self.node()),
            16 => {
                let nodes: Vec<String> = (0..self.rng.below(4)).map(|_| self.node()).collect();
                format!("QUERY {c} TENANT {t} CREATE NODES [{}]", nodes.join(", "))
            }
            17 => format!("QUERY {c} TENANT {t} UPSERT NODE {}", self.node()),
            18 => format!(
                "QUERY {c} TENANT {t} WHERE {} UPDATE SET {} = {}",
                self.filter(1),
                self.rng.pick(FIELDS),
                self.literal()
            ),
            19 => format!("QUERY {c} TENANT {t} WHERE {} DELETE", self.filter(1)),
            20 => format!("EXPLAIN {}", self.read(&c, &t)),
            21 => format!(
                "SHOW USAGE FOR TENANT {t} {}",
                self.rng.pick(&["", "PERIOD '2026-11'", "PERIOD '2026-13'", "FROM '0000-01-01' TO '9999-12-31'"])
            ),
            22 => "SHOW STATS".to_string(),
            26 => format!(
                "CREATE TIER {}{} WITH ({})",
                if self.rng.chance(50) { "IF NOT EXISTS " } else { "" },
                self.tier(),
                self.tenant_options()
            ),
            27 => match self.rng.below(3) {
                0 => format!("ALTER TIER {} SET {}", self.tier(), self.tenant_options().replace(':', " =")),
                1 => format!("DROP TIER {}{}", if self.rng.chance(50) { "IF EXISTS " } else { "" }, self.tier()),
                _ => "SHOW TIERS".to_string(),
            },
            _ => self.read(&c, &t),
        };
        format!("{stmt};")
    }

    /// A valid statement, or one damaged by truncation or token mutations.
    pub fn next_statement(&mut self) -> String {
        let s = self.valid();
        match self.rng.below(10) {
            0..=5 => s,
            6 => {
                // Truncated at a character boundary.
                let cut = self.rng.below(s.len().max(1));
                let cut = (0..=cut)
                    .rev()
                    .find(|&i| s.is_char_boundary(i))
                    .unwrap_or(0);
                s[..cut].to_string()
            }
            _ => self.mutate(&s),
        }
    }

    fn mutate(&mut self, s: &str) -> String {
        let mut tokens: Vec<String> = s.split(' ').map(str::to_string).collect();
        for _ in 0..1 + self.rng.below(3) {
            if tokens.is_empty() {
                break;
            }
            let i = self.rng.below(tokens.len());
            match self.rng.below(5) {
                0 => {
                    tokens.remove(i);
                }
                1 => tokens.insert(i, tokens[i].clone()),
                2 => {
                    let j = self.rng.below(tokens.len());
                    tokens.swap(i, j);
                }
                3 => tokens.insert(i, self.rng.pick(NOISE).to_string()),
                _ => tokens[i] = self.rng.pick(EXTREME).to_string(),
            }
        }
        tokens.join(" ")
    }
}

/// Two tenants no generated statement names: the isolation witnesses.
const ISOLATED: [&str; 2] = ["isoA", "isoB"];

/// Top-level entries the engine may create in its data folder.
const DATA_ENTRIES: &[&str] = &["catalog.redb", "tenants", "archive", "exports"];

/// A live engine in a sandbox folder and the checks run after statements.
pub struct Harness {
    _sandbox: tempfile::TempDir,
    sandbox: PathBuf,
    data: PathBuf,
    engine: Engine,
    session: Session,
    /// Statements run so far.
    pub statements: u64,
    /// Statements that succeeded.
    pub ok: u64,
    /// Invariant violations: the statement and what broke.
    pub failures: Vec<String>,
}

impl Harness {
    /// An engine on a fresh data folder inside an otherwise empty sandbox,
    /// with the two isolation witnesses seeded.
    pub fn new(sandbox: tempfile::TempDir) -> Harness {
        let root = sandbox.path().to_path_buf();
        let data = root.join("data");
        let engine = Engine::open(&data).expect("open the engine");
        for t in ISOLATED {
            engine
                .execute(&format!(
                    "CREATE TENANT {t};
                     QUERY c1 TENANT {t} CREATE NODES [
                       {{ id: \"{t}_1\", embedding: [1, 0] }},
                       {{ id: \"{t}_2\", embedding: [0, 1] }}
                     ];"
                ))
                .expect("seed the isolation witnesses");
        }
        let session = engine.session();
        Harness {
            _sandbox: sandbox,
            sandbox: root,
            data,
            engine,
            session,
            statements: 0,
            ok: 0,
            failures: Vec::new(),
        }
    }

    /// The folder holding the data folder (and nothing else).
    pub fn sandbox(&self) -> &Path {
        &self.sandbox
    }

    /// Runs one statement and checks the invariants after it.
    pub fn run(&mut self, statement: &str) {
        self.statements += 1;
        let session = &mut self.session;
        let outcome = catch_unwind(AssertUnwindSafe(|| session.execute(statement)));
        match outcome {
            Err(_) => self.fail(statement, "panicked".into()),
            Ok(Ok(_)) => self.ok += 1,
            Ok(Err(e)) => {
                if e.kind().code().is_empty() || e.kind().name().is_empty() {
                    self.fail(statement, format!("error without a kind: {e}"));
                }
                match e.position() {
                    Some(p) if p.line >= 1 && p.column >= 1 => {}
                    _ => self.fail(statement, format!("error without a position: {e:?}")),
                }
            }
        }
        if let Err(why) = self.check_disk() {
            self.fail(statement, why);
        }
        if self.statements.is_multiple_of(50) {
            self.check_isolation(statement);
        }
    }

    fn fail(&mut self, statement: &str, why: String) {
        // Keep the report readable: a few hundred bytes of the statement.
        let shown: String = statement.chars().take(300).collect();
        self.failures.push(format!("{why}\n  statement: {shown:?}"));
    }

    /// Catalog and disk agree; nothing outside the data folder.
    fn check_disk(&self) -> Result<(), String> {
        let outside = names_in(&self.sandbox);
        if outside != BTreeSet::from(["data".to_string()]) {
            return Err(format!("entries beside the data folder: {outside:?}"));
        }
        let top = names_in(&self.data);
        if let Some(stray) = top.iter().find(|n| !DATA_ENTRIES.contains(&n.as_str())) {
            return Err(format!("unexpected entry in the data folder: {stray:?}"));
        }
        let listed = self
            .engine
            .execute("SHOW TENANTS;")
            .map_err(|e| format!("SHOW TENANTS failed: {e}"))?;
        let mut live = BTreeSet::new();
        for row in &listed[0].rows {
            let (Some(Value::Str(name)), Some(Value::Str(status))) = (row.first(), row.get(1))
            else {
                return Err(format!("SHOW TENANTS row without name and status: {row:?}"));
            };
            let valid = !name.is_empty()
                && name.len() <= 64
                && name.starts_with(|c: char| c.is_ascii_alphanumeric())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid {
                return Err(format!("a tenant with an invalid name exists: {name:?}"));
            }
            if status == "archived" {
                if !self
                    .data
                    .join("archive")
                    .join(format!("{name}.tar.zst"))
                    .is_file()
                {
                    return Err(format!("archived tenant {name} has no archive file"));
                }
            } else {
                live.insert(name.clone());
            }
        }
        for folder in names_in(&self.data.join("tenants")) {
            if !live.contains(&folder) {
                return Err(format!(
                    "tenant folder {folder:?} belongs to no live tenant ({live:?})"
                ));
            }
        }
        Ok(())
    }

    /// A query on each witness returns only its own ids.
    fn check_isolation(&mut self, after: &str) {
        for (t, other) in [(ISOLATED[0], ISOLATED[1]), (ISOLATED[1], ISOLATED[0])] {
            for q in [
                format!("QUERY c1 TENANT {t} LIMIT 100;"),
                format!("QUERY c1 TENANT {t} SIMILAR TO [1, 1] TOP 100;"),
            ] {
                match self.engine.execute(&q) {
                    Ok(r) => {
                        let ids: Vec<&Value> =
                            r[0].rows.iter().filter_map(|row| row.first()).collect();
                        let leak = ids
                            .iter()
                            .any(|v| matches!(v, Value::Str(s) if s.starts_with(other)));
                        if leak || ids.len() != 2 {
                            self.fail(after, format!("isolation: {q} gave {ids:?}"));
                        }
                    }
                    Err(e) => self.fail(after, format!("isolation query failed: {q}: {e}")),
                }
            }
        }
    }

    /// The final isolation check; returns the failures.
    pub fn finish(mut self) -> Vec<String> {
        self.check_isolation("(end of run)");
        self.failures
    }
}

/// Names of the entries of `dir` (none if it does not exist).
fn names_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}
