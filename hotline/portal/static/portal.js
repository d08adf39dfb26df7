// 承办单位门户 (the unit portal): vanilla JS, no build step, no library. Data comes from the
// work-order API as the logged-in unit user may see it; every value is written as text
// (text nodes, never parsed as HTML), so an order's or a reply's text cannot run as script.
// The session and the API helper are the pages' shared script (/pages/common.js, Hotline).
"use strict";

const STATES = {created: "新建", dispatched: "待签收", signed: "办理中", returned: "已退回",
                extension_requested: "延期审批中", replied: "已回复", verified: "已审核", closed: "已办结"};
const URGENCY = {normal: "一般", key: "重点", emergency: "应急"};
const CATEGORY = {consult: "咨询", help: "求助", complaint: "投诉", report: "举报", suggestion: "建议",
                  criticism: "批评", praise: "表扬"};
const ACTIONS = {create: "受理", start: "受理", answer: "直接答复", reject: "不予受理", dispatch: "转办", sign: "签收",
                 return: "退回", redispatch: "重新派单", request_extension: "延期申请",
                 approve_extension: "同意延期", refuse_extension: "不同意延期", reply: "办结回复",
                 send_back: "退回重办", verify: "审核", evaluate: "评价", reopen: "重办",
                 supervise: "督办", warn: "临期预警", flag_overdue: "超期督办", report_duty: "报送值班室",
                 contribute: "协办意见"};
const FIELDS = {return_reason: "回退理由", leader_opinion: "领导意见", suggestion: "建议",
                contact_phone: "联系电话", reason: "理由", days: "天数", result: "办理结果",
                leader_approval: "领导审批意见", unit: "承办单位", co_units: "协办单位", answer: "答复",
                rating: "评价", kind: "方式", note: "说明", deadline: "时限", due: "期限",
                escalated_to: "报告领导", to: "报送", name: "值班室", phones: "值班电话", filed_by: "受理人", opinion: "协办意见"};
const ERRORS = {
  "missing-order-field": "缺少必填项", "invalid-request": "填写内容不符合要求",
  "illegal-transition": "当前状态不允许此操作", "order-closed": "工单已办结，不能再办理",
  "not-your-order": "该工单不属于本单位", "no-such-work-order": "工单不存在",
  "date-outside-calendar": "日期超出工作日历，请联系热线中心", "auth-required": "请先登录",
  "bad-credentials": "用户名或密码错误", "too-many-attempts": "登录失败次数过多，请稍后再试",
  "login-busy": "系统繁忙，请稍后再试", "forbidden": "无此权限", "store-unavailable": "数据库暂不可用，请稍后再试",
  "bad-origin": "请求来源不被允许", "unsupported-media-type": "请求格式错误", "internal-error": "系统内部错误",
  "invalid-month": "月份格式错误", "no-such-unit": "单位不存在", "not-your-unit": "只能查看本单位的拨测结果", "duty-phone-not-allowed": "值班电话不符合外呼规则",
};
const PARTY = {main: "主办", co: "协办", duty: "应急报送（只读）"};
// What the unit may do in each state: as 主办 (the table's unit rows), as 协办 (its 协办意见)
const OPEN_ACTIONS = {
  main: {dispatched: ["sign", "return"], signed: ["return", "request_extension", "reply"]},
  co: {dispatched: ["contribute"], signed: ["contribute"], extension_requested: ["contribute"]},
};
const ALL_ACTIONS = ["sign", "return", "request_extension", "reply", "contribute"];

const state = {me: null, current: null};
const {$, el, api} = Hotline;   // /pages/common.js, loaded first

// Times in the site's time zone (the page's meta tag), whatever the browser's; a deadline at
// midnight is the end of the day before: "2026-11-09 24:00", as the working-day rules say.
const TIMEZONE = document.querySelector('meta[name="hotline-timezone"]').content || "Asia/Shanghai";
const CLOCK = new Intl.DateTimeFormat("en-CA", {timeZone: TIMEZONE, hourCycle: "h23", year: "numeric",
  month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit"});

function when(iso) {
  if (!iso) return "—";
  const at = new Date(iso);
  const parts = (d) => Object.fromEntries(CLOCK.formatToParts(d).map((p) => [p.type, p.value]));
  let p = parts(at);
  if (p.hour === "00" && p.minute === "00") {
    p = parts(new Date(at.getTime() - 60000));
    return `${p.year}-${p.month}-${p.day} 24:00`;
  }
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

function errorText(data, status) {
  if (!data || !data.error_id) return `请求失败（HTTP ${status}）`;
  const zh = ERRORS[data.error_id] || "操作失败";
  const field = data.details && data.details.field;
  const name = field ? `：${FIELDS[field] || field}` : "";
  return `${zh}${name}（${data.error_id}）`;
}

// --- session (Hotline.session: the login form, /api/me, log out) -----------------------------
function shown(me) {
  state.me = me;
  $("whoami").textContent = `${me.name}（${me.unit_name || me.unit}）`;
  showList();
  const p = Object.fromEntries(CLOCK.formatToParts(new Date()).map((x) => [x.type, x.value]));
  $("dp-month").value = `${p.year}-${p.month}`;
  showDutyProbes();
}

// --- 值班电话拨测 (duty-phone dial tests): the unit's month, from GET /api/duty-probes ----------------
// Each probe rings the unit's duty phone up to 3 times; 3 failures are one 不通 event.
async function showDutyProbes() {
  $("dp-error").textContent = "";
  const month = $("dp-month").value;
  const {status, data} = await api("GET", `/api/duty-probes?month=${encodeURIComponent(month)}`);
  if (status !== 200) { $("dp-error").textContent = errorText(data, status); return; }
  const unit = data.units[0] || {probes: 0, tries: 0, answered: 0, unreachable: 0, events: [], refused_phones: []};
  $("dp-summary").textContent = `${data.month}：拨测 ${unit.probes} 次（共拨打 ${unit.tries} 次），`
    + `接通 ${unit.answered} 次，不通 ${unit.unreachable} 次`;
  $("dp-refused").replaceChildren(...unit.refused_phones.map((e) =>
    el("li", null, `${ERRORS[e.error_id]}：${e.details.value}（${e.details.field}，${e.details.reason}）`)));
  $("dp-events").tBodies[0].replaceChildren(...unit.events.map((e) => el("tr", {"data-probe": e.probe},
    el("td", null, when(e.at)), el("td", null, e.number), el("td", null, String(e.tries.length)))));
  $("dp-none").hidden = unit.events.length > 0;
}

// --- the list -------------------------------------------------------------------------------
// 督办 flags: the warn / flag_overdue events the centre's 督办 sweep recorded for the order's
// running deadline (the unit's due); an earlier deadline's flag (before an extension) is not shown.
// The list gets it from the search (item.alert, the same rule server-side); one order's page from
// its trail.
function alertOf(lifecycle, events) {
  let found = null;
  for (const e of events) {
    if ((e.action === "warn" || e.action === "flag_overdue") && e.fields.due === lifecycle.due) {
      if (!found || e.action === "flag_overdue") found = e.action;
    }
  }
  return found;
}

function flag(alert) {
  if (alert === "flag_overdue") return el("span", {class: "flag overdue"}, "超期");
  if (alert === "warn") return el("span", {class: "flag warn"}, "临期预警");
  return "";
}

// 应急: an emergency item, flagged with the time it was reported to the duty office (总值班室); the
// duty office's users see every such item, read-only unless their unit is also its 主办.
function urgencyCell(item) {
  if (item.urgency !== "emergency") return URGENCY[item.urgency] || "—";
  return el("span", {class: "flag emergency", "data-reported": item.reported_at},
            item.reported_at ? `应急（${when(item.reported_at)} 已报值班室）` : "应急");
}

// The list is one search: each item carries its state, urgency, deadline, 督办 flag (alert) and
// whether the unit holds it (主办) or helps (协办); no request per order.
async function showList() {
  $("detail").hidden = true; $("list-view").hidden = false;
  $("list-error").textContent = "";
  const {status, data} = await api("GET", "/api/work-orders?limit=200");
  if (status !== 200) { $("list-error").textContent = errorText(data, status); return; }
  const body = $("orders").tBodies[0];
  body.replaceChildren(...data.items.map((item) => {
    const tr = el("tr", {class: "order", "data-order": item.id, "data-state": item.state, "data-alert": item.alert,
                         "data-party": item.party},
      el("td", null, item.id), el("td", {class: "title"}, item.title),
      el("td", {class: "party"}, PARTY[item.party] || "—"),
      el("td", null, CATEGORY[item.category] || item.category),
      el("td", {class: "urgency"}, urgencyCell(item)),
      el("td", {class: "state"}, STATES[item.state] || item.state),
      el("td", {class: "due"}, when(item.due)), el("td", {class: "alert"}, flag(item.alert)));
    tr.addEventListener("click", () => showDetail(item.id));
    return tr;
  }));
  $("empty").hidden = data.items.length > 0;
  $("count").textContent = data.total > data.items.length
    ? `共 ${data.total} 件，显示最近 ${data.items.length} 件` : `共 ${data.total} 件`;
}

// --- one order ------------------------------------------------------------------------------
function callerText(order) {
  if (order.caller_number) return order.caller_number;
  return order.caller_confidential ? "保密工单，不向承办单位显示来电人信息" : "无";
}

function fieldsText(fields) {
  return Object.entries(fields || {}).map(([k, v]) => {
    const value = (v !== null && typeof v === "object") ? JSON.stringify(v) : String(v);
    return `${FIELDS[k] || k}：${k === "due" ? when(value) : value}`;
  }).join("\n");
}

function partyOf(lifecycle) {
  if (state.me && lifecycle.unit === state.me.unit) return "main";
  return state.me && lifecycle.co_units.includes(state.me.unit) ? "co" : null;
}

function renderDetail(data) {
  const {order, lifecycle, events} = data;
  const party = partyOf(lifecycle);
  $("d-id").textContent = order.id;
  const units = party === "co" ? `协办（主办：${lifecycle.unit}）` : PARTY[party] || "—";
  const rows = [["标题", order.title], ["内容", order.description], ["本单位", units],
    ["类别", CATEGORY[order.category] || order.category], ["紧急程度", URGENCY[lifecycle.urgency]],
    ["状态", STATES[lifecycle.state] || lifecycle.state], ["来电人", callerText(order)],
    ["转办时间", when(lifecycle.dispatched_at)], ["退回期限", when(lifecycle.return_due)],
    ["办理时限", when(lifecycle.due)], ["督办", alertOf(lifecycle, events) === "flag_overdue" ? "超期"
      : alertOf(lifecycle, events) === "warn" ? "临期预警" : "—"],
    ["已延期（工作日）", lifecycle.extension_days], ["重办次数", lifecycle.redo_count]];
  $("d-fields").replaceChildren(...rows.flatMap(([k, v]) =>
    [el("dt", null, k), el("dd", {"data-name": k}, v === null || v === undefined ? "—" : v)]));
  $("trail").tBodies[0].replaceChildren(...events.map((e) => el("tr", {"data-action": e.action},
    el("td", null, when(e.at)), el("td", null, ACTIONS[e.action] || e.action),
    el("td", null, e.role === "system" ? "系统" : `${e.actor}${e.unit ? "（" + e.unit + "）" : ""}`),
    el("td", null, STATES[e.to_state] || e.to_state), el("td", {class: "fields"}, fieldsText(e.fields)))));
  const open = (OPEN_ACTIONS[party] || {})[lifecycle.state] || [];
  for (const action of ALL_ACTIONS) {
    $(`act-${action}`).hidden = !open.includes(action);
  }
  for (const node of document.querySelectorAll(".key-only")) node.hidden = lifecycle.urgency !== "key";
  $("action-none").hidden = open.length > 0;
}

async function showDetail(id) {
  $("action-result").textContent = "";
  for (const node of document.querySelectorAll(".action .error")) node.textContent = "";
  for (const node of document.querySelectorAll(".action [data-field]")) node.value = "";
  const {status, data} = await api("GET", `/api/work-orders/${encodeURIComponent(id)}/lifecycle`);
  if (status !== 200) { $("list-error").textContent = errorText(data, status); return; }
  state.current = id;
  $("list-view").hidden = true; $("detail").hidden = false;
  renderDetail(data);
}

// --- actions --------------------------------------------------------------------------------
function showError(container, data, status) {
  const field = data && data.details && data.details.field;
  const spot = field && container.querySelector(`.field-error[data-for="${CSS.escape(field)}"]`);
  (spot || container.querySelector(".form-error")).textContent = errorText(data, status);
}

async function act(container, action, body, done) {
  for (const node of container.querySelectorAll(".error")) node.textContent = "";
  const {status, data} = await api("POST", `/api/work-orders/${encodeURIComponent(state.current)}/${action}`, body);
  if (status !== 200) { showError(container, data, status); return; }
  const id = state.current;
  await showDetail(id);
  $("action-result").textContent = `${done} ✓`;
}

function formBody(form) {
  const body = {};
  for (const input of form.querySelectorAll("[data-field]")) {
    if (input.closest("[hidden]")) continue;
    const value = input.value.trim();
    if (value === "") continue;   // left empty: the API names the missing field
    body[input.dataset.field] = input.type === "number" ? Number(value) : value;
  }
  return body;
}

const DONE = {"return": "已退回", "request-extension": "已提交延期申请", "reply": "已提交办结回复",
              "contribute": "已提交协办意见"};

document.addEventListener("DOMContentLoaded", () => {
  const session = Hotline.session({
    main: "portal", shown, loginError: errorText, loggedOut: "已退出",
    refuse: (me) => me.role === "unit" ? null : `${me.name || ""}：本门户仅供承办单位用户使用（role unit）`,
    expired: (data) => errorText(data, 401),
  });
  $("refresh").addEventListener("click", showList);
  $("dp-refresh").addEventListener("click", showDutyProbes);
  $("back").addEventListener("click", showList);
  $("sign").addEventListener("click", () => act($("act-sign"), "sign", {}, "已签收"));
  for (const form of document.querySelectorAll("form.action")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      act(form, form.dataset.action, formBody(form), DONE[form.dataset.action]);
    });
  }
  session.start();
});
