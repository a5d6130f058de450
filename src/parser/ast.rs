//! The PQL syntax tree: plain data produced by the parser and consumed by the
//! planner. `Display` (in `display.rs`) prints canonical PQL, so that
//! `parse(print(ast)) == ast`.
//!
//! The nodes a runtime error can point at carry a [`Span`]: tenant and
//! collection names ([`Name`]), node literals, options, and the clauses of
//! a read (`WHERE`, `SIMILAR TO`, `TOP`/`LIMIT`, `WITH`). Spans never take
//! part in equality, so a printed and re-parsed tree equals the original.

use std::fmt;
use std::ops::Deref;

use crate::value::Value;

/// Where a node is in the script text: byte offsets `start..end`.
///
/// Two spans always compare equal, so that trees compare by meaning (a
/// tree built by hand, with default spans, equals the parsed one).
#[derive(Debug, Clone, Copy, Default)]
pub struct Span {
    /// Byte offset of the node's first character.
    pub start: usize,
    /// Byte offset just past the node's last character.
    pub end: usize,
}

impl Span {
    /// The span `start..end`.
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// From the start of `self` to the end of `other`.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start, other.end)
    }
}

impl PartialEq for Span {
    /// Always true: spans say where, not what.
    fn eq(&self, _: &Span) -> bool {
        true
    }
}

impl Eq for Span {}

/// A tenant or collection name as written (quotes removed, unvalidated),
/// and where it is. Dereferences to the text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Name {
    /// The name.
    pub text: String,
    /// Where it is in the script.
    pub span: Span,
}

impl Name {
    /// `text` found at `span`.
    pub fn new(text: impl Into<String>, span: Span) -> Name {
        Name {
            text: text.into(),
            span,
        }
    }
}

impl Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Name {
    /// The raw text (a statement's `Display` quotes it where PQL needs).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<&str> for Name {
    fn from(text: &str) -> Name {
        Name::new(text, Span::default())
    }
}

impl From<String> for Name {
    fn from(text: String) -> Name {
        Name::new(text, Span::default())
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

/// A parsed script: statements in source order.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    /// The statements, each with where it starts.
    pub statements: Vec<Located>,
}

/// A statement and where it starts in the source text.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    /// The statement.
    pub statement: Statement,
    /// 1-based line of the statement's first character.
    pub line: usize,
    /// 1-based column of the statement's first character.
    pub column: usize,
}

/// `key: value` in `WITH (...)`, or `key = value` in `SET ...`.
#[derive(Debug, Clone, PartialEq)]
pub struct Opt {
    /// Option name as written, lower-cased.
    pub key: String,
    /// The literal value.
    pub value: Value,
    /// The whole `key: value`.
    pub span: Span,
}

/// One PQL statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `CREATE TENANT [IF NOT EXISTS] name [WITH (opt: v, ...)]`
    CreateTenant {
        /// Tenant name (unvalidated text as written, quotes removed).
        name: Name,
        /// `IF NOT EXISTS` was given.
        if_not_exists: bool,
        /// Options in the order written.
        options: Vec<Opt>,
    },
    /// `ALTER TENANT name SET opt = v, ...`
    AlterTenant {
        /// Tenant name.
        name: Name,
        /// Assignments in the order written (at least one).
        set: Vec<Opt>,
    },
    /// `ARCHIVE TENANT name`
    ArchiveTenant {
        /// Tenant name.
        name: Name,
    },
    /// `RESTORE TENANT name`
    RestoreTenant {
        /// Tenant name.
        name: Name,
    },
    /// `OFFLOAD TENANT name`: to the configured object store.
    OffloadTenant {
        /// Tenant name.
        name: Name,
    },
    /// `ONLOAD TENANT name`: back from the object store.
    OnloadTenant {
        /// Tenant name.
        name: Name,
    },
    /// `ATTACH TENANT name FROM OBJECT STORE`: from the bucket alone.
    AttachTenant {
        /// Tenant name.
        name: Name,
    },
    /// `EXPORT TENANT name TO 'file' [WITH (usage: true, keys: true)]`
    ExportTenant {
        /// Tenant name.
        name: Name,
        /// The file, as written (confined to the export folders).
        path: String,
        /// Options in the order written.
        options: Vec<Opt>,
    },
    /// `IMPORT TENANT FROM 'file' [AS name] [REPLACE] [WITH (status: .., tier: ..)]`
    ImportTenant {
        /// The file, as written (confined to the export folders).
        path: String,
        /// The name to import under; `None`: the name in the file.
        as_name: Option<Name>,
        /// `REPLACE` was given: an existing tenant of that name is replaced.
        replace: bool,
        /// Options in the order written.
        options: Vec<Opt>,
    },
    /// `DROP TENANT [IF EXISTS] name`
    DropTenant {
        /// Tenant name.
        name: Name,
        /// `IF EXISTS` was given.
        if_exists: bool,
    },
    /// `SHOW TENANTS [WHERE filter] [LIMIT n]`
    ShowTenants {
        /// Filter over tenant fields (`status`, `tier`, `name`, ...).
        filter: Option<Expr>,
        /// Row limit.
        limit: Option<u64>,
    },
    /// `DESCRIBE TENANT name`
    DescribeTenant {
        /// Tenant name.
        name: Name,
    },
    /// `USE TENANT name`
    UseTenant {
        /// Tenant name.
        name: Name,
    },
    /// `CREATE COLLECTION [IF NOT EXISTS] name [TENANT t] [WITH (...)]`
    CreateCollection {
        /// Collection name.
        name: Name,
        /// Tenant, or `None` to use the session's `USE TENANT`.
        tenant: Option<Name>,
        /// `IF NOT EXISTS` was given.
        if_not_exists: bool,
        /// Options (`dimension`, `metric`, `m`, `ef_construction`, `ef_search`, `index`).
        options: Vec<Opt>,
    },
    /// `ALTER COLLECTION name [TENANT t] SET opt = v, ...`
    AlterCollection {
        /// Collection name.
        name: Name,
        /// Tenant, or `None` for the session's.
        tenant: Option<Name>,
        /// Assignments (at least one).
        set: Vec<Opt>,
    },
    /// `DROP COLLECTION [IF EXISTS] name [TENANT t]`
    DropCollection {
        /// Collection name.
        name: Name,
        /// Tenant, or `None` for the session's.
        tenant: Option<Name>,
        /// `IF EXISTS` was given.
        if_exists: bool,
    },
    /// `SHOW COLLECTIONS [TENANT t]`
    ShowCollections {
        /// Tenant, or `None` for the session's.
        tenant: Option<Name>,
    },
    /// `DESCRIBE COLLECTION name [TENANT t]`
    DescribeCollection {
        /// Collection name.
        name: Name,
        /// Tenant, or `None` for the session's.
        tenant: Option<Name>,
    },
    /// `QUERY collection [TENANT t] ...`
    Query(Query),
    /// `EXPLAIN QUERY ...`
    Explain(Query),
    /// `SHOW USAGE [FOR TENANT t] [PERIOD '..' | FROM '..' TO '..']`
    ShowUsage {
        /// Only this tenant, or all.
        tenant: Option<Name>,
        /// Reporting period, or the default (current month).
        period: Option<Period>,
    },
    /// `SHOW STATS`
    ShowStats,
    /// `CREATE API KEY FOR TENANT t`: a new key bound to `t`, shown once.
    CreateApiKey {
        /// The tenant the key is bound to.
        tenant: String,
    },
    /// `SHOW API KEYS [FOR TENANT t]`: ids and creation times, never keys.
    ShowApiKeys {
        /// Only this tenant's keys, or every tenant's.
        tenant: Option<String>,
    },
    /// `DROP API KEY 'id' FOR TENANT t`: revokes a key.
    DropApiKey {
        /// The key's id (as `SHOW API KEYS` lists it).
        id: String,
        /// The tenant the key is bound to.
        tenant: String,
    },
    /// `CREATE TIER [IF NOT EXISTS] name [WITH (setting: v, ...)]`: a
    /// template of settings that tenants naming it inherit.
    CreateTier {
        /// Tier name.
        name: Name,
        /// `IF NOT EXISTS` was given.
        if_not_exists: bool,
        /// Settings in the order written.
        options: Vec<Opt>,
    },
    /// `ALTER TIER name SET setting = v, ...` (`null` removes a setting).
    AlterTier {
        /// Tier name.
        name: Name,
        /// Assignments in the order written (at least one).
        set: Vec<Opt>,
    },
    /// `DROP TIER [IF EXISTS] name`: refused while a tenant names it.
    DropTier {
        /// Tier name.
        name: Name,
        /// `IF EXISTS` was given.
        if_exists: bool,
    },
    /// `SHOW TIERS`
    ShowTiers,
}

/// A reporting period of `SHOW USAGE`.
#[derive(Debug, Clone, PartialEq)]
pub enum Period {
    /// `PERIOD 'YYYY-MM'` (text as written).
    Month(String),
    /// `FROM 'YYYY-MM-DD' TO 'YYYY-MM-DD'` (text as written, both inclusive).
    Range(String, String),
}

/// A data statement on one collection of one tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// Collection name.
    pub collection: Name,
    /// Tenant, or `None` for the session's `USE TENANT`.
    pub tenant: Option<Name>,
    /// What the statement does.
    pub op: QueryOp,
}

/// The operation of a `QUERY` statement.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryOp {
    /// `CREATE NODE { ... }`
    CreateNode(NodeLiteral),
    /// `CREATE NODES [ {...}, ... ]` (one atomic batch)
    CreateNodes(Vec<NodeLiteral>),
    /// `UPSERT NODE { ... }`
    UpsertNode(NodeLiteral),
    /// `UPSERT NODES [ {...}, ... ]` (one atomic batch)
    UpsertNodes(Vec<NodeLiteral>),
    /// `[WHERE filter] UPDATE SET field = value, ...`
    Update {
        /// Which nodes; `None` means all.
        filter: Option<Expr>,
        /// Assignments (at least one).
        set: Vec<(String, FieldValue)>,
    },
    /// `[WHERE filter] DELETE`
    Delete {
        /// Which nodes; `None` means all.
        filter: Option<Expr>,
    },
    /// A read: filter, similarity, limit, options, projection.
    Select(Select),
}

/// The fields of a node literal `{ id: "p1", name: "x", embedding: embed("...") }`
/// in the order written.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeLiteral {
    /// `(field, value)` pairs in source order.
    pub fields: Vec<(String, FieldValue)>,
    /// The literal, braces included.
    pub span: Span,
}

/// The value of a node field: a literal, or `embed("text")`.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// A literal value (a vector is an array of numbers).
    Literal(Value),
    /// `embed("text")`: computed by the engine's embedder.
    Embed(String),
}

/// The read part of a `QUERY`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Select {
    /// `WHERE filter`
    pub filter: Option<Expr>,
    /// `SIMILAR TO vector [USING field]`
    pub similar: Option<Similar>,
    /// `TOP k` or `LIMIT k`
    pub limit: Option<Limit>,
    /// `WITH (ef: n, exact: bool)`
    pub options: Vec<Opt>,
    /// `RETURN ...`
    pub returning: Option<Returning>,
    /// Where its clauses are.
    pub spans: SelectSpans,
}

/// Where the clauses of a [`Select`] are (default spans for those absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SelectSpans {
    /// `WHERE filter`
    pub filter: Span,
    /// `SIMILAR TO ...`
    pub similar: Span,
    /// The query vector of `SIMILAR TO` (the literal, `embed(..)` or `NODE ".."`).
    pub vector: Span,
    /// The count of `TOP k` / `LIMIT k`.
    pub limit: Span,
    /// `WITH (...)`
    pub options: Span,
}

/// `SIMILAR TO vector [USING field]`
#[derive(Debug, Clone, PartialEq)]
pub struct Similar {
    /// The query vector.
    pub vector: VectorExpr,
    /// The vector field; `None` means `embedding`.
    pub using: Option<String>,
}

/// A query vector.
#[derive(Debug, Clone, PartialEq)]
pub enum VectorExpr {
    /// `embed("text")`
    Embed(String),
    /// `[0.1, 0.2, ...]`
    Literal(Vec<f32>),
    /// `NODE "id"`: the vector of an existing node.
    Node(String),
}

/// `TOP k` or `LIMIT k` (they mean the same; both are kept for printing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// `TOP k`
    Top(u64),
    /// `LIMIT k`
    Limit(u64),
}

impl Limit {
    /// The number k.
    pub fn count(&self) -> u64 {
        match self {
            Limit::Top(k) | Limit::Limit(k) => *k,
        }
    }
}

/// `RETURN ...`
#[derive(Debug, Clone, PartialEq)]
pub enum Returning {
    /// `RETURN a, b, c`
    Fields(Vec<String>),
    /// `RETURN COUNT(*)`
    Count,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `!=` (also `<>`)
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// A filter expression (`WHERE ...`).
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `field op value`
    Cmp {
        /// Attribute name (`id` is the node id).
        field: String,
        /// Operator.
        op: CmpOp,
        /// Literal to compare with.
        value: Value,
    },
    /// `field IN [..]` / `field NOT IN [..]`
    In {
        /// Attribute name.
        field: String,
        /// Candidate values.
        values: Vec<Value>,
        /// `NOT IN`
        negated: bool,
    },
    /// `field CONTAINS value` (array fields)
    Contains {
        /// Attribute name.
        field: String,
        /// The element looked for.
        value: Value,
    },
    /// `EXISTS field`
    Exists(String),
    /// `field IS NULL` / `field IS NOT NULL`
    IsNull {
        /// Attribute name.
        field: String,
        /// `IS NOT NULL`
        negated: bool,
    },
    /// `a AND b`
    And(Box<Expr>, Box<Expr>),
    /// `a OR b`
    Or(Box<Expr>, Box<Expr>),
    /// `NOT a`
    Not(Box<Expr>),
}
