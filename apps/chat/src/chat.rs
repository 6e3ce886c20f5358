//! The chat room on namespace `/`: what the server does with each event.
//!
//! Everything a peer controls is bounded: a message has at most [`TEXT_LIMIT`]
//! characters, a nickname [`NICK_LIMIT`], and the room keeps [`HISTORY_LIMIT`] messages.
//! ("Characters" are Unicode scalar values, `str::chars`.)

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{Value, json};
use tidings::{Event, Server, Socket};

/// The most characters in a message, after trimming.
pub const TEXT_LIMIT: usize = 500;
/// The most characters kept of a nickname.
pub const NICK_LIMIT: usize = 32;
/// How many recent messages the room keeps for newcomers.
pub const HISTORY_LIMIT: usize = 50;

/// An accepted message, as every client receives it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Message {
    /// The sender's Socket.IO socket id.
    pub id: String,
    /// The sender's nickname at the time.
    pub nick: String,
    /// The trimmed text.
    pub text: String,
    /// The server's time, in milliseconds since the Unix epoch.
    pub at: u64,
}

impl Message {
    /// The message `socket` sends with `text`, or why it is refused: `"empty"` or
    /// `"too long"`.
    ///
    /// # Errors
    /// The refusal, as the client receives it.
    pub fn new(socket: &Socket, text: &str) -> Result<Self, &'static str> {
        let text = text.trim();
        if text.is_empty() {
            return Err("empty");
        }
        if text.chars().nth(TEXT_LIMIT).is_some() {
            return Err("too long");
        }
        Ok(Self {
            id: socket.id().to_string(),
            nick: nick(socket),
            text: text.to_owned(),
            at: now_ms(),
        })
    }
}

/// The room: the recent messages, shared by every socket. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Chat {
    history: Arc<Mutex<VecDeque<Message>>>,
}

/// Mounts a new chat room on `io`'s main namespace and returns it.
pub fn mount(io: &Server) -> Chat {
    let chat = Chat::default();
    let room = chat.clone();
    io.ns("/", move |socket| room.clone().join(socket));
    chat
}

impl Chat {
    /// The recent messages, oldest first.
    pub fn history(&self) -> Vec<Message> {
        self.messages().iter().cloned().collect()
    }

    /// A socket arrives: its handlers, then `history` to it, `joined` to the others and
    /// `online` to all.
    async fn join(self, socket: Socket) {
        tracing::debug!(id = %socket.id(), transport = ?socket.transport(), "connected");
        socket.set_data(Value::from(guest(&socket)));
        let chat = self.clone();
        socket.on("talk", move |socket, event| {
            chat.clone().talk(socket, event)
        });
        socket.on("nick", rename);
        socket.on("typing", typing);
        socket.on_disconnect(|socket, reason| async move {
            tracing::debug!(id = %socket.id(), %reason, "disconnected");
            let io = socket.namespace();
            let _ = io.emit("left", who(&socket));
            let _ = io.emit("online", &io.sockets().len());
        });
        let _ = socket.emit("history", &*self.messages());
        let _ = socket.broadcast().emit("joined", who(&socket));
        let io = socket.namespace();
        let _ = io.emit("online", &io.sockets().len());
    }

    /// `talk`: the message goes to everyone as `response`, and back to its sender as `tail`.
    async fn talk(self, socket: Socket, event: Event) {
        let text = event.args().get::<String>(0).unwrap_or_default();
        let msg = match Message::new(&socket, &text) {
            Ok(msg) => msg,
            Err(error) => return refuse(&socket, &event, error),
        };
        self.remember(msg.clone());
        let _ = socket.namespace().emit("response", &msg);
        let _ = socket.emit("tail", &msg);
        let _ = event.ack(json!({ "ok": true }));
    }

    /// Appends to the history, forgetting the oldest message past [`HISTORY_LIMIT`].
    fn remember(&self, msg: Message) {
        let mut history = self.messages();
        if history.len() == HISTORY_LIMIT {
            history.pop_front();
        }
        history.push_back(msg);
    }

    fn messages(&self) -> MutexGuard<'_, VecDeque<Message>> {
        // The history stays consistent between statements, so a panic elsewhere cannot
        // leave it half-written.
        self.history.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A refused message: the ack `{ok: false, error}` if the client asked for one, else
/// `notice {error}`. Nothing is stored or broadcast.
fn refuse(socket: &Socket, event: &Event, error: &str) {
    let _ = if event.wants_ack() {
        event.ack(json!({ "ok": false, "error": error }))
    } else {
        socket.emit("notice", json!({ "error": error }))
    };
}

/// `nick`: stores the cleaned name, acks `{ok, nick}` and tells everyone `renamed`.
async fn rename(socket: Socket, event: Event) {
    let previous = nick(&socket);
    let nick = clean_nick(&event.args().get::<String>(0).unwrap_or_default());
    socket.set_data(Value::from(nick.as_str()));
    let _ = event.ack(json!({ "ok": true, "nick": nick }));
    let renamed = json!({ "id": socket.id().as_str(), "nick": nick, "previous": previous });
    let _ = socket.namespace().emit("renamed", renamed);
}

/// `typing`: tells the others whether this socket is typing (only a JSON `true` is yes).
async fn typing(socket: Socket, event: Event) {
    let typing = event.args().values().first() == Some(&Value::Bool(true));
    let state = json!({ "id": socket.id().as_str(), "nick": nick(&socket), "typing": typing });
    let _ = socket.broadcast().emit("typing", state);
}

/// Trims `name`, keeps its first [`NICK_LIMIT`] characters and trims again; empty
/// becomes `"anonymous"`.
pub fn clean_nick(name: &str) -> String {
    let cut: String = name.trim().chars().take(NICK_LIMIT).collect();
    match cut.trim() {
        "" => "anonymous".to_owned(),
        nick => nick.to_owned(),
    }
}

/// `{id, nick}` of a socket, for `joined` and `left`.
fn who(socket: &Socket) -> Value {
    json!({ "id": socket.id().as_str(), "nick": nick(socket) })
}

/// The socket's nickname, kept in its data.
fn nick(socket: &Socket) -> String {
    match socket.data() {
        Value::String(nick) => nick,
        _ => guest(socket),
    }
}

/// The default nickname: `guest-` and the first 4 characters of the socket id.
fn guest(socket: &Socket) -> String {
    let id: String = socket.id().as_str().chars().take(4).collect();
    format!("guest-{id}")
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nicknames_are_trimmed_cut_and_never_empty() {
        assert_eq!(clean_nick("  Ada  "), "Ada");
        assert_eq!(clean_nick(" \t\n"), "anonymous");
        assert_eq!(clean_nick(&"é".repeat(40)), "é".repeat(NICK_LIMIT));
        // Cut at 32 characters, then trimmed again.
        let long = format!("{} tail", "a".repeat(NICK_LIMIT - 1));
        assert_eq!(clean_nick(&long), "a".repeat(NICK_LIMIT - 1));
    }
}
