/* session.js — the signed-in lsp-api session the pages share (the watch
 * page's chat panel and the creator studio): sign-up, sign-in, sign-out,
 * authorised calls to /api/v1/, and the short-lived tokens a session is
 * exchanged for (chat: POST /api/v1/chat/token, one channel, 600 s; WHIP:
 * POST /api/v1/channels/NAME/publish-token, 120 s).
 *
 * Where the session lives: localStorage ("lsp-session": token, user,
 * expiry), so one sign-in holds on every channel's watch page and in the
 * studio, across tabs and restarts, until it expires (lsp-api: 7 days) or
 * the person signs out (which also ends it on the server).  sessionStorage
 * would sign a viewer out of every new tab, which is not what "sign in"
 * means to them.  The price is that script on this origin could read it:
 * the pages load no third-party script and insert all user text as text,
 * never as HTML.  Chat and publish tokens are kept in memory only.
 *
 * URLs are relative (/api/v1/ on the page's own origin: lsp-edge, the
 * front door, forwards it to lsp-api); window.LSP_API_URL names another
 * origin for a deployment that splits them.  Exposes window.lspSession:
 *   get()                     the session {token, user:{name,role,kid}, expires_at} or null
 *   signin(name, password)    → session (throws Error(message) when refused)
 *   signup(name, password, age, creator) → session
 *   signout()                 ends it here and on the server
 *   api(method, path, body)   fetch /api/v1<path> with the session; → JSON (throws on !ok, err.status set)
 *   chatToken(channel)        → {token, role, channel, expires_at}
 *   publishToken(channel)     → {token, channel, expires_at}
 *   onchange(fn)              fn(session or null) after any change, in this tab or another */
(function () {
  "use strict";
  var KEY = "lsp-session";
  var API = (window.LSP_API_URL || "").replace(/\/+$/, "");
  var listeners = [];

  function read() {
    var s;
    try { s = JSON.parse(localStorage.getItem(KEY) || "null"); } catch (e) { s = null; }
    if (!s || typeof s.token !== "string" || !s.user || !s.user.name) return null;
    if (s.expires_at && s.expires_at * 1000 <= Date.now()) { localStorage.removeItem(KEY); return null; }
    return s;
  }
  function notify() {
    var s = read();
    listeners.slice().forEach(function (fn) { try { fn(s); } catch (e) { /* a listener's own problem */ } });
  }
  function save(j) {
    var s = { token: j.token, user: j.user, expires_at: j.expires_at };
    localStorage.setItem(KEY, JSON.stringify(s));
    notify();
    return s;
  }
  function clear() {
    localStorage.removeItem(KEY);
    notify();
  }

  function call(method, path, body, token) {
    var h = {};
    if (token) h.Authorization = "Bearer " + token;
    if (body) h["Content-Type"] = "application/json";
    return fetch(API + "/api/v1" + path, {
      method: method, headers: h, body: body ? JSON.stringify(body) : undefined, credentials: "omit",
    }).then(function (r) {
      return r.text().then(function (t) {
        var j = null;
        try { j = t ? JSON.parse(t) : null; } catch (e) { j = null; }
        if (!r.ok) {
          var err = new Error((j && (j.message || j.error)) || ("HTTP " + r.status));
          err.status = r.status; err.code = j && j.error;
          if (r.status === 401 && token) clear(); // the session ended (expired, signed out elsewhere)
          throw err;
        }
        return j;
      });
    });
  }

  var session = {
    get: read,
    signin: function (name, password) {
      return call("POST", "/signin", { name: name, password: password }).then(save);
    },
    signup: function (name, password, age, creator) {
      var b = { name: name, password: password, age: age };
      if (creator) b.creator = true;
      return call("POST", "/signup", b).then(save);
    },
    signout: function () {
      var s = read();
      clear();
      return s ? call("POST", "/signout", null, s.token).catch(function () {}) : Promise.resolve();
    },
    api: function (method, path, body) {
      var s = read();
      return call(method, path, body, s ? s.token : "");
    },
    chatToken: function (channel) { return session.api("POST", "/chat/token", { channel: channel }); },
    publishToken: function (channel) {
      return session.api("POST", "/channels/" + encodeURIComponent(channel) + "/publish-token");
    },
    onchange: function (fn) { listeners.push(fn); },
  };
  addEventListener("storage", function (ev) { if (ev.key === KEY || ev.key === null) notify(); });
  window.lspSession = session;
})();
