//! Arguments of events and acknowledgements: JSON values plus binary attachments.

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::EmitError;

/// The arguments of an event or an acknowledgement.
///
/// Each argument is a JSON value. Binary data travels as attachments; inside the values a
/// binary argument (or a binary field nested anywhere) is a placeholder
/// `{"_placeholder":true,"num":N}` pointing at attachment `N`, exactly as on the wire.
///
/// ```
/// use tidings::Args;
///
/// let args = Args::new().arg(&"hello").arg(&42).bytes(vec![1u8, 2, 3]);
/// assert_eq!(args.len(), 3);
/// assert_eq!(args.get::<String>(0).unwrap(), "hello");
/// assert_eq!(args.binary(2).unwrap().as_ref(), &[1, 2, 3]);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Args {
    values: Vec<Value>,
    attachments: Vec<Bytes>,
    /// The first serialization failure, reported when the arguments are emitted.
    error: Option<String>,
}

impl Args {
    /// No arguments.
    pub fn new() -> Self {
        Self::default()
    }

    /// Arguments taken from the wire: `values` may hold placeholders into `attachments`.
    pub fn from_parts(values: Vec<Value>, attachments: Vec<Bytes>) -> Self {
        Self {
            values,
            attachments,
            error: None,
        }
    }

    /// Appends an argument serialized to JSON. A failure is reported by the emit.
    #[must_use]
    pub fn arg<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        match serde_json::to_value(value) {
            Ok(value) => self.values.push(value),
            Err(error) => {
                self.error.get_or_insert_with(|| error.to_string());
                self.values.push(Value::Null);
            }
        }
        self
    }

    /// Appends a JSON value as is (placeholders in it must point at this payload's
    /// attachments; see [`Args::attach`]).
    #[must_use]
    pub fn value(mut self, value: Value) -> Self {
        self.values.push(value);
        self
    }

    /// Appends a binary argument.
    #[must_use]
    pub fn bytes(mut self, data: impl Into<Bytes>) -> Self {
        let placeholder = self.attach(data);
        self.values.push(placeholder);
        self
    }

    /// Adds an attachment and returns the placeholder that stands for it, to nest binary
    /// data inside a JSON argument.
    pub fn attach(&mut self, data: impl Into<Bytes>) -> Value {
        let placeholder = tidings_sio::placeholder(self.attachments.len());
        self.attachments.push(data.into());
        placeholder
    }

    /// How many arguments there are.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there is no argument.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The arguments as JSON values (binary as placeholders).
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// The binary attachments, in placeholder order.
    pub fn attachments(&self) -> &[Bytes] {
        &self.attachments
    }

    /// Argument `index` decoded into `T`.
    ///
    /// # Errors
    /// When the argument is missing or does not fit `T`.
    pub fn get<T: DeserializeOwned>(&self, index: usize) -> Result<T, serde_json::Error> {
        let value = self.values.get(index).cloned().unwrap_or(Value::Null);
        serde_json::from_value(value)
    }

    /// All arguments decoded as one `T`, usually a tuple: `args.decode::<(String, u32)>()`.
    ///
    /// # Errors
    /// When the arguments do not fit `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_value(Value::Array(self.values.clone()))
    }

    /// The bytes of argument `index` when it is a binary argument.
    pub fn binary(&self, index: usize) -> Option<&Bytes> {
        let num = tidings_sio::placeholder_index(self.values.get(index)?)?;
        self.attachments.get(num)
    }

    /// Takes the values and attachments apart.
    pub fn into_parts(self) -> (Vec<Value>, Vec<Bytes>) {
        (self.values, self.attachments)
    }

    /// The first serialization error, if any argument failed.
    pub(crate) fn check(&self) -> Result<(), EmitError> {
        match &self.error {
            Some(message) => Err(EmitError::Serialize(serde::ser::Error::custom(message))),
            None => Ok(()),
        }
    }
}

impl<T: Serialize> From<&T> for Args {
    fn from(value: &T) -> Self {
        Self::new().arg(value)
    }
}

impl From<()> for Args {
    fn from((): ()) -> Self {
        Self::new()
    }
}

impl From<Value> for Args {
    /// One argument.
    fn from(value: Value) -> Self {
        Self::new().value(value)
    }
}
