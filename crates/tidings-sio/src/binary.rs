//! Placeholder objects: how binary values appear inside a packet's JSON data (spec §2.3).

use serde_json::{Map, Value};

use crate::DecodeError;

/// The key that marks an object as a placeholder.
const MARKER: &str = "_placeholder";
/// The key holding the attachment index.
const NUM: &str = "num";
/// The largest `num` accepted as a float: JavaScript integers are exact up to here.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// Builds the placeholder `{"_placeholder":true,"num":num}` that stands for
/// attachment `num`.
///
/// The key order is the reference's (`_placeholder`, then `num`): byte-exact
/// echo tests depend on it.
///
/// # Examples
///
/// ```
/// let value = tidings_sio::placeholder(1);
/// assert_eq!(value.to_string(), r#"{"_placeholder":true,"num":1}"#);
/// ```
#[must_use]
pub fn placeholder(num: usize) -> Value {
    let mut map = Map::with_capacity(2);
    map.insert(MARKER.to_owned(), Value::Bool(true));
    map.insert(NUM.to_owned(), Value::from(num));
    Value::Object(map)
}

/// Returns the attachment index if `value` is a placeholder object.
///
/// A placeholder is any object whose `_placeholder` is `true` and whose `num`
/// is a non-negative integer; this is how the layer above finds the binary
/// values in decoded data. Both decoders hand out placeholders only in the
/// canonical form of [`placeholder`], with `num` in range.
///
/// # Examples
///
/// ```
/// use tidings_sio::{placeholder, placeholder_index};
///
/// assert_eq!(placeholder_index(&placeholder(3)), Some(3));
/// assert_eq!(placeholder_index(&serde_json::json!({"num": 3})), None);
/// ```
#[must_use]
pub fn placeholder_index(value: &Value) -> Option<usize> {
    match value {
        Value::Object(map) => map_index(map),
        _ => None,
    }
}

/// [`placeholder_index`] for an object already taken apart.
pub(crate) fn map_index(map: &Map<String, Value>) -> Option<usize> {
    if is_marked(map) { index_of(map) } else { None }
}

/// True when the object claims to be a placeholder, whatever its `num`.
///
/// The reference decoder treats every object with `_placeholder === true` as
/// a placeholder and then checks `num`; we do the same.
pub(crate) fn is_marked(map: &Map<String, Value>) -> bool {
    matches!(map.get(MARKER), Some(Value::Bool(true)))
}

/// The `num` of a marked object, if it is a usable index.
fn index_of(map: &Map<String, Value>) -> Option<usize> {
    let num = map.get(NUM)?;
    if let Some(n) = num.as_u64() {
        return usize::try_from(n).ok();
    }
    // `JSON.stringify` never writes `1.0`, but JavaScript accepts it as 1.
    let f = num.as_f64()?;
    if (0.0..=MAX_SAFE_INTEGER).contains(&f) && f.fract() == 0.0 {
        // Exact: checked above to be a non-negative integer within 2^53.
        return usize::try_from(f as u64).ok();
    }
    None
}

/// Checks every placeholder in `value` against `attachments` and rewrites it
/// into the canonical form of [`placeholder`].
///
/// A text packet without attachments must not contain placeholders at all:
/// the reference would pass such an object through as plain data, but the
/// layer above would then take it for a binary value that does not exist.
///
/// Recursion depth is bounded by the decoders' nesting limit (128).
pub(crate) fn normalize(value: &mut Value, attachments: usize) -> Result<(), DecodeError> {
    match value {
        Value::Array(items) => items
            .iter_mut()
            .try_for_each(|item| normalize(item, attachments)),
        Value::Object(map) if is_marked(map) => match index_of(map) {
            Some(num) if num < attachments => {
                *value = placeholder(num);
                Ok(())
            }
            _ => Err(DecodeError::InvalidPlaceholder),
        },
        Value::Object(map) => map
            .values_mut()
            .try_for_each(|item| normalize(item, attachments)),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn placeholder_keeps_reference_key_order() {
        assert_eq!(
            placeholder(0).to_string(),
            r#"{"_placeholder":true,"num":0}"#
        );
    }

    #[test]
    fn normalize_rewrites_float_num_and_drops_extra_keys() {
        let mut value = json!(["a", {"num": 1.0, "_placeholder": true, "x": 1}]);
        normalize(&mut value, 2).unwrap();
        assert_eq!(value, json!(["a", placeholder(1)]));
    }

    #[test]
    fn normalize_rejects_out_of_range_fractional_and_negative_num() {
        for bad in [json!(2), json!(0.5), json!(-1), json!("0"), Value::Null] {
            let mut value = json!({"k": [{"_placeholder": true, "num": bad}]});
            assert_eq!(
                normalize(&mut value, 2),
                Err(DecodeError::InvalidPlaceholder)
            );
        }
    }

    #[test]
    fn normalize_ignores_objects_not_marked_true() {
        let mut value = json!([{"_placeholder": "true", "num": 9}, {"_placeholder": false}]);
        let before = value.clone();
        normalize(&mut value, 0).unwrap();
        assert_eq!(value, before);
    }

    #[test]
    fn placeholder_index_needs_the_marker() {
        assert_eq!(
            placeholder_index(&json!({"_placeholder": true, "num": 4})),
            Some(4)
        );
        assert_eq!(placeholder_index(&json!({"_placeholder": true})), None);
        assert_eq!(placeholder_index(&json!([0])), None);
    }
}
