//! A node's attributes in memory: `(name, value)` pairs sorted by name, in
//! one allocation. A `BTreeMap` allocates a whole leaf (eleven slots, about
//! 630 bytes for `String` → `Value`) for even one attribute, so a loaded
//! collection of 399k nodes with four attributes held some 250 MB in leaves
//! alone, and decoding them was the largest part of a load. Names are shared
//! (`Arc`): the nodes decoded from one chunk point to one copy of each name.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use serde::de::{DeserializeSeed, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::value::Value;

/// An attribute name, shared by the nodes that have it.
type Name = Arc<String>;

/// A node's attributes, sorted by name, each name once. Stored in the same
/// encoding as a `BTreeMap<String, Value>` (a map), so records written as
/// maps read back unchanged.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Attrs(Vec<(Name, Value)>);

impl Attrs {
    /// The value of attribute `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&Value> {
        self.0
            .binary_search_by(|(k, _)| k.as_str().cmp(name))
            .ok()
            .map(|i| &self.0[i].1)
    }

    /// The attribute names, in order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(k, _)| &**k)
    }

    /// Number of attributes.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The attributes as a map (to change them).
    pub(crate) fn to_map(&self) -> BTreeMap<String, Value> {
        self.0
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }
}

impl From<BTreeMap<String, Value>> for Attrs {
    fn from(map: BTreeMap<String, Value>) -> Self {
        Attrs(map.into_iter().map(|(k, v)| (Arc::new(k), v)).collect())
    }
}

thread_local! {
    /// The names met so far by `shared_names` on this thread, if running.
    static NAMES: RefCell<Option<HashMap<String, Name>>> = const { RefCell::new(None) };
}

/// Runs `decode` so that the attributes it decodes on this thread share
/// their names (one allocation per distinct name instead of one per node).
/// Scoped to one call, so the names of a collection are dropped with it.
pub(crate) fn shared_names<R>(decode: impl FnOnce() -> R) -> R {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            NAMES.with(|n| *n.borrow_mut() = None);
        }
    }
    NAMES.with(|n| *n.borrow_mut() = Some(HashMap::new()));
    let _reset = Reset;
    decode()
}

/// `name` as a [`Name`], shared when inside `shared_names`.
fn name(name: &str) -> Name {
    NAMES.with(|n| match n.borrow_mut().as_mut() {
        Some(names) => names
            .entry(name.to_string())
            .or_insert_with(|| Arc::new(name.to_string()))
            .clone(),
        None => Arc::new(name.to_string()),
    })
}

impl Serialize for Attrs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k.as_str(), v)?;
        }
        map.end()
    }
}

/// Decodes an attribute name straight into a [`Name`].
struct NameSeed;

impl<'de> DeserializeSeed<'de> for NameSeed {
    type Value = Name;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Name, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for NameSeed {
    type Value = Name;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an attribute name")
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Name, E> {
        Ok(name(s))
    }
}

impl<'de> Deserialize<'de> for Attrs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct AttrsVisitor;

        impl<'de> Visitor<'de> for AttrsVisitor {
            type Value = Attrs;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of attributes")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Attrs, A::Error> {
                let mut pairs: Vec<(Name, Value)> =
                    Vec::with_capacity(access.size_hint().unwrap_or(0).min(1024));
                while let Some(k) = access.next_key_seed(NameSeed)? {
                    pairs.push((k, access.next_value()?));
                }
                // Written from a sorted map, so sorted already; anything else
                // is ordered as a map would (the last of equal names wins).
                if pairs.windows(2).all(|w| w[0].0 < w[1].0) {
                    Ok(Attrs(pairs))
                } else {
                    Ok(Attrs(
                        pairs
                            .into_iter()
                            .collect::<BTreeMap<_, _>>()
                            .into_iter()
                            .collect(),
                    ))
                }
            }
        }

        d.deserialize_map(AttrsVisitor)
    }
}

impl<'a> IntoIterator for &'a Attrs {
    type Item = (&'a String, &'a Value);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Name, Value)>,
        fn(&'a (Name, Value)) -> (&'a String, &'a Value),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (&**k, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> BTreeMap<String, Value> {
        BTreeMap::from([
            ("b".to_string(), Value::Int(2)),
            ("a".to_string(), Value::Str("x".into())),
            ("c".to_string(), Value::Null),
        ])
    }

    /// Attributes encode exactly as the map they replace, both ways, and
    /// answer lookups like it.
    #[test]
    fn same_encoding_and_lookups_as_a_map() {
        let m = map();
        let a = Attrs::from(m.clone());
        let bytes = postcard::to_stdvec(&a).unwrap();
        assert_eq!(bytes, postcard::to_stdvec(&m).unwrap());
        assert_eq!(postcard::from_bytes::<Attrs>(&bytes).unwrap(), a);
        assert_eq!(a.to_map(), m);
        assert_eq!(a.get("b"), Some(&Value::Int(2)));
        assert_eq!(a.get("z"), None);
        assert_eq!(a.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!((&a).into_iter().count(), a.len());
    }

    /// Inside `shared_names`, equal names decoded for different nodes are
    /// one allocation; outside it, each is its own.
    #[test]
    fn names_are_shared_only_inside_the_scope() {
        let bytes = postcard::to_stdvec(&vec![map(), map()]).unwrap();
        let shared: Vec<Attrs> = shared_names(|| postcard::from_bytes(&bytes).unwrap());
        let own: Vec<Attrs> = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(shared, own);
        assert!(Arc::ptr_eq(&shared[0].0[1].0, &shared[1].0[1].0));
        assert!(!Arc::ptr_eq(&own[0].0[1].0, &own[1].0[1].0));
    }

    /// Unsorted or repeated names (not written by PQL, but possible in a
    /// damaged or hand-made record) read back as a map would read them.
    #[test]
    fn unsorted_input_reads_as_a_map() {
        let pairs = [
            ("b".to_string(), Value::Int(1)),
            ("a".to_string(), Value::Int(2)),
            ("b".to_string(), Value::Int(3)),
        ];
        // A slice encodes as a sequence: its length, then the pairs, which
        // is how a map of the same pairs encodes.
        let bytes = postcard::to_stdvec(&pairs[..]).unwrap();
        let as_map: BTreeMap<String, Value> = postcard::from_bytes(&bytes).unwrap();
        let as_attrs: Attrs = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(as_attrs, Attrs::from(as_map));
        assert_eq!(as_attrs.get("b"), Some(&Value::Int(3)));
    }
}
