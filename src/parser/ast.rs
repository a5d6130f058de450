//! The PQL syntax tree: plain data produced by the parser and consumed by the
//! planner. `Display` (in `display.rs`) prints canonical PQL, so that
//! `parse(print(ast)) == ast`.

use crate::value::Value;

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
}

/// One PQL statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `CREATE TENANT [IF NOT EXISTS] name [WITH (opt: v, ...)]`
    CreateTenant {
        /// Tenant name (unvalidated text as written, quotes removed).
        name: String,
        /// `IF NOT EXISTS` was given.
        if_not_exists: bool,
        /// Options in the order written.
        options: Vec<Opt>,
    },
    /// `ALTER TENANT name SET opt = v, ...`
    AlterTenant {
        /// Tenant name.
        name: String,
        /// Assignments in the order written (at least one).
        set: Vec<Opt>,
    },
    /// `ARCHIVE TENANT name`
    ArchiveTenant {
        /// Tenant name.
        name: String,
    },
    /// `RESTORE TENANT name`
    RestoreTenant {
        /// Tenant name.
        name: String,
    },
    /// `OFFLOAD TENANT name`: to the configured object store.
    OffloadTenant {
        /// Tenant name.
        name: String,
    },
    /// `ONLOAD TENANT name`: back from the object store.
    OnloadTenant {
        /// Tenant name.
        name: String,
    },
    /// `ATTACH TENANT name FROM OBJECT STORE`: from the bucket alone.
    AttachTenant {
        /// Tenant name.
        name: String,
    },
    /// `DROP TENANT [IF EXISTS] name`
    DropTenant {
        /// Tenant name.
        name: String,
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
        name: String,
    },
    /// `USE TENANT name`
    UseTenant {
        /// Tenant name.
        name: String,
    },
    /// `CREATE COLLECTION [IF NOT EXISTS] name [TENANT t] [WITH (...)]`
    CreateCollection {
        /// Collection name.
        name: String,
        /// Tenant, or `None` to use the session's `USE TENANT`.
        tenant: Option<String>,
        /// `IF NOT EXISTS` was given.
        if_not_exists: bool,
        /// Options (`dimension`, `metric`, `m`, `ef_construction`, `ef_search`, `index`).
        options: Vec<Opt>,
    },
    /// `ALTER COLLECTION name [TENANT t] SET opt = v, ...`
    AlterCollection {
        /// Collection name.
        name: String,
        /// Tenant, or `None` for the session's.
        tenant: Option<String>,
        /// Assignments (at least one).
        set: Vec<Opt>,
    },
    /// `DROP COLLECTION [IF EXISTS] name [TENANT t]`
    DropCollection {
        /// Collection name.
        name: String,
        /// Tenant, or `None` for the session's.
        tenant: Option<String>,
        /// `IF EXISTS` was given.
        if_exists: bool,
    },
    /// `SHOW COLLECTIONS [TENANT t]`
    ShowCollections {
        /// Tenant, or `None` for the session's.
        tenant: Option<String>,
    },
    /// `QUERY collection [TENANT t] ...`
    Query(Query),
    /// `EXPLAIN QUERY ...`
    Explain(Query),
    /// `SHOW USAGE [FOR TENANT t] [PERIOD '..' | FROM '..' TO '..']`
    ShowUsage {
        /// Only this tenant, or all.
        tenant: Option<String>,
        /// Reporting period, or the default (current month).
        period: Option<Period>,
    },
    /// `SHOW STATS`
    ShowStats,
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
    pub collection: String,
    /// Tenant, or `None` for the session's `USE TENANT`.
    pub tenant: Option<String>,
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
