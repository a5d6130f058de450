//! A node's attributes in memory: `(name, value)` pairs sorted by name, in
//! one allocation. A `BTreeMap` allocates a whole leaf (eleven slots, about
//! 630 bytes for `String` → `Value`) for even one attribute, so a loaded
//! collection of 399k nodes with four attributes held some 250 MB in leaves
//! alone, and decoding them was the largest part of a load.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::value::Value;

/// A node's attributes, sorted by name, each name once. Stored in the same
/// encoding as a `BTreeMap<String, Value>` (a map), so records written as
/// maps read back unchanged.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Attrs(Vec<(String, Value)>);

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
        self.0.iter().map(|(k, _)| k)
    }

    /// Number of attributes.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The attributes as a map (to change them).
    pub(crate) fn to_map(&self) -> BTreeMap<String, Value> {
        self.0.iter().cloned().collect()
    }
}

impl From<BTreeMap<String, Value>> for Attrs {
    fn from(map: BTreeMap<String, Value>) -> Self {
        Attrs(map.into_iter().collect())
    }
}

impl Serialize for Attrs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
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
                let mut pairs: Vec<(String, Value)> =
                    Vec::with_capacity(access.size_hint().unwrap_or(0).min(1024));
                while let Some(pair) = access.next_entry()? {
                    pairs.push(pair);
                }
                // Written from a sorted map, so sorted already; anything else
                // is ordered as a map would (the last of equal names wins).
                if pairs.windows(2).all(|w| w[0].0 < w[1].0) {
                    Ok(Attrs(pairs))
                } else {
                    Ok(Attrs::from(pairs.into_iter().collect::<BTreeMap<_, _>>()))
                }
            }
        }

        d.deserialize_map(AttrsVisitor)
    }
}

impl<'a> IntoIterator for &'a Attrs {
    type Item = (&'a String, &'a Value);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, Value)>,
        fn(&'a (String, Value)) -> (&'a String, &'a Value),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
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
