// The Tidings chat page. Loaded after /socket.io/socket.io.js (which defines the
// global `io`), served both as /sercetTalk and as /static/chat.js.
//
// Everything that comes from the server or the user is put on the page as text
// (textContent, text nodes), never parsed as HTML.
//
// Own messages arrive by the `tail` event and are shown as "-> nick: text";
// everyone's messages arrive by `response`, where the one whose id is our own
// socket id is skipped (it already came by `tail`), and the rest are shown in
// red as "--> nick: text". Own and others are told apart by event and id only.
(function () {
  'use strict';

  /** The server refuses longer messages; counted in Unicode code points. */
  const MAX_LENGTH = 500;
  /** How long after the last keystroke we tell the others that we stopped typing. */
  const TYPING_IDLE_MS = 2000;
  /** While typing goes on, `typing: true` is repeated this often, so the others' expiry never fires. */
  const TYPING_REPEAT_MS = 3000;
  /** A typing indicator from someone else disappears on its own after this long. */
  const TYPING_EXPIRY_MS = 8000;

  const el = (id) => document.getElementById(id);
  const ui = {
    status: el('status'),
    online: el('online'),
    nickForm: el('nick-form'),
    nick: el('nick'),
    messages: el('messages'),
    typing: el('typing'),
    notice: el('notice'),
    talkForm: el('talk-form'),
    message: el('message'),
    clear: el('clear'),
  };

  const socket = io();
  // For tests and the curious: `chatSocket.io.engine.transport.name`.
  window.chatSocket = socket;

  /** Every socket id this page has had; history messages sent by any of them are our own. */
  const ownIds = new Set();
  /** Messages already on the page, so that the history replayed after a reconnection adds only new ones. */
  const shown = new Set();
  /** The nickname the user picked, sent again after a reconnection (the server forgets it). */
  let chosenNick = null;
  /** True while the nickname field holds an edit the user has not submitted yet. */
  let nickEdited = false;

  const codePoints = (s) => Array.from(s).length;
  const isMessage = (m) => m !== null && typeof m === 'object' && typeof m.id === 'string' && typeof m.text === 'string';
  const messageKey = (m) => `${m.id}\n${m.at}\n${m.text}`;

  // ---- rendering -------------------------------------------------------------

  function textSpan(className, text) {
    const span = document.createElement('span');
    span.className = className;
    span.textContent = text;
    return span;
  }

  /** Appends `li` to the list, following the bottom if the reader was already there. */
  function append(li) {
    const list = ui.messages;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 48;
    list.append(li);
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  function addMessage(msg, own, fromHistory) {
    const li = document.createElement('li');
    li.className = own ? 'own' : 'other';
    if (fromHistory) li.classList.add('history');
    li.dataset.id = msg.id;
    const arrow = textSpan('arrow', own ? '->' : '-->');
    arrow.setAttribute('aria-hidden', 'true');
    const nick = textSpan('nick', typeof msg.nick === 'string' ? msg.nick : '?');
    li.append(arrow, ' ', nick, ': ', textSpan('text', msg.text));
    if (Number.isFinite(msg.at)) {
      const when = new Date(msg.at);
      const time = document.createElement('time');
      time.dateTime = when.toISOString();
      time.textContent = when.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
      li.append(' ', time);
    }
    append(li);
  }

  function addEvent(kind, text) {
    const li = document.createElement('li');
    li.className = `event ${kind}`;
    li.textContent = text;
    append(li);
  }

  function showNotice(text, kind) {
    ui.notice.textContent = text;
    ui.notice.dataset.kind = kind || 'error';
  }

  function clearNotice() {
    ui.notice.textContent = '';
    delete ui.notice.dataset.kind;
  }

  function refusal(error) {
    if (error === 'empty') return 'Type a message first';
    if (error === 'too long') return `Messages are limited to ${MAX_LENGTH} characters`;
    return `The server refused the message (${String(error)})`;
  }

  function setStatus(state, text) {
    ui.status.dataset.state = state;
    ui.status.textContent = text;
  }

  function setNickField(nick) {
    if (!nickEdited) ui.nick.value = nick;
  }

  // ---- who is typing ---------------------------------------------------------

  /** Others who are typing: socket id -> { nick, timer }. */
  const typists = new Map();

  function renderTyping() {
    const names = Array.from(typists.values(), (t) => t.nick);
    let text = '';
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
    else if (names.length > 2) text = `${names.length} people are typing…`;
    ui.typing.textContent = text;
  }

  function forgetTypist(id) {
    const t = typists.get(id);
    if (!t) return;
    clearTimeout(t.timer);
    typists.delete(id);
    renderTyping();
  }

  // Our own typing state, as last told to the server.
  let typingSent = false;
  let typingSentAt = 0;
  let typingIdle = null;

  function noteTyping() {
    if (ui.message.value.trim() === '') {
      stopTyping();
      return;
    }
    const now = Date.now();
    if (socket.connected && (!typingSent || now - typingSentAt > TYPING_REPEAT_MS)) {
      socket.emit('typing', true);
      typingSent = true;
      typingSentAt = now;
    }
    clearTimeout(typingIdle);
    typingIdle = setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  function stopTyping() {
    clearTimeout(typingIdle);
    if (typingSent && socket.connected) socket.emit('typing', false);
    typingSent = false;
  }

  // ---- socket events ---------------------------------------------------------

  socket.on('connect', () => {
    ownIds.add(socket.id);
    setStatus('connected', 'Connected');
    if (chosenNick !== null) {
      socket.emit('nick', chosenNick, (reply) => {
        if (reply && reply.ok && typeof reply.nick === 'string') setNickField(reply.nick);
      });
    } else {
      // The server's default nickname, which it does not send to us.
      setNickField(`guest-${socket.id.slice(0, 4)}`);
    }
  });

  socket.on('disconnect', (reason) => {
    typingSent = false;
    for (const id of Array.from(typists.keys())) forgetTypist(id);
    if (socket.active) setStatus('reconnecting', 'Reconnecting…');
    else setStatus('disconnected', `Disconnected (${reason})`);
  });

  socket.on('connect_error', () => {
    if (socket.active) setStatus('reconnecting', 'Reconnecting…');
    else setStatus('disconnected', 'Could not connect');
  });

  socket.on('history', (list) => {
    if (!Array.isArray(list)) return;
    for (const msg of list) {
      if (!isMessage(msg)) continue;
      const key = messageKey(msg);
      if (shown.has(key)) continue;
      shown.add(key);
      addMessage(msg, ownIds.has(msg.id), true);
    }
  });

  socket.on('tail', (msg) => {
    if (!isMessage(msg)) return;
    shown.add(messageKey(msg));
    addMessage(msg, true, false);
  });

  socket.on('response', (msg) => {
    // Our own message reaches us twice: by `tail`, and here by the broadcast.
    if (!isMessage(msg) || msg.id === socket.id) return;
    shown.add(messageKey(msg));
    forgetTypist(msg.id);
    addMessage(msg, false, false);
  });

  socket.on('notice', (payload) => {
    showNotice(refusal(payload && payload.error));
  });

  socket.on('joined', (who) => {
    if (who && typeof who.nick === 'string') addEvent('joined', `${who.nick} joined`);
  });

  socket.on('left', (who) => {
    if (!who || typeof who.nick !== 'string') return;
    forgetTypist(who.id);
    addEvent('left', `${who.nick} left`);
  });

  socket.on('renamed', (who) => {
    if (!who || typeof who.nick !== 'string') return;
    if (who.id === socket.id) {
      addEvent('renamed', `You are now ${who.nick}`);
      setNickField(who.nick);
      return;
    }
    addEvent('renamed', `${String(who.previous)} is now ${who.nick}`);
    const t = typists.get(who.id);
    if (t) {
      t.nick = who.nick;
      renderTyping();
    }
  });

  socket.on('online', (count) => {
    if (!Number.isInteger(count)) return;
    ui.online.dataset.count = String(count);
    ui.online.textContent = `${count} online`;
  });

  socket.on('typing', (who) => {
    if (!who || typeof who.id !== 'string' || who.id === socket.id) return;
    if (who.typing !== true) {
      forgetTypist(who.id);
      return;
    }
    const known = typists.get(who.id);
    if (known) clearTimeout(known.timer);
    typists.set(who.id, {
      nick: typeof who.nick === 'string' ? who.nick : '?',
      timer: setTimeout(() => forgetTypist(who.id), TYPING_EXPIRY_MS),
    });
    renderTyping();
  });

  // ---- user input ------------------------------------------------------------

  ui.talkForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = ui.message.value.trim();
    if (text === '') {
      showNotice('Type a message first');
      ui.message.focus();
      return;
    }
    const length = codePoints(text);
    if (length > MAX_LENGTH) {
      showNotice(`Messages are limited to ${MAX_LENGTH} characters (this one has ${length})`);
      ui.message.focus();
      return;
    }
    stopTyping();
    socket.emit('talk', text, (reply) => {
      if (reply && reply.ok === false) showNotice(refusal(reply.error));
    });
    ui.message.value = '';
    clearNotice();
    ui.message.focus();
  });

  ui.message.addEventListener('input', () => {
    if (ui.notice.textContent) clearNotice();
    noteTyping();
  });
  ui.message.addEventListener('blur', stopTyping);

  ui.clear.addEventListener('click', () => {
    ui.messages.replaceChildren();
    showNotice('Messages cleared', 'info');
  });

  ui.nick.addEventListener('input', () => {
    nickEdited = true;
  });

  ui.nickForm.addEventListener('submit', (event) => {
    event.preventDefault();
    nickEdited = false;
    socket.emit('nick', ui.nick.value, (reply) => {
      if (!reply || !reply.ok || typeof reply.nick !== 'string') return;
      chosenNick = reply.nick;
      setNickField(reply.nick);
    });
  });
})();
