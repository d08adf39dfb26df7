// The seat console (坐席工作台, issue 13 item 1): a seat user logs in; the page shows and drives the
// seat's state (签入, 小休 and the other configured reasons, 恢复, 签出; wrap-up with its time left),
// the queues, the WebRTC phone (phone.js), the screen pop, a work order prefilled from the call,
// and call control (transfer, three-way with a unit or 110/119/120, dropping a leg) with each leg's
// state. Data only from the API (common.js's Hotline.api); every value written as text.
import { startPhone } from "/console/phone.js";

const {$, el, api, session} = Hotline;
const STATES = {logged_out: "未签入", idle: "空闲", ringing: "振铃", talking: "通话中", wrapup: "话后整理",
                paused: "暂停"};
const PHONE_STATES = {off: "未连接", connecting: "连接中", connected: "已连接", registered: "已注册",
                      ringing: "来电振铃", talking: "通话中"};
let me = null, phone = null, timer = null, liveCall = null, wrapupUntil = null;
window.hotlineTimings = [];   // ring -> 来电 shown, ring -> pop shown (ms, performance.now())

function reasons() {
  try { return JSON.parse($("console").dataset.pauseReasons || "[]"); } catch (e) { return []; }
}

async function seatCommand(path, body) {
  $("seat-error").textContent = "";
  const {status, data} = await api("POST", `/api/seats/${encodeURIComponent(me.seat)}/${path}`, body || {});
  if (status >= 300) $("seat-error").textContent = (data && data.message) || `操作失败（${status}）`;
  await refresh();
}

function showSeat(view) {
  $("seat-state").textContent = STATES[view.state] || view.state;
  $("seat-state").dataset.state = view.state;
  $("seat-reason").textContent = view.reason_name ? `（${view.reason_name}）` : "";
  wrapupUntil = view.wrapup_until;
  tickWrapup();
}

function tickWrapup() {
  const left = wrapupUntil ? Math.max(0, Math.round(wrapupUntil - Date.now() / 1000)) : null;
  $("wrapup-left").textContent = left === null ? "" : `整理剩余 ${left} 秒`;
}

function since(epoch) {
  if (!epoch) return "—";
  const s = Math.max(0, Math.round(Date.now() / 1000 - epoch));
  return s >= 60 ? `${Math.floor(s / 60)}分${s % 60}秒` : `${s}秒`;
}

function showQueues(items) {
  const body = $("queues").querySelector("tbody");
  body.replaceChildren(...items.map((q) => el("tr", {"data-queue": q.name},
    el("td", {}, q.title || q.name), el("td", {class: "waiting"}, q.waiting),
    el("td", {class: "longest"}, since(q.longest_wait_since)), el("td", {}, q.available))));
}

function showControl(call) {
  liveCall = call;
  const on = !!call;
  for (const b of [$("transfer"), $("three-way"), ...document.querySelectorAll("button.emergency")]) b.disabled = !on;
  const view = (call && call.control) || {legs: []};
  // the parties of a three-way call (POST /conference): the department's leg and the seat's own
  const rows = view.legs.map((leg) => el("tr", {"data-party": "department"},
    el("td", {}, leg.target), el("td", {class: "leg-state"}, leg.answered ? "已接通" : "呼叫中"),
    el("td", {}, el("button", {type: "button", class: "drop", "data-party": "department"}, "挂断此方"))));
  if (view.in_conference) {
    rows.push(el("tr", {"data-party": "seat"}, el("td", {}, "本坐席"), el("td", {class: "leg-state"}, "三方通话中"),
      el("td", {}, el("button", {type: "button", class: "drop", "data-party": "seat"}, "本坐席退出"))));
  }
  $("legs").querySelector("tbody").replaceChildren(...rows);
}

async function refresh() {
  if (!me) return;
  const seat = encodeURIComponent(me.seat);
  const [s, q, live] = await Promise.all([api("GET", `/api/seats/${seat}`), api("GET", "/api/queues"),
                                          api("GET", "/api/calls/live")]);
  if (s.status === 200) showSeat(s.data);
  if (q.status === 200) showQueues(q.data.items || []);
  if (live.status === 200) {
    const mine = (c) => c.seat === me.seat || (c.control && [c.control.seat_channel, ...c.control.conference_seats]
      .some((ch) => ch && ch.startsWith(`PJSIP/${me.seat}-`)));
    showControl((live.data.items || []).find(mine) || null);
  }
}

const OUTCOMES = {answered: "已接听", abandoned: "放弃", callback_requested: "回拨", voice_message: "留言",
                  ended_after_notice: "提示后结束"};
let popCallIds = [];   // order_prefill.call_ids of the call on screen: the order is filed on them

function row(...cells) { return el("tr", {}, ...cells.map((c) => el("td", {}, c ?? ""))); }

function table(head, rows) {
  return el("table", {}, el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))), el("tbody", {}, ...rows));
}

function localTime(iso) { return iso ? new Date(iso).toLocaleString("zh-CN", {hour12: false}) : ""; }

function popView(data) {
  // GET /api/seats/{seat}/pop: the call at this seat, where its number is from, the person's history
  const call = data.call;
  if (!call) return null;
  const loc = call.location || {};
  const where = [loc.province, loc.city].filter(Boolean).join(" ") || loc.description || "未知";
  const legacy = call.legacy_number;
  const facts = el("dl", {id: "pop-call"},
    el("dt", {}, "来电号码"), el("dd", {id: "pop-caller"}, call.caller_number || "未知号码"),
    el("dt", {}, "归属地"), el("dd", {id: "pop-location"}, where),
    el("dt", {}, "运营商"), el("dd", {id: "pop-carrier"}, loc.carrier || "未知"),
    el("dt", {}, "拨打号码"), el("dd", {}, call.dialled_number + (legacy ? `（${legacy.department_name || legacy.department}）` : "")),
    el("dt", {}, "队列"), el("dd", {}, call.queue || ""),
    el("dt", {}, "等待"), el("dd", {}, call.waited_seconds == null ? "" : `${Math.round(call.waited_seconds)} 秒`));
  const history = data.history || {};
  const parts = [facts];
  if (history.ok === false) parts.push(el("p", {class: "error"}, "历史记录暂不可用"));
  const calls = (history.calls || []).map((c) => row(localTime(c.arrived_at), c.caller_number, OUTCOMES[c.outcome] || c.outcome, c.seat));
  const orders = (history.orders || []).map((o) => row(o.id, o.title, o.state || o.status, o.unit));
  parts.push(el("h3", {}, `历史来电（${calls.length}）`), table(["时间", "号码", "结果", "坐席"], calls));
  parts.push(el("h3", {}, `历史工单（${orders.length}）`), table(["工单号", "标题", "状态", "承办单位"], orders));
  return parts;
}

async function showPop(at) {
  // SCREEN POP: GET /api/seats/{seat}/pop, read when the phone rings (hotline/pop)
  const {status, data} = await api("GET", `/api/seats/${encodeURIComponent(me.seat)}/pop`);
  const box = $("pop");
  const parts = status === 200 && data ? popView(data) : null;
  if (parts) {
    box.dataset.status = "shown";
    box.dataset.callId = data.call.call_id;
    box.replaceChildren(...parts);
    popCallIds = (data.order_prefill && data.order_prefill.call_ids) || [data.call.call_id];
    if (data.order_context && data.order_context.caller_number) $("order-caller").value = data.order_context.caller_number;
  } else {
    box.dataset.status = "none";
    box.textContent = "无来电信息";
  }
  window.hotlineTimings.push({ring_to_pop_ms: performance.now() - at, pop_status: status});
}

const ui = {
  state(state) {
    $("phone-state").textContent = PHONE_STATES[state] || state;
    $("phone-state").dataset.state = state;
    $("answer").disabled = state !== "ringing";
    $("hangup").disabled = !["ringing", "talking"].includes(state);
  },
  ringing(caller, at) {
    $("incoming-from").textContent = caller || "未知号码";
    $("incoming").hidden = false;
    window.hotlineTimings.push({ring_to_incoming_ms: performance.now() - at});
    $("order-caller").value = caller || "";
    $("order-submit").disabled = false;
    showPop(at);
    refresh();
  },
  ended() { $("incoming").hidden = true; refresh(); },
  error(text) { $("phone-error").textContent = text; },
};

async function control(path, body) {
  $("control-error").textContent = ""; $("control-result").textContent = "";
  if (!liveCall) return;
  const {status, data} = await api(path.method || "POST", `/api/calls/${encodeURIComponent(liveCall.call_id)}/${path.to}`,
                                   body);
  if (status >= 300) $("control-error").textContent = (data && data.message) || `操作失败（${status}）`;
  else $("control-result").textContent = "已发送";
  await refresh();
}

async function saveOrder() {
  $("order-error").textContent = ""; $("order-result").textContent = "";
  const call = liveCall && liveCall.call_id;
  const callIds = popCallIds.length ? popCallIds : (call ? [call] : []);
  const {status, data} = await api("POST", "/api/work-orders", {
    call_ids: callIds, title: $("order-title").value.trim(), description: $("order-description").value.trim(),
    category: $("order-category").value, created_by: me.seat});
  if (status >= 300) $("order-error").textContent = (data && data.message) || `保存失败（${status}）`;
  else $("order-result").textContent = `已保存工单 ${data.id}`;
}

async function shown(user) {
  me = user;
  $("whoami").textContent = `${user.name}（坐席 ${user.seat}）`;
  $("pause-buttons").replaceChildren(...reasons().map((r) =>
    el("button", {type: "button", class: "pause", "data-reason": r.code}, r.name)));
  const targets = await api("GET", "/api/transfer-targets");
  $("target").replaceChildren(...((targets.data && targets.data.items) || []).map((t) =>
    el("option", {value: t.target}, `${t.target}${t.department ? ` ${t.department}` : ""}`)));
  const cfg = await api("GET", `/api/seats/${encodeURIComponent(user.seat)}/phone`);
  if (cfg.status === 200) phone = startPhone(cfg.data, ui);
  else ui.error(cfg.status === 409 ? "本坐席使用桌面话机，网页话机未启用" : `无法取得话机配置（${cfg.status}）`);
  await refresh();
  timer = setInterval(() => { refresh(); tickWrapup(); }, 1000);
}

function hidden() {
  if (timer) clearInterval(timer);
  timer = null;
  if (phone) phone.stop();
  phone = null; me = null;
}

$("seat-login").addEventListener("click", () => seatCommand("login"));
$("seat-logout").addEventListener("click", () => seatCommand("logout"));
$("seat-unpause").addEventListener("click", () => seatCommand("unpause"));
$("pause-buttons").addEventListener("click", (e) => {
  const reason = e.target.dataset && e.target.dataset.reason;
  if (reason) seatCommand("pause", {reason});
});
$("answer").addEventListener("click", () => phone && phone.answer());
$("hangup").addEventListener("click", () => phone && phone.hangup());
$("transfer").addEventListener("click", () => control({to: "transfer"}, {target: $("target").value}));
$("three-way").addEventListener("click", () => control({to: "conference"}, {target: $("target").value}));
document.querySelectorAll("button.emergency").forEach((b) => b.addEventListener("click",
  () => control({to: "emergency"}, {service: b.dataset.service, mode: "three_way"})));
$("legs").addEventListener("click", (e) => {
  const party = e.target.classList.contains("drop") && e.target.dataset.party;
  if (party) control({to: `conference/${encodeURIComponent(party)}`, method: "DELETE"});
});
$("order-submit").addEventListener("click", saveOrder);

session({
  main: "console",
  refuse: (user) => (user.role !== "seat" || !user.seat ? "坐席工作台只供坐席账号使用" : null),
  shown, hidden,
  loginError: (data, status) => (status === 429 ? "尝试次数过多，请稍后再试" : "用户名或密码错误"),
  loggedOut: "已退出登录",
  expired: () => "登录已过期，请重新登录",
}).start();
