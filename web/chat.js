/* chat.js — the lsp-chat panel for the watch page.
 *
 * Mounts into <div id="chat" data-channel="NAME"> when the page has one.
 * Connects to /ws/<channel> on the page's own origin (lsp-edge forwards it
 * to lsp-chat; ws: or wss: as the page came), or window.LSP_CHAT_URL with
 * "{channel}" replaced, shows history, live messages, tips and the viewer
 * count; reading needs nothing, sending needs an account: sign up or
 * sign in right in the panel (lsp-api through web/session.js; the
 * session is shared with every page, see there), and the panel trades the
 * session for a chat token of this channel (POST /api/v1/chat/token, ten
 * minutes, kept in memory only) and trades it again a minute before it
 * expires, re-authenticating the open socket.  A token an operator made
 * (`lsp-ctl token NAME`) can still be pasted (sessionStorage, this tab
 * only).  Sign out ends the session everywhere.  Tips carry an
 * idempotency key that is reused when a tip is retried after a
 * reconnect, so a tip is never charged twice.  All text is inserted as
 * text, never as HTML. */
(function () {
  "use strict";
  var root = document.getElementById("chat");
  if (!root) return;
  // data-channel, else /watch/<channel> as the watch page is served, else ?channel=
  var parts = location.pathname.split("/").filter(Boolean);
  var channel = root.getAttribute("data-channel") ||
    (parts[0] === "watch" && parts[1] ? decodeURIComponent(parts[1]) : "") ||
    new URLSearchParams(location.search).get("channel") || "demo";
  var url = (window.LSP_CHAT_URL ||
    (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/{channel}")
    .replace("{channel}", encodeURIComponent(channel));

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  root.classList.add("lsp-chat");
  var head = el("div", "lsp-chat-head");
  var title = el("span", "lsp-chat-title", "Chat");
  var viewers = el("span", "lsp-chat-viewers", "");
  var status = el("span", "lsp-chat-status", "connecting…");
  head.append(title, viewers, status);
  var list = el("ol", "lsp-chat-list");
  list.setAttribute("aria-live", "polite");
  // sign in / sign up (lsp-api); an operator's token as the fallback
  var acct = el("form", "lsp-chat-account");
  acct.setAttribute("aria-label", "sign in to chat");
  var nameIn = el("input"), passIn = el("input"), ageIn = el("input", "lsp-chat-age");
  nameIn.autocomplete = "username"; nameIn.placeholder = "name"; nameIn.setAttribute("aria-label", "account name");
  nameIn.name = "username"; nameIn.spellcheck = false; nameIn.autocapitalize = "none";
  passIn.type = "password"; passIn.autocomplete = "current-password"; passIn.placeholder = "password";
  passIn.setAttribute("aria-label", "password"); passIn.name = "password";
  ageIn.type = "number"; ageIn.min = "0"; ageIn.max = "150"; ageIn.placeholder = "age";
  ageIn.setAttribute("aria-label", "your age (sign-up only)");
  var signinBtn = el("button", "lsp-chat-signin", "Sign in");
  var signupBtn = el("button", "lsp-chat-signup", "Sign up");
  signupBtn.type = "button";
  acct.append(nameIn, passIn, ageIn, signinBtn, signupBtn);
  var tokenForm = el("form", "lsp-chat-token");
  var tokenIn = el("input");
  tokenIn.type = "password"; tokenIn.placeholder = "or a token (lsp-ctl token NAME)"; tokenIn.autocomplete = "off";
  tokenIn.setAttribute("aria-label", "chat token");
  tokenForm.append(tokenIn, el("button", null, "Use token"));
  var signoutBtn = el("button", "lsp-chat-signout", "Sign out");
  signoutBtn.type = "button"; signoutBtn.hidden = true;
  var form = el("form", "lsp-chat-form");
  var input = el("input");
  input.placeholder = "Say something"; input.maxLength = 500;
  input.setAttribute("aria-label", "chat message");
  var tipIn = el("input", "lsp-chat-tipamt");
  tipIn.type = "number"; tipIn.min = "1"; tipIn.placeholder = "tip";
  tipIn.setAttribute("aria-label", "tip amount");
  var tipBtn = el("button", "lsp-chat-tipbtn", "Tip");
  tipBtn.type = "button";
  form.append(input, el("button", null, "Send"), tipIn, tipBtn);
  var note = el("div", "lsp-chat-note", "");
  note.setAttribute("role", "status");
  root.append(head, list, acct, tokenForm, form, signoutBtn, note);

  var ws = null, backoff = 500, me = null, pendingTips = {}, byId = {};
  var token = sessionStorage.getItem("lsp-chat-token") || ""; // an operator's token, pasted
  var chatExp = 0, refreshTimer = 0, fetching = null, retried = false;
  var S = window.lspSession || null;
  form.hidden = true;
  var chat = { refresh: function () { return fromSession(true); }, tokenExpires: function () { return chatExp; } };
  window.lspChat = chat; // for tests and tools

  function showSignedOut() {
    me = null; form.hidden = true; signoutBtn.hidden = true;
    acct.hidden = !S; tokenForm.hidden = false;
  }
  function showSignedIn() {
    acct.hidden = true; tokenForm.hidden = true; form.hidden = false; signoutBtn.hidden = !(S && S.get());
  }
  // Trade the session for this channel's chat token, authenticate the
  // socket with it, and plan the next trade a minute before it expires.
  function fromSession(force) {
    if (!S || !S.get()) return Promise.resolve(false);
    if (fetching && !force) return fetching;
    clearTimeout(refreshTimer);
    fetching = S.chatToken(channel).then(function (j) {
      fetching = null;
      token = j.token; chatExp = j.expires_at;
      var wait = Math.max(5000, j.expires_at * 1000 - Date.now() - 60000);
      refreshTimer = setTimeout(function () { fromSession(true); }, wait);
      send({ type: "auth", token: token }); // a fresh token on the open socket (or at hello)
      return true;
    }, function (e) {
      fetching = null;
      note.textContent = "chat: " + e.message;
      if (e.status === 401) showSignedOut();
      else refreshTimer = setTimeout(function () { fromSession(true); }, 15000); // lsp-api away: try again
      return false;
    });
    return fetching;
  }

  function scrollDown() {
    var atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    if (atEnd) list.scrollTop = list.scrollHeight;
  }
  function add(m) {
    if (m.id && byId[m.id]) return;
    var li = el("li", "lsp-chat-" + m.type);
    if (m.type === "tip") {
      li.append(el("b", "lsp-chat-user", m.user), el("span", "lsp-chat-amount", " tipped " + m.amount + " "));
      if (m.text) li.append(el("span", "lsp-chat-text", m.text));
    } else {
      li.append(el("b", "lsp-chat-user" + (m.role && m.role !== "viewer" ? " lsp-chat-" + m.role : ""), m.user),
        el("span", "lsp-chat-text", " " + m.text));
    }
    if (m.ts) li.title = new Date(m.ts).toLocaleTimeString();
    if (m.id) byId[m.id] = li;
    list.append(li);
    while (list.children.length > 300) list.removeChild(list.firstChild);
    scrollDown();
  }
  function system(text) {
    list.append(el("li", "lsp-chat-system", text));
    scrollDown();
  }
  function send(o) {
    if (ws && ws.readyState === 1) { ws.send(JSON.stringify(o)); return true; }
    return false;
  }
  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var a = new Uint8Array(16); crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function onMessage(ev) {
    var m;
    try { m = JSON.parse(ev.data); } catch (e) { return; }
    switch (m.type) {
    case "hello":
      status.textContent = "";
      if (S && S.get() && (!token || chatExp * 1000 - Date.now() < 60000)) fromSession(true);
      else if (token) send({ type: "auth", token: token });
      break;
    case "history":
      list.textContent = ""; byId = {};
      m.messages.forEach(add);
      break;
    case "say": case "tip": add(m); break;
    case "presence":
      viewers.textContent = m.viewers + (m.viewers === 1 ? " viewer" : " viewers");
      break;
    case "auth_ok":
      me = m.user; retried = false; showSignedIn(); note.textContent = "signed in as " + me;
      Object.keys(pendingTips).forEach(function (k) { send(pendingTips[k]); }); // retry, same key
      break;
    case "tip_ok":
      delete pendingTips[m.key];
      note.textContent = (m.replay ? "tip already sent" : "tip sent") + " — balance " + m.balance;
      break;
    case "mod":
      if (m.action === "delete" && byId[m.id]) { byId[m.id].remove(); delete byId[m.id]; }
      else if (m.action === "ban" || m.action === "timeout") system(m.user + " was " + (m.action === "ban" ? "banned" : "timed out"));
      else if (m.action === "slow") system(m.seconds ? "slow mode: " + m.seconds + " s" : "slow mode off");
      break;
    case "error":
      if (m.code === "bad_token" || m.code === "token_expired" || m.code === "wrong_channel" ||
          m.code === "not_a_chat_token") {
        sessionStorage.removeItem("lsp-chat-token"); token = ""; chatExp = 0;
        if (S && S.get() && !retried) { retried = true; fromSession(true); } // once: a new token from the session
        else showSignedOut();
      }
      if (m.code === "insufficient_funds" && m.ref) delete pendingTips[m.ref];
      note.textContent = m.message;
      break;
    }
  }
  function connect() {
    status.textContent = "connecting…";
    ws = new WebSocket(url);
    ws.onopen = function () { backoff = 500; };
    ws.onmessage = onMessage;
    ws.onclose = function (ev) {
      status.textContent = ev.code === 1008 ? "disconnected: " + (ev.reason || "policy") : "reconnecting…";
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 15000);
    };
  }
  function account(up) {
    var n = nameIn.value.trim(), pw = passIn.value, age = parseInt(ageIn.value, 10);
    if (!n || !pw) { note.textContent = "name and password, please"; return; }
    if (up && !(age >= 0)) { note.textContent = "sign-up asks your age (in years)"; ageIn.focus(); return; }
    signinBtn.disabled = signupBtn.disabled = true;
    note.textContent = up ? "signing up…" : "signing in…";
    (up ? S.signup(n, pw, age, false) : S.signin(n, pw)).then(function () {
      passIn.value = ""; sessionStorage.removeItem("lsp-chat-token");
      return fromSession(true);
    }, function (err) {
      note.textContent = (up ? "sign-up: " : "sign-in: ") + err.message;
    }).then(function () { signinBtn.disabled = signupBtn.disabled = false; });
  }
  acct.addEventListener("submit", function (e) { e.preventDefault(); account(false); });
  signupBtn.addEventListener("click", function () { account(true); });
  signoutBtn.addEventListener("click", function () {
    clearTimeout(refreshTimer); token = ""; chatExp = 0;
    sessionStorage.removeItem("lsp-chat-token");
    S.signout().then(function () {
      note.textContent = "signed out";
      if (ws) ws.close(); // a fresh, anonymous socket (the reconnect below)
    });
    showSignedOut();
  });
  if (S) S.onchange(function (sess) { // signed in or out in another tab
    if (!sess && me) { clearTimeout(refreshTimer); token = ""; chatExp = 0; showSignedOut(); if (ws) ws.close(); }
    else if (sess && !me) fromSession(true);
  });
  showSignedOut();
  tokenForm.addEventListener("submit", function (e) {
    e.preventDefault();
    token = tokenIn.value.trim(); tokenIn.value = "";
    if (!token) return;
    sessionStorage.setItem("lsp-chat-token", token);
    send({ type: "auth", token: token });
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var t = input.value.trim();
    if (t && send({ type: "say", text: t })) input.value = "";
  });
  tipBtn.addEventListener("click", function () {
    var n = parseInt(tipIn.value, 10);
    if (!(n > 0)) { note.textContent = "enter a whole amount"; return; }
    var key = newKey();
    var msg = { type: "tip", amount: n, key: key, text: input.value.trim().slice(0, 500), ref: key.slice(0, 32) };
    pendingTips[key] = msg; // kept until tip_ok: resent with the same key after a reconnect
    send(msg);
    tipIn.value = "";
  });
  connect();
})();
