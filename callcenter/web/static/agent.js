// The agent panel: live state and screen pop over Server-Sent Events, queue log-in/out,
// pause, click-to-call. Text goes in with textContent only (never HTML from data).
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var message = document.getElementById("panel-message");

  function say(text, ok) {
    if (!message) { return; }
    message.hidden = false;
    message.textContent = text;
    message.className = ok ? "notice" : "error";
  }
  function post(url, data) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify(data || {})
    }).then(function (r) {
      return r.json().then(function (body) {
        var text = body.message || body.error ||
          (body.errors ? Object.keys(body.errors).map(function (k) { return body.errors[k]; }).join(" ") : "");
        say(text, r.ok);
        return body;
      });
    }).catch(function (e) { say(String(e), false); });
  }
  function get(url) {
    return fetch(url, {credentials: "same-origin"}).then(function (r) { return r.json(); });
  }
  function el(tag, text, attrs) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }
  function row(cells) {
    var tr = el("tr");
    cells.forEach(function (c) {
      var td = el("td");
      if (c instanceof Node) { td.appendChild(c); } else { td.textContent = c === null || c === undefined ? "" : String(c); }
      tr.appendChild(td);
    });
    return tr;
  }
  function hms(s) {
    s = Math.round(s || 0);
    var m = Math.floor(s / 60), sec = s % 60;
    return m + ":" + (sec < 10 ? "0" : "") + sec;
  }
  function talk(c, unknown) {  // an answered call that ended without a talk time: unknown, not 0
    if (c.talk_s !== null && c.talk_s !== undefined) { return hms(c.talk_s); }
    return c.ended_at && (c.answered_at || c.disposition === "answered") ? unknown : "";
  }
  var root = document.getElementById("agent-panel");
  function when(iso) {  // in the centre's time zone
    if (!iso) { return ""; }
    var opts = root ? {timeZone: root.getAttribute("data-timezone")} : {};
    return new Date(iso).toLocaleString(root ? root.getAttribute("data-lang") : undefined, opts);
  }

  function callButton(b) {  // click-to-call: Originate from the agent's phone
    b.addEventListener("click", function () {
      b.disabled = true;
      post("/api/agent/follow-ups/" + b.getAttribute("data-follow-up") + "/call")
        .then(function () { b.disabled = false; });
    });
    return b;
  }
  Array.prototype.forEach.call(document.querySelectorAll(".call-button"), callButton);

  if (!root) { return; }
  var queues = document.getElementById("queues");

  // the agent's queue memberships, as Asterisk last reported them: {queue: member}
  var members = {}, knownQueues = [];
  // the words of state and pause-reason codes in the page's language (codes never shown)
  var words = JSON.parse(queues.getAttribute("data-words") || "{}");
  function word(kind, code) { return (words[kind] || {})[code] || code; }
  function renderState() {
    var names = knownQueues.slice();
    Object.keys(members).forEach(function (q) { if (names.indexOf(q) < 0) { names.push(q); } });
    queues.textContent = "";
    names.sort().forEach(function (q) {
      var m = members[q];
      var inQueue = m && m.in_queue;
      var button = el("button", queues.getAttribute(inQueue ? "data-leave" : "data-join"),
                      {"type": "button", "data-queue": q});
      button.addEventListener("click", function () {
        post("/api/agent/presence/" + (inQueue ? "leave" : "join"), {queue: q});
      });
      var tr = row([q, inQueue ? word("state", m.state) : queues.getAttribute("data-out"),
                    inQueue && m.paused ? (m.reason ? word("reason", m.reason) : "✓") : "",
                    button]);
      tr.setAttribute("data-queue", q);
      tr.className = inQueue ? "state-" + m.state : "";
      queues.appendChild(tr);
    });
  }
  function loadState() {
    return get("/api/agent/state").then(function (state) {
      members = {};
      state.members.forEach(function (m) { members[m.queue] = m; });
      knownQueues = state.queues;
      renderState();
    });
  }
  function applyState(ev) {  // a state event: the same facts the store keeps, sooner
    if (ev.queue) {
      members[ev.queue] = {queue: ev.queue, in_queue: ev.in_queue, state: ev.state,
                           paused: ev.paused, reason: ev.reason};
    } else {
      Object.keys(members).forEach(function (q) { members[q].state = ev.state; });
    }
    renderState();
  }

  function renderSurvey(s) {  // survey/_day.html: CSAT unknown (–) without answers
    document.getElementById("day-survey-answered").textContent = s.answered;
    document.getElementById("day-survey-offered").textContent = s.offered;
    document.getElementById("day-csat").textContent =
      s.csat === null ? "–" : Math.round(s.csat * 100) + "%";
  }

  function renderDay(day) {
    document.getElementById("day-calls").textContent = day.calls;
    document.getElementById("day-talk").textContent = hms(day.talk_s);
    var unknownTalk = document.getElementById("day-talk-unknown");
    unknownTalk.textContent = day.talk_unknown ?
      " (" + unknownTalk.getAttribute("data-text").replace("%(n)s", day.talk_unknown) + ")" : "";
    document.getElementById("day-missed").textContent = day.missed_rings;
    renderSurvey(day.survey);
    var qa = document.getElementById("day-qa");
    qa.textContent = "";
    day.qa.forEach(function (r) {
      qa.appendChild(el("li", when(r.submitted_at) + " · " + (r.total === null ? "" : r.total.toFixed(1)) +
                              (r.grade ? " · " + r.grade : "") + (r.fatal ? " · !" : "")));
    });
    if (!day.qa.length) { qa.appendChild(el("li", qa.getAttribute("data-empty"))); }
    var list = document.getElementById("day-list");
    list.textContent = "";
    day.call_list.forEach(function (c) {
      var link = el("a", list.getAttribute(c.noted ? "data-yes" : "data-no"),
                    {"href": "/agent/calls/" + encodeURIComponent(c.server) + "/" + encodeURIComponent(c.linkedid)});
      list.appendChild(row([when(c.started_at), c.direction,
                            c.direction === "outbound" ? c.callee : c.caller, c.queue, talk(c, list.getAttribute("data-unknown")), link]));
    });
    var due = document.getElementById("notes-due");
    due.textContent = "";
    day.notes_due.forEach(function (c) {
      var li = el("li");
      li.appendChild(el("a", when(c.ended_at) + " · " + (c.direction === "outbound" ? c.callee : c.caller),
                        {"href": "/agent/calls/" + encodeURIComponent(c.server) + "/" + encodeURIComponent(c.linkedid)}));
      due.appendChild(li);
    });
    if (!day.notes_due.length) { due.appendChild(el("li", due.getAttribute("data-empty"))); }
    var calls = document.getElementById("follow-ups-due");
    calls.textContent = "";
    day.follow_ups_due.forEach(function (f) {
      var li = el("li", when(f.due_at) + " · " + f.number + (f.customer_name ? " · " + f.customer_name : "") +
                        (f.purpose ? " · " + f.purpose : "") + " ");
      li.appendChild(callButton(el("button", calls.getAttribute("data-call"),
                                   {"type": "button", "data-follow-up": f.id})));
      calls.appendChild(li);
    });
    if (!day.follow_ups_due.length) { calls.appendChild(el("li", calls.getAttribute("data-empty"))); }
  }
  function loadDay() { return get("/api/agent/day").then(renderDay); }

  var pop = document.getElementById("screen-pop");
  function field(name) { return pop.querySelector('[data-field="' + name + '"]'); }
  function showPop(ev) {
    pop.hidden = false;
    pop.setAttribute("data-linkedid", ev.linkedid);
    field("caller").textContent = ev.caller || "";
    field("customer-name").textContent = ev.customer ? ev.customer.name + (ev.customer.company ? " (" + ev.customer.company + ")" : "") : "";
    field("queue").textContent = ev.queue || "";
    var key = field("key-account");
    key.hidden = !(ev.customer && ev.customer.key_account);
    key.textContent = key.getAttribute("data-text") +
      (ev.customer && ev.customer.tier_label ? " · " + ev.customer.tier_label : "");
    showScript(ev.script);
    field("customer-link").href = ev.customer ? "/agent/customers/" + ev.customer.id
      : "/agent/customers/new?number=" + encodeURIComponent(ev.caller || "");
    field("call-link").href = "/agent/calls/" + encodeURIComponent(ev.server) + "/" + encodeURIComponent(ev.linkedid);
    var body = field("history");
    body.textContent = "";
    ev.history.forEach(function (c) {
      var notes = c.notes.length ? c.notes : [{category: "", result: "", content: ""}];
      notes.forEach(function (n) {
        body.appendChild(row([when(c.started_at), c.direction, c.queue, c.agent, c.disposition,
                              n.category, n.result, n.content]));
      });
    });
    field("no-history").hidden = ev.history.length > 0;
  }

  function showScript(script) {  // the queue's call script, placeholders filled in
    var aside = document.getElementById("call-script");
    aside.hidden = !script;
    if (!script) { return; }
    ["greeting", "introduction", "other_questions", "close"].forEach(function (k) {
      aside.querySelector('[data-script="' + k + '"]').textContent = script[k];
    });
    var confirm = aside.querySelector('[data-script="confirm"]');
    confirm.textContent = "";
    script.confirm.forEach(function (t) { confirm.appendChild(el("li", t)); });
  }

  var reminders = document.getElementById("reminders");
  function remind(f) {  // a follow-up of the agent or of their queues' pools falls due
    var list = reminders.querySelector('[data-field="reminders"]');
    var li = el("li", when(f.due_at) + " · " + f.number + (f.customer_name ? " · " + f.customer_name : "") +
                      (f.queue ? " · " + f.queue : "") + (f.purpose ? " · " + f.purpose : "") + " ");
    li.setAttribute("data-follow-up", f.id);
    li.appendChild(el("a", list.getAttribute("data-open"), {"href": "/agent/follow-ups"}));
    list.appendChild(li);
    reminders.hidden = false;
    loadDay();
  }

  document.getElementById("pause-form").addEventListener("submit", function (e) {
    e.preventDefault();
    post("/api/agent/presence/pause", {reason: e.target.reason.value});
  });
  document.getElementById("unpause").addEventListener("click", function () {
    post("/api/agent/presence/unpause");
  });

  loadState();
  loadDay();
  if (root.getAttribute("data-live") !== "yes") { return; }
  var status = document.getElementById("stream-status");
  var source = new EventSource("/agent/events");
  source.onopen = function () { status.textContent = status.getAttribute("data-online"); };
  source.onerror = function () { status.textContent = status.getAttribute("data-offline"); };
  source.addEventListener("ring", function (e) { showPop(JSON.parse(e.data)); });
  source.addEventListener("state", function (e) { applyState(JSON.parse(e.data)); });
  source.addEventListener("ended", function () { loadDay(); });
  source.addEventListener("reminder", function (e) { remind(JSON.parse(e.data)); });
})();
