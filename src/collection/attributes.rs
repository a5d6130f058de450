//! Attribute indexes: for every field, an ordered map from value to the
//! bitmap of internal ids holding it. They answer equality, ranges, `IN`,
//! `CONTAINS`, `EXISTS` and `IS NULL` exactly, so a filter's match count is
//! known before the planner picks between an exact scan and a graph search.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::OnceLock;

use roaring::RoaringBitmap;

use crate::storage::collection::StoredNode;
use crate::storage::record::Attrs;
use crate::value::{cmp_int_float, Value};

/// `v` with every integral float inside it written as an integer, so that
/// arrays and objects that are equal by value (`[1, 2]`, `[1, 2.0]`) get the
/// same key text.
fn canonical(v: &Value) -> Value {
    match v {
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Value::Int(*f as i64),
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), canonical(v))).collect())
        }
        other => other.clone(),
    }
}

/// A value as an index key. Keys of different classes never compare equal,
/// and ranges stay inside one class (numbers with numbers, strings with
/// strings), which is what makes `price > "abc"` match nothing.
#[derive(Debug, Clone)]
pub(crate) enum Key {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// Arrays and objects, compared by their canonical PQL text.
    Other(String),
}

impl Key {
    pub(crate) fn of(v: &Value) -> Key {
        match v {
            Value::Null => Key::Null,
            Value::Bool(b) => Key::Bool(*b),
            Value::Int(i) => Key::Int(*i),
            // -0.0 and 0.0 are the same key.
            Value::Float(f) => Key::Float(if *f == 0.0 { 0.0 } else { *f }),
            Value::Str(s) => Key::Str(s.clone()),
            other => Key::Other(canonical(other).to_string()),
        }
    }

    /// The class of the key: null, boolean, number, string, other.
    pub(crate) fn class(&self) -> u8 {
        match self {
            Key::Null => 0,
            Key::Bool(_) => 1,
            Key::Int(_) | Key::Float(_) => 2,
            Key::Str(_) => 3,
            Key::Other(_) => 4,
        }
    }

    /// The kind of value the key was made from, as `DESCRIBE COLLECTION`
    /// names it. Keys sort by class, so the kinds of a sorted run of keys
    /// come in runs too (arrays, `[...]`, before objects, `{...}`).
    fn kind(&self) -> &'static str {
        match self {
            Key::Null => "null",
            Key::Bool(_) => "bool",
            Key::Int(_) | Key::Float(_) => "number",
            Key::Str(_) => "string",
            Key::Other(text) if text.starts_with('[') => "array",
            Key::Other(_) => "object",
        }
    }

    /// The smallest and largest keys of this key's class, as range bounds.
    fn class_bounds(&self) -> (Bound<Key>, Bound<Key>) {
        match self {
            Key::Null => (Bound::Included(Key::Null), Bound::Included(Key::Null)),
            Key::Bool(_) => (
                Bound::Included(Key::Bool(false)),
                Bound::Included(Key::Bool(true)),
            ),
            Key::Int(_) | Key::Float(_) => (
                Bound::Included(Key::Float(f64::NEG_INFINITY)),
                Bound::Included(Key::Float(f64::INFINITY)),
            ),
            Key::Str(_) => (
                Bound::Included(Key::Str(String::new())),
                Bound::Excluded(Key::Other(String::new())),
            ),
            Key::Other(_) => (Bound::Included(Key::Other(String::new())), Bound::Unbounded),
        }
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Key::Bool(a), Key::Bool(b)) => a.cmp(b),
            (Key::Int(a), Key::Int(b)) => a.cmp(b),
            (Key::Float(a), Key::Float(b)) => a.total_cmp(b),
            // Exact, so 2 and 2.0 are one key and 2^53 + 1 stays apart from 2^53.
            (Key::Int(a), Key::Float(b)) => cmp_int_float(*a, *b).unwrap_or(Ordering::Less),
            (Key::Float(a), Key::Int(b)) => cmp_int_float(*b, *a)
                .map(Ordering::reverse)
                .unwrap_or(Ordering::Greater),
            (Key::Str(a), Key::Str(b)) | (Key::Other(a), Key::Other(b)) => a.cmp(b),
            (a, b) => a.class().cmp(&b.class()),
        }
    }
}

/// The index of one field.
#[derive(Debug, Default)]
struct FieldIndex {
    /// Whole values.
    values: BTreeMap<Key, RoaringBitmap>,
    /// Elements of array values (for `CONTAINS`).
    elements: BTreeMap<Key, RoaringBitmap>,
    /// Ids that have the field at all (null included).
    present: RoaringBitmap,
}

impl FieldIndex {
    fn insert(&mut self, iid: u32, value: &Value) {
        self.present.insert(iid);
        self.values.entry(Key::of(value)).or_default().insert(iid);
        if let Value::Array(items) = value {
            for item in items {
                self.elements.entry(Key::of(item)).or_default().insert(iid);
            }
        }
    }

    fn remove(&mut self, iid: u32, value: &Value) {
        self.present.remove(iid);
        let key = Key::of(value);
        if let Some(b) = self.values.get_mut(&key) {
            b.remove(iid);
            if b.is_empty() {
                self.values.remove(&key);
            }
        }
        if let Value::Array(items) = value {
            for item in items {
                let k = Key::of(item);
                if let Some(b) = self.elements.get_mut(&k) {
                    b.remove(iid);
                    if b.is_empty() {
                        self.elements.remove(&k);
                    }
                }
            }
        }
    }

    fn memory_bytes(&self) -> usize {
        self.present.serialized_size()
            + self
                .values
                .values()
                .chain(self.elements.values())
                .map(|b| b.serialized_size() + 48)
                .sum::<usize>()
    }
}

/// The `id` field: unique strings, looked up by equality far more often
/// than by range. A hash map answers equality (and gives `iid_of`); the
/// ordered index that ranges, `CONTAINS` and class queries need is built on
/// the first such query and kept up to date from then on. Loading a
/// collection so builds one hash map instead of one bitmap per node.
#[derive(Debug, Default)]
struct IdIndex {
    /// Node id → internal id.
    map: HashMap<String, u32>,
    /// Internal ids of all nodes.
    present: RoaringBitmap,
    /// The ordered index, once some query needed it.
    ordered: OnceLock<FieldIndex>,
}

impl IdIndex {
    fn insert(&mut self, iid: u32, id: &str) {
        self.map.insert(id.to_string(), iid);
        self.present.insert(iid);
        if let Some(f) = self.ordered.get_mut() {
            f.insert(iid, &Value::Str(id.to_string()));
        }
    }
}

/// Range operators for [`AttributeIndex::range`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeOp {
    Lt,
    Le,
    Gt,
    Ge,
}

/// All field indexes of a collection. The field `id` (the node id) is kept
/// apart, see [`IdIndex`].
#[derive(Debug, Default)]
pub(crate) struct AttributeIndex {
    fields: HashMap<String, FieldIndex>,
    ids: IdIndex,
}

/// The field name of node ids.
const ID: &str = "id";

fn union<'a>(maps: impl Iterator<Item = &'a RoaringBitmap>) -> RoaringBitmap {
    let mut out = RoaringBitmap::new();
    for m in maps {
        out |= m;
    }
    out
}

impl AttributeIndex {
    /// The index of `nodes`, given in internal id order (so that every
    /// bitmap insert lands at the end of its bitmap): the node ids on one
    /// thread, the other fields on another.
    pub(crate) fn build(nodes: &[StoredNode]) -> Self {
        let (ids, fields) = rayon::join(
            || {
                let mut ids = IdIndex {
                    map: HashMap::with_capacity(nodes.len()),
                    ..IdIndex::default()
                };
                for n in nodes {
                    ids.insert(n.iid, &n.id);
                }
                ids
            },
            || {
                let mut idx = AttributeIndex::default();
                for n in nodes {
                    idx.insert_fields(n.iid, &n.attrs);
                }
                idx.fields
            },
        );
        AttributeIndex { fields, ids }
    }

    /// Indexes node `id` with attributes `attrs` under internal id `iid`.
    pub(crate) fn insert_node(&mut self, iid: u32, id: &str, attrs: &Attrs) {
        self.ids.insert(iid, id);
        self.insert_fields(iid, attrs);
    }

    fn insert_fields(&mut self, iid: u32, attrs: &Attrs) {
        for (k, v) in attrs {
            self.insert(iid, k, v);
        }
    }

    /// Removes node `id` (internal id `iid`) from the id index; its other
    /// fields are removed with `remove`.
    pub(crate) fn remove_id(&mut self, iid: u32, id: &str) {
        self.ids.map.remove(id);
        self.ids.present.remove(iid);
        if let Some(f) = self.ids.ordered.get_mut() {
            f.remove(iid, &Value::Str(id.to_string()));
        }
    }

    /// Internal id of node `id`.
    pub(crate) fn iid_of(&self, id: &str) -> Option<u32> {
        self.ids.map.get(id).copied()
    }

    /// Internal ids of all nodes.
    pub(crate) fn nodes(&self) -> &RoaringBitmap {
        &self.ids.present
    }

    /// Indexes `value` of `field` for node `iid`.
    pub(crate) fn insert(&mut self, iid: u32, field: &str, value: &Value) {
        match self.fields.get_mut(field) {
            Some(f) => f.insert(iid, value),
            None => self
                .fields
                .entry(field.to_string())
                .or_default()
                .insert(iid, value),
        }
    }

    /// Removes `value` of `field` for node `iid` (the inverse of `insert`).
    pub(crate) fn remove(&mut self, iid: u32, field: &str, value: &Value) {
        let Some(f) = self.fields.get_mut(field) else {
            return;
        };
        f.remove(iid, value);
        if f.present.is_empty() {
            self.fields.remove(field);
        }
    }

    /// The index of `field`; for `id`, the ordered index, built on first use.
    fn field(&self, field: &str) -> Option<&FieldIndex> {
        if field != ID {
            return self.fields.get(field);
        }
        Some(self.ids.ordered.get_or_init(|| {
            let mut f = FieldIndex::default();
            let mut sorted: Vec<(&String, u32)> =
                self.ids.map.iter().map(|(id, iid)| (id, *iid)).collect();
            sorted.sort_unstable();
            f.values = sorted
                .into_iter()
                .map(|(id, iid)| (Key::Str(id.clone()), RoaringBitmap::from_iter([iid])))
                .collect();
            f.present = self.ids.present.clone();
            f
        }))
    }

    /// Ids whose `field` equals `value` (`1 = 1.0`).
    pub(crate) fn eq(&self, field: &str, value: &Value) -> RoaringBitmap {
        if field == ID {
            return match value {
                Value::Str(id) => self.iid_of(id).into_iter().collect(),
                _ => RoaringBitmap::new(),
            };
        }
        self.fields
            .get(field)
            .and_then(|f| f.values.get(&Key::of(value)))
            .cloned()
            .unwrap_or_default()
    }

    /// Ids whose `field` holds a value of the same class as `value`
    /// (numbers, strings, ...): the ids a comparison with `value` can match.
    pub(crate) fn same_class(&self, field: &str, value: &Value) -> RoaringBitmap {
        let Some(f) = self.field(field) else {
            return RoaringBitmap::new();
        };
        union(
            f.values
                .range(Key::of(value).class_bounds())
                .map(|(_, b)| b),
        )
    }

    /// Ids whose `field` compares to `value` by `op`, within one class.
    pub(crate) fn range(&self, field: &str, op: RangeOp, value: &Value) -> RoaringBitmap {
        let Some(f) = self.field(field) else {
            return RoaringBitmap::new();
        };
        let key = Key::of(value);
        if matches!(key, Key::Null | Key::Other(_)) {
            return RoaringBitmap::new();
        }
        let (lo, hi) = key.class_bounds();
        let bounds = match op {
            RangeOp::Lt => (lo, Bound::Excluded(key)),
            RangeOp::Le => (lo, Bound::Included(key)),
            RangeOp::Gt => (Bound::Excluded(key), hi),
            RangeOp::Ge => (Bound::Included(key), hi),
        };
        union(f.values.range(bounds).map(|(_, b)| b))
    }

    /// Ids whose array `field` has an element equal to `value`, or whose
    /// string `field` contains the string `value`.
    pub(crate) fn contains(&self, field: &str, value: &Value) -> RoaringBitmap {
        let Some(f) = self.field(field) else {
            return RoaringBitmap::new();
        };
        let mut out = f.elements.get(&Key::of(value)).cloned().unwrap_or_default();
        if let Value::Str(needle) = value {
            let strings = f.values.range(Key::of(value).class_bounds());
            for (k, b) in strings {
                if matches!(k, Key::Str(s) if s.contains(needle.as_str())) {
                    out |= b;
                }
            }
        }
        out
    }

    /// Ids that have `field` (null included).
    pub(crate) fn present(&self, field: &str) -> RoaringBitmap {
        if field == ID {
            return self.ids.present.clone();
        }
        self.fields
            .get(field)
            .map(|f| f.present.clone())
            .unwrap_or_default()
    }

    /// Ids whose `field` is present and not null.
    pub(crate) fn not_null(&self, field: &str) -> RoaringBitmap {
        let mut p = self.present(field);
        p -= self.eq(field, &Value::Null);
        p
    }

    /// The fields some live node holds (besides `id`), sorted, each with
    /// the kinds of value seen in it (`null`, `bool`, `number`, `string`,
    /// `array`, `object`), for `DESCRIBE COLLECTION`.
    pub(crate) fn field_kinds(&self) -> Vec<(String, Vec<&'static str>)> {
        let mut out: Vec<(String, Vec<&'static str>)> = self
            .fields
            .iter()
            .filter(|(_, f)| !f.present.is_empty())
            .map(|(name, f)| {
                let mut kinds: Vec<&'static str> = f.values.keys().map(Key::kind).collect();
                kinds.dedup();
                (name.clone(), kinds)
            })
            .collect();
        out.sort();
        out
    }

    /// Approximate heap bytes (bitmaps serialized size plus keys).
    pub(crate) fn memory_bytes(&self) -> usize {
        let ids: usize = self.ids.map.keys().map(|k| k.len() + 40).sum();
        ids + self.ids.present.serialized_size()
            + self.ids.ordered.get().map_or(0, FieldIndex::memory_bytes)
            + self
                .fields
                .values()
                .map(FieldIndex::memory_bytes)
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx() -> AttributeIndex {
        let mut a = AttributeIndex::default();
        a.insert(1, "price", &Value::Int(10));
        a.insert(2, "price", &Value::Float(20.5));
        a.insert(3, "price", &Value::Str("cheap".into()));
        a.insert(4, "price", &Value::Null);
        a.insert(
            5,
            "tags",
            &Value::Array(vec![Value::Str("a".into()), Value::Int(1)]),
        );
        a
    }

    #[test]
    fn ranges_stay_within_a_class() {
        let a = idx();
        let gt = a.range("price", RangeOp::Gt, &Value::Int(5));
        assert_eq!(gt.iter().collect::<Vec<_>>(), vec![1, 2]);
        let lt = a.range("price", RangeOp::Lt, &Value::Str("d".into()));
        assert_eq!(lt.iter().collect::<Vec<_>>(), vec![3]);
        assert!(a.range("price", RangeOp::Gt, &Value::Null).is_empty());
    }

    #[test]
    fn equality_across_int_and_float() {
        let a = idx();
        assert_eq!(a.eq("price", &Value::Float(10.0)).len(), 1);
        assert_eq!(a.same_class("price", &Value::Int(0)).len(), 2);
    }

    /// The `id` field (hash map, ordered index built on demand) answers
    /// every query exactly as a plain field holding the same strings, before
    /// and after the ordered index exists, across inserts and removals.
    #[test]
    fn id_field_agrees_with_a_plain_field() {
        let mut a = AttributeIndex::default();
        let ids = ["b", "a", "ab", "c1", "c2", "ba"];
        for (iid, id) in ids.iter().enumerate() {
            a.insert_node(iid as u32, id, &Attrs::default());
            a.insert(iid as u32, "name", &Value::Str(id.to_string()));
        }
        let probes = [
            Value::Str("b".into()),
            Value::Str("a".into()),
            Value::Str("c".into()),
            Value::Str("".into()),
            Value::Int(1),
            Value::Null,
            Value::Array(vec![Value::Str("a".into())]),
        ];
        let check = |a: &AttributeIndex| {
            for v in &probes {
                assert_eq!(a.eq("id", v), a.eq("name", v), "eq {v}");
                assert_eq!(a.same_class("id", v), a.same_class("name", v));
                assert_eq!(a.contains("id", v), a.contains("name", v), "contains {v}");
                for op in [RangeOp::Lt, RangeOp::Le, RangeOp::Gt, RangeOp::Ge] {
                    assert_eq!(a.range("id", op, v), a.range("name", op, v), "{op:?} {v}");
                }
            }
            assert_eq!(a.present("id"), a.present("name"));
            assert_eq!(a.not_null("id"), a.not_null("name"));
            assert_eq!(a.nodes(), &a.present("name"));
        };
        // The ordered index is built by the first range query of `check`,
        // then kept up to date by the changes below.
        check(&a);
        a.remove_id(1, "a");
        a.remove(1, "name", &Value::Str("a".into()));
        a.insert_node(9, "aa", &Attrs::default());
        a.insert(9, "name", &Value::Str("aa".into()));
        check(&a);
        assert_eq!(a.iid_of("aa"), Some(9));
        assert_eq!(a.iid_of("a"), None);
    }

    #[test]
    fn contains_and_null() {
        let mut a = idx();
        assert_eq!(a.contains("tags", &Value::Int(1)).len(), 1);
        assert_eq!(a.contains("price", &Value::Str("hea".into())).len(), 1);
        assert_eq!(a.not_null("price").len(), 3);
        assert_eq!(a.present("price").len(), 4);
        a.remove(
            5,
            "tags",
            &Value::Array(vec![Value::Str("a".into()), Value::Int(1)]),
        );
        assert!(a.contains("tags", &Value::Int(1)).is_empty());
        assert!(a.present("tags").is_empty());
    }
}
