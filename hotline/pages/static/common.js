// What the controller's web pages share (the wallboard, the unit portal): vanilla JS, no build
// step, no library, loaded before the page's own script. Everything is on one global, Hotline:
// $ and el (elements; values always written as text or attributes, never parsed as HTML), api
// (the one JSON call to the API) and session (log in, who am I, log out).
"use strict";

const Hotline = (() => {
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined) continue;
      if (k === "class") node.className = v; else node.setAttribute(k, v);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  let unauthorized = null;   // the page's session: a 401 means the token expired or was revoked

  async function api(method, path, body) {
    const response = await fetch(path, {method, credentials: "same-origin",
      headers: body === undefined ? {} : {"Content-Type": "application/json"},
      body: body === undefined ? undefined : JSON.stringify(body)});
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (response.status === 401 && path !== "/api/login" && unauthorized) unauthorized(data);
    return {status: response.status, data};
  }

  // The session on the elements both pages have: the #login form (#login-name, #login-password,
  // #login-submit, #login-error), #logout, #whoami, and the page's main element (id `main`).
  //   refuse(me): a message when this user may not use the page (else nothing);
  //   shown(me): the page is on, for the user GET /api/me named;  hidden(): the page is off;
  //   loginError(data, status): the text of a refused login;  loggedOut: the text after logging out;
  //   expired(data): the text when a request is refused with 401 (the login form is shown).
  function session({main, refuse, shown, hidden, loginError, loggedOut, expired}) {
    function showLogin(message) {
      $("login").hidden = false; $(main).hidden = true; $("logout").hidden = true;
      $("whoami").textContent = "";
      $("login-error").textContent = message || "";
      if (hidden) hidden();
    }

    async function start() {
      const {status, data} = await api("GET", "/api/me");
      if (status !== 200) { showLogin(); return; }
      const refusal = refuse(data);
      if (refusal) { showLogin(refusal); return; }
      $("login").hidden = true; $(main).hidden = false; $("logout").hidden = !!data.open;
      shown(data);
    }

    async function login(event) {
      event.preventDefault();
      $("login-error").textContent = "";
      const {status, data} = await api("POST", "/api/login",
        {name: $("login-name").value.trim(), password: $("login-password").value});
      $("login-password").value = "";
      if (status !== 200) { $("login-error").textContent = loginError(data, status); return; }
      await start();
    }

    async function logout() {
      await api("POST", "/api/logout", {});
      showLogin(loggedOut);
    }

    unauthorized = expired ? (data) => showLogin(expired(data)) : null;
    $("login").addEventListener("submit", login);
    $("logout").addEventListener("click", logout);
    return {start, showLogin};
  }

  return {$, el, api, session};
})();
