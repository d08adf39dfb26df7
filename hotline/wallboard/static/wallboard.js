// The 12345 wallboard: vanilla JS, no build step. Data comes from GET /api/live/stream
// (server-sent events: snapshot, then seat/queue/kpi/hotspot/live events); caller numbers arrive masked.
// Hotspot alerts (热点预警) are the active ones, whole in each event; a supervisor acknowledges one
// (POST /api/hotspots/{id}/ack) and every wallboard sees it acknowledged.
// The session and the API helper are the pages' shared script (/pages/common.js, Hotline).
"use strict";

const STATES = ["talking", "ringing", "wrapup", "idle", "paused", "logged_out"];
const STATE_NAMES = {talking: "通话 talking", ringing: "振铃 ringing", wrapup: "整理 wrap-up",
                     idle: "空闲 idle", paused: "小休 paused", logged_out: "签出 logged out"};
const SUPERVISOR_ROLES = ["supervisor", "admin"];

const state = {me: null, seats: new Map(), queues: new Map(), kpi: {}, live: {ok: true}, hotspots: [],
               reasons: [], clockOffset: 0, source: null, chosenReason: new Map()};

const {$, el, api} = Hotline;   // /pages/common.js, loaded first

function nowServer() { return Date.now() / 1000 + state.clockOffset; }

function duration(since) {
  if (!since) return "";
  const s = Math.max(0, Math.floor(nowServer() - since));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const mm = String(m).padStart(2, "0"), ss = String(sec).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

function percent(value) {
  return (value === null || value === undefined) ? "–" : (value * 100).toFixed(1) + "%";
}

// --- session (Hotline.session: the login form, /api/me, log out) -------------------------------
function showBoard(me) {
  state.me = me;
  $("whoami").textContent = me.open ? "" : `${me.name} (${me.role})`;
  connect();
}

function stopBoard() {
  state.me = null;
  if (state.source) { state.source.close(); state.source = null; }
}

// --- the live stream ------------------------------------------------------------------------
function connect() {
  if (state.source) state.source.close();
  const source = new EventSource("/api/live/stream");
  state.source = source;
  source.addEventListener("open", () => { $("disconnected").hidden = true; });
  source.addEventListener("error", async () => {
    $("disconnected").hidden = false;
    if (source.readyState === EventSource.CLOSED) {   // refused (e.g. the token expired)
      const {status} = await api("GET", "/api/me");
      if (status === 401) return;   // the session shows the login form
      setTimeout(() => { if (state.source === source) connect(); }, 3000);
    }
  });
  source.addEventListener("snapshot", (e) => {
    const snap = JSON.parse(e.data);
    state.clockOffset = (snap.ts || Date.now() / 1000) - Date.now() / 1000;
    state.seats = new Map((snap.seats || []).map((s) => [s.seat_id, s]));
    state.queues = new Map((snap.queues || []).map((q) => [q.name, q]));
    state.kpi = snap.kpi || {};
    state.live = snap.live || {ok: true};
    state.hotspots = snap.hotspots || [];
    if (snap.pause_reasons) state.reasons = snap.pause_reasons;
    for (const c of cards.values()) c.key = null;
    renderAll();
  });
  source.addEventListener("seat", (e) => {
    const seat = JSON.parse(e.data); state.seats.set(seat.seat_id, seat); renderSeats();
  });
  source.addEventListener("queue", (e) => {
    const queue = JSON.parse(e.data); state.queues.set(queue.name, queue); renderQueues();
  });
  source.addEventListener("kpi", (e) => { state.kpi = JSON.parse(e.data) || {}; renderKpis(); });
  source.addEventListener("live", (e) => { state.live = JSON.parse(e.data) || {}; renderLive(); });
  source.addEventListener("hotspot", (e) => { state.hotspots = (JSON.parse(e.data) || {}).items || []; renderHotspots(); });
}

// --- rendering ------------------------------------------------------------------------------
function renderAll() { renderLive(); renderHotspots(); renderKpis(); renderQueues(); renderSeats(); }

function renderHotspots() {   // 热点预警: 供水 12 件 / 近7日同期均值 1.43, the numbers that raised it
  const list = $("hotspot-list");
  list.replaceChildren();
  for (const h of state.hotspots) {
    const since = String(h.raised_at || "").slice(11, 16);   // HH:MM, the site's time (the API's offset)
    const now = h.last_count !== h.count ? ` · 当前 ${h.last_count} ${h.unit}` : "";
    const ratio = h.ratio === null || h.ratio === undefined ? "无基线 no baseline" : `${h.ratio} 倍`;
    const item = el("li", {class: "hotspot", "data-hotspot": h.id, "data-acked": h.acked_at ? "yes" : "no"},
      el("strong", {class: "text"}, h.text),
      el("span", {class: "meta"}, ` (${ratio} · ${since} 起${now}${h.acked_by ? ` · 已确认 ${h.acked_by}` : ""})`));
    if (!h.acked_at && state.me && SUPERVISOR_ROLES.includes(state.me.role)) {
      const b = el("button", {type: "button", "data-action": "ack", "data-hotspot": h.id}, "确认 acknowledge");
      b.addEventListener("click", () => ackHotspot(h.id));
      item.append(" ", b);
    }
    list.append(item);
  }
  $("hotspots").hidden = state.hotspots.length === 0;
}

function renderLive() {
  const ok = state.live.ok !== false;
  $("degraded").hidden = ok;
  $("degraded-reason").textContent = ok ? "" :
    `${state.live.backend || ""} ${state.live.error || ""}`.trim();
}

function kpiValues() {
  const k = state.kpi || {};
  for (const candidate of [k, k.today, k.all, k.total]) {
    if (candidate && typeof candidate === "object" && ("answer_rate" in candidate || "offered" in candidate)) {
      return candidate;
    }
  }
  return k;
}

function renderKpis() {
  const k = kpiValues();
  $("kpi-answer-rate").textContent = percent(k.answer_rate);
  $("kpi-answer-rate-15s").textContent = percent(k.answer_rate_15s);
  const abandoned = k.abandoned ?? k.abandons;
  $("kpi-abandoned").textContent = abandoned ?? "–";
  $("kpi-offered").textContent = k.offered ?? "–";
  const rolling = (state.kpi || {}).rolling_24h || {};
  $("kpi-rolling").textContent = percent(rolling.answer_rate);
  $("kpi-rolling-box").classList.toggle("alarm", rolling.alarm === true);   // under the threshold (95%)
}

function longestSince(queue) {
  const times = (queue.entries || []).map((e) => e.since).filter((t) => t);
  return times.length ? Math.min(...times) : null;
}

function renderQueues() {
  const body = $("queues").querySelector("tbody");
  body.replaceChildren();
  for (const queue of [...state.queues.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    const since = longestSince(queue);
    // several nodes (queue.nodes): each caller says the node it waits on
    const callers = (queue.entries || []).map((e) => (e.node ? `${e.caller} (${e.node})` : e.caller)).join(", ");
    body.append(el("tr", {"data-queue": queue.name},
      el("td", {}, queue.title || queue.name),
      el("td", {class: "waiting"}, queue.waiting ?? (queue.entries || []).length),
      el("td", {class: "longest", "data-since": since}, duration(since)),
      el("td", {class: "logged-in"}, queue.logged_in ?? ""),
      el("td", {class: "available"}, queue.available ?? ""),
      el("td", {class: "callers"}, callers)));
  }
}

function actionsKey(seat) {
  // The buttons a seat card shows; rebuilt only when this changes, so a reason being chosen
  // in a select is not replaced under the supervisor's hand by the next seat event.
  if (!state.me || !SUPERVISOR_ROLES.includes(state.me.role) || seat.state === "logged_out") return "";
  return [seat.state === "paused" ? "paused" : "active", seat.call_id && seat.state !== "ringing" ? "call" : "",
          state.reasons.map((r) => r.code).join(",")].join("|");
}

function seatActions(seat) {
  if (!actionsKey(seat)) return el("div", {class: "actions"});
  const reason = el("select", {class: "reason", "data-seat": seat.seat_id, title: "小休原因 pause reason"},
    ...state.reasons.map((r) => el("option", {value: r.code}, r.name)));
  if (state.chosenReason.has(seat.seat_id)) reason.value = state.chosenReason.get(seat.seat_id);
  reason.addEventListener("change", () => state.chosenReason.set(seat.seat_id, reason.value));
  const button = (action, label) => {
    const b = el("button", {type: "button", "data-action": action, "data-seat": seat.seat_id}, label);
    b.addEventListener("click", () => act(seat.seat_id, action, reason.value));
    return b;
  };
  const buttons = [];
  if (seat.state !== "paused") buttons.push(reason, button("pause", "强制小休 force pause"));
  buttons.push(button("logout", "强制签出 force logout"));
  if (seat.call_id && seat.state !== "ringing") {   // on a call (a paused seat may still be on one)
    buttons.push(button("listen", "监听 listen"), button("whisper", "耳语 whisper"), button("barge", "强插 barge"));
  }
  return el("div", {class: "actions"}, ...buttons);
}

const cards = new Map();   // seat id -> {card, title, since, meta, actions, key}

function seatGroup(name) {
  const container = $("seats");
  let group = container.querySelector(`:scope > [data-group="${CSS.escape(name)}"]`);
  if (!group) {
    group = el("div", {class: "group", "data-group": name}, el("h3", {}), el("div", {class: "members"}));
    const order = (n) => { const i = STATES.indexOf(n); return i < 0 ? STATES.length : i; };
    const after = [...container.children].find((g) => order(g.getAttribute("data-group")) > order(name));
    container.insertBefore(group, after || null);
  }
  return group;
}

function left(until) {   // seconds until an epoch time, on the server's clock
  return Math.max(0, Math.ceil(until - nowServer()));
}

function queueText(seat) {   // each queue as Asterisk has the seat there: paused, resting (整理) N s
  const states = seat.queue_states || (seat.queues || []).map((q) => ({queue: q}));
  return states.map((q) => q.paused ? `${q.queue}(暂停 ${q.reason || ""})`
    : q.wrapup_until && left(q.wrapup_until) > 0 ? `${q.queue}(整理 ${left(q.wrapup_until)}s)` : q.queue).join(",");
}

function metaText(seat) {
  const rest = seat.state === "wrapup" && seat.wrapup_until ? `剩 ${left(seat.wrapup_until)}s remaining` : null;
  return [rest, seat.reason_name || seat.reason, seat.caller ? `来电 ${seat.caller}` : null,
          seat.county, queueText(seat)].filter((x) => x).join(" · ");
}

function renderSeat(seat) {
  let c = cards.get(seat.seat_id);
  if (!c) {
    c = {title: el("strong"), since: el("span", {class: "since"}), meta: el("div", {class: "meta"}),
         actions: el("div", {class: "actions"}), key: null};
    c.card = el("div", {class: "seat", "data-seat": seat.seat_id}, el("div", {}, c.title, " ", c.since), c.meta,
                c.actions);
    cards.set(seat.seat_id, c);
  }
  c.card.setAttribute("data-state", seat.state);
  c.title.textContent = `${seat.seat_id} ${seat.name || ""}`;
  if (seat.since) c.since.setAttribute("data-since", seat.since); else c.since.removeAttribute("data-since");
  c.since.textContent = duration(seat.since);
  c.meta.textContent = metaText(seat);
  const key = actionsKey(seat);
  if (key !== c.key) {
    const actions = seatActions(seat);
    c.card.replaceChild(actions, c.actions);
    c.actions = actions;
    c.key = key;
  }
  const members = seatGroup(seat.state).querySelector(".members");
  if (c.card.parentNode !== members) {
    const next = [...members.children].find((m) => m.getAttribute("data-seat") > seat.seat_id);
    members.insertBefore(c.card, next || null);
  }
}

function renderSeats() {
  for (const [id, c] of cards) {
    if (!state.seats.has(id)) { c.card.remove(); cards.delete(id); }
  }
  for (const seat of state.seats.values()) renderSeat(seat);
  for (const group of [...$("seats").children]) {
    const count = group.querySelector(".members").children.length;
    if (!count) { group.remove(); continue; }
    const name = group.getAttribute("data-group");
    group.querySelector("h3").textContent = `${STATE_NAMES[name] || name} (${count})`;
  }
}

function tick() {
  for (const node of document.querySelectorAll("[data-since]")) {
    const since = Number(node.getAttribute("data-since"));
    if (since) node.textContent = duration(since);
  }
  for (const seat of state.seats.values()) {   // rests count down between updates
    const c = cards.get(seat.seat_id);
    if (c && (seat.queue_states || []).some((q) => q.wrapup_until)) c.meta.textContent = metaText(seat);
  }
}

// --- supervisor actions ---------------------------------------------------------------------
async function act(seatId, action, reason) {
  const path = `/api/seats/${encodeURIComponent(seatId)}/`;
  let result;
  if (action === "pause") result = await api("POST", path + "pause", {reason});
  else if (action === "logout") result = await api("POST", path + "logout", {});
  else result = await api("POST", path + "spy", {mode: action});
  const ok = result.status < 300;
  $("action-result").textContent = ok ? `${seatId}: ${action} ✓`
    : `${seatId}: ${action} ✗ ${(result.data && result.data.message) || result.status}`;
  $("action-result").className = ok ? "" : "error";   // a 401: the session shows the login form
}

async function ackHotspot(id) {
  const result = await api("POST", `/api/hotspots/${encodeURIComponent(id)}/ack`, {});
  const ok = result.status < 300;
  $("action-result").textContent = ok ? `热点预警 ${id}: 已确认 ✓`
    : `热点预警 ${id}: ✗ ${(result.data && result.data.message) || result.status}`;
  $("action-result").className = ok ? "" : "error";
}

document.addEventListener("DOMContentLoaded", () => {
  const session = Hotline.session({
    main: "board", shown: showBoard, hidden: stopBoard,
    refuse: (me) => SUPERVISOR_ROLES.includes(me.role) ? null
      : `${me.name}: 需要班长权限 the wallboard needs the role supervisor`,
    loginError: (data, status) => (data && data.message) || `error ${status}`,
    expired: () => "请重新登录 please log in again",
  });
  setInterval(tick, 1000);
  session.start();
});
