// Supervisor console: one WebSocket of server events, rendered with textContent only
// (texts arrive already masked; nothing is parsed as HTML).
"use strict";

const ROLE_LABEL = { agent: "座席", customer: "客户", mixed: "混合" };
const state = { calls: new Map(), recent: [], selected: null };

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

// A cell cut with an ellipsis keeps its whole text in the tooltip.
function titled(node) {
  node.title = node.textContent;
  return node;
}

function clock(seconds) {
  if (seconds === null || seconds === undefined) return "--:--";
  const m = Math.floor(seconds / 60), s = seconds - 60 * m;
  return String(m).padStart(2, "0") + ":" + s.toFixed(1).padStart(4, "0");
}

function callEntry(id) {
  if (!state.calls.has(id)) state.calls.set(id, { info: { call_id: id, alerts: 0, lag_s: 0, audio_s: 0 }, messages: [] });
  return state.calls.get(id);
}

function renderCalls() {
  const body = document.querySelector("#calls tbody");
  body.replaceChildren();
  let live = 0;
  for (const [id, call] of state.calls) {
    if (call.info.finished) continue;
    live += 1;
    const row = el("tr");
    row.dataset.call = id;
    if (id === state.selected) row.classList.add("selected");
    row.append(titled(el("td", "id", id)), titled(el("td", "agent", call.info.agent_id || "-")),
      el("td", "duration", clock(call.info.audio_s)));
    const alerts = el("td", "alerts", call.info.alerts || 0);
    if (call.info.alerts) alerts.classList.add("has");
    const lag = el("td", "lag", (call.info.lag_s || 0).toFixed(1) + " s");
    if ((call.info.lag_s || 0) >= 2) lag.classList.add("behind");
    row.append(alerts, lag);
    row.addEventListener("click", () => select(id));
    body.append(row);
  }
  document.getElementById("no-calls").hidden = live > 0;
}

function renderRecent() {
  const body = document.querySelector("#recent tbody");
  body.replaceChildren();
  for (const item of state.recent) {
    const row = el("tr");
    row.dataset.call = item.call_id || "";
    const score = el("td", "score", item.score === null || item.score === undefined ? "-" : item.score);
    if (item.score !== null && item.score < 60) score.classList.add("low");
    if (item.incomplete) {
      const mark = el("span", "incomplete", "未完成");
      mark.title = "incomplete: the call ended before every check could run";
      score.append(mark);
    }
    const link = el("td", "report");
    if (item.report_url) {
      const a = el("a", null, "查看 view");
      a.href = item.report_url;
      a.target = "_blank";
      link.append(a);
    }
    row.append(titled(el("td", "id", item.call_id)), titled(el("td", "agent", item.agent_id || "-")), score,
      el("td", "alerts", item.alerts), link);
    body.append(row);
  }
}

function renderDetail() {
  const transcript = document.getElementById("transcript");
  const alerts = document.getElementById("alerts");
  transcript.replaceChildren();
  alerts.replaceChildren();
  document.getElementById("selected-call").textContent = state.selected ? "· " + state.selected : "";
  const call = state.selected && state.calls.get(state.selected);
  if (!call) return;
  for (const message of call.messages) addMessage(message, transcript, alerts);
  transcript.scrollTop = transcript.scrollHeight;
}

function addMessage(message, transcript, alerts) {
  if (message.type === "utterance") {
    const node = el("div", "utt " + message.role);
    node.dataset.start = message.start_s;
    node.dataset.end = message.end_s;
    node.append(el("span", "time", clock(message.start_s)), el("span", "role", ROLE_LABEL[message.role] || message.role),
      el("span", "text", message.text));
    transcript.append(node);
    markFlagged(transcript);
  } else if (message.type === "alert") {
    const node = el("div", "alert " + message.severity);
    node.dataset.check = message.check;
    // The Chinese label of the rule leads; the rule's own (English) message follows, smaller.
    node.append(el("span", "time", clock(message.start_s)), el("strong", "check", message.label || message.message),
      el("span", "quote", message.text ? " 「" + message.text + "」" : ""));
    if (message.label) node.append(el("span", "message", message.message));
    alerts.prepend(node);
    markFlagged(transcript);
  } else if (message.type === "hangup") {
    transcript.append(el("div", "event", clock(message.time_s) + " " + (ROLE_LABEL[message.party] || message.party) + " 挂断 hung up"));
  }
}

function markFlagged(transcript) {
  const call = state.calls.get(state.selected);
  if (!call) return;
  const times = call.messages.filter(m => m.type === "alert" && m.start_s !== null).map(m => m.start_s);
  for (const node of transcript.querySelectorAll(".utt")) {
    const start = Number(node.dataset.start), end = Number(node.dataset.end);
    node.classList.toggle("flagged", times.some(t => t >= start - 0.05 && t <= end + 0.05));
  }
}

function select(id) {
  for (const [other, call] of state.calls) if (call.info.finished && other !== id) state.calls.delete(other);
  state.selected = id;
  renderCalls();
  renderDetail();
}

function onMessage(message) {
  switch (message.type) {
    case "snapshot":
      // Keep the finished call a supervisor is looking at; everything else comes from the server.
      for (const [id, call] of [...state.calls]) if (!(call.info.finished && id === state.selected)) state.calls.delete(id);
      for (const call of message.calls) state.calls.set(call.call_id, { info: call, messages: call.messages || [] });
      state.recent = message.recent || [];
      if (!state.calls.has(state.selected) && state.calls.size) state.selected = state.calls.keys().next().value;
      renderCalls(); renderRecent(); renderDetail();
      break;
    case "started":
      Object.assign(callEntry(message.call_id).info, message);
      const current = state.calls.get(state.selected);
      if (!current || current.info.finished) select(message.call_id);
      renderCalls(); renderDetail();
      break;
    case "status":
      for (const info of message.calls) Object.assign(callEntry(info.call_id).info, info);
      renderCalls();
      break;
    case "utterance": case "alert": case "hangup": {
      const call = callEntry(message.call_id);
      call.messages.push(message);
      if (message.type === "alert") call.info.alerts = (call.info.alerts || 0) + 1;
      if (!state.selected) state.selected = message.call_id;
      if (message.call_id === state.selected) {
        addMessage(message, document.getElementById("transcript"), document.getElementById("alerts"));
      }
      renderCalls();
      break;
    }
    case "finished": {
      // A finished call leaves the live table; its transcript stays on screen while selected.
      const ended = state.calls.get(message.call_id);
      if (ended && message.call_id === state.selected) ended.info.finished = true;
      else state.calls.delete(message.call_id);
      state.recent = [message, ...state.recent.filter(r => r.report_url !== message.report_url)].slice(0, 50);
      renderCalls(); renderRecent();
      break;
    }
  }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(scheme + "//" + location.host + "/v1/console/events");
  const badge = document.getElementById("connection");
  socket.onopen = () => { badge.textContent = "已连接 live"; badge.className = "conn on"; };
  socket.onmessage = event => onMessage(JSON.parse(event.data));
  socket.onclose = event => {
    console.warn("console events closed", event.code, event.reason);
    badge.textContent = "未连接 offline"; badge.className = "conn off";
    setTimeout(connect, 1000);
  };
}

// The token came in the URL once; the server set a cookie, so keep it out of the history.
if (new URLSearchParams(location.search).has("token")) history.replaceState(null, "", location.pathname);
connect();
