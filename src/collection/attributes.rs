//! Attribute indexes: for every field, an ordered map from value to the
//! bitmap of internal ids holding it. They answer equality, ranges, `IN`,
//! `CONTAINS`, `EXISTS` and `IS NULL` exactly, so a filter's match count is
//! known before the planner picks between an exact scan and a graph search.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use roaring::RoaringBitmap;

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

/// Range operators for [`AttributeIndex::range`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeOp {
    Lt,
    Le,
    Gt,
    Ge,
}

/// All field indexes of a collection.
#[derive(Debug, Default)]
pub(crate) struct AttributeIndex {
    fields: HashMap<String, FieldIndex>,
}

fn union<'a>(maps: impl Iterator<Item = &'a RoaringBitmap>) -> RoaringBitmap {
    let mut out = RoaringBitmap::new();
    for m in maps {
        out |= m;
    }
    out
}

impl AttributeIndex {
    /// Indexes `value` of `field` for node `iid`.
    pub(crate) fn insert(&mut self, iid: u32, field: &str, value: &Value) {
        let f = self.fields.entry(field.to_string()).or_default();
        f.present.insert(iid);
        f.values.entry(Key::of(value)).or_default().insert(iid);
        if let Value::Array(items) = value {
            for item in items {
                f.elements.entry(Key::of(item)).or_default().insert(iid);
            }
        }
    }

    /// Removes `value` of `field` for node `iid` (the inverse of `insert`).
    pub(crate) fn remove(&mut self, iid: u32, field: &str, value: &Value) {
        let Some(f) = self.fields.get_mut(field) else {
            return;
        };
        f.present.remove(iid);
        let key = Key::of(value);
        if let Some(b) = f.values.get_mut(&key) {
            b.remove(iid);
            if b.is_empty() {
                f.values.remove(&key);
            }
        }
        if let Value::Array(items) = value {
            for item in items {
                let k = Key::of(item);
                if let Some(b) = f.elements.get_mut(&k) {
                    b.remove(iid);
                    if b.is_empty() {
                        f.elements.remove(&k);
                    }
                }
            }
        }
        if f.present.is_empty() {
            self.fields.remove(field);
        }
    }

    /// Ids whose `field` equals `value` (`1 = 1.0`).
    pub(crate) fn eq(&self, field: &str, value: &Value) -> RoaringBitmap {
        self.fields
            .get(field)
            .and_then(|f| f.values.get(&Key::of(value)))
            .cloned()
            .unwrap_or_default()
    }

    /// Ids whose `field` holds a value of the same class as `value`
    /// (numbers, strings, ...): the ids a comparison with `value` can match.
    pub(crate) fn same_class(&self, field: &str, value: &Value) -> RoaringBitmap {
        let Some(f) = self.fields.get(field) else {
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
        let Some(f) = self.fields.get(field) else {
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
        let Some(f) = self.fields.get(field) else {
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

    /// Approximate heap bytes (bitmaps serialized size plus keys).
    pub(crate) fn memory_bytes(&self) -> usize {
        self.fields
            .values()
            .map(|f| {
                f.present.serialized_size()
                    + f.values
                        .values()
                        .chain(f.elements.values())
                        .map(|b| b.serialized_size() + 48)
                        .sum::<usize>()
            })
            .sum()
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
