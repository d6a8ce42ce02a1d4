// The live wallboard: swap in the board pushed over Server-Sent Events, tick durations;
// the agent actions dialog (pause with a reason, unpause, remove from a queue).
(function () {
  "use strict";
  var board = document.getElementById("board");
  var status = document.getElementById("board-status");
  if (!board) { return; }
  var offsetMs = 0; // server clock minus browser clock

  function fmt(s) {
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return h ? h + ":" + pad(m) + ":" + pad(sec) : m + ":" + pad(sec);
  }
  function sync() {
    var el = board.querySelector("[data-now]");
    if (el) { offsetMs = Date.parse(el.getAttribute("data-now")) - Date.now(); }
  }
  function tick() {
    var now = Date.now() + offsetMs;
    var spans = board.querySelectorAll("[data-since]");
    for (var i = 0; i < spans.length; i++) {
      var since = Date.parse(spans[i].getAttribute("data-since"));
      spans[i].textContent = fmt(Math.max(0, Math.round((now - since) / 1000)));
    }
  }
  function show(online) {
    if (!status) { return; }
    status.textContent = status.getAttribute(online ? "data-online" : "data-offline");
    status.className = online ? "muted" : "error";
  }
  var source = new EventSource(board.getAttribute("data-events"));
  source.addEventListener("board", function (e) {
    board.innerHTML = e.data;
    sync(); tick(); show(true);
  });
  source.onopen = function () { show(true); };
  source.onerror = function () { show(false); };
  sync(); tick();
  setInterval(tick, 1000);

  // Acting on an agent: a dialog outside the board (the board is replaced on every update).
  var dialog = document.getElementById("agent-actions");
  if (!dialog) { return; }
  var result = document.getElementById("agent-action-result");
  var agent = "";
  function field(name) { return dialog.querySelector('[data-field="' + name + '"]'); }
  function say(text, ok) {
    result.hidden = false;
    result.textContent = text;
    result.className = ok ? "notice" : "error";
  }
  board.addEventListener("click", function (e) {
    var button = e.target.closest ? e.target.closest("button.agent-act") : null;
    if (!button) { return; }
    agent = button.getAttribute("data-agent");
    field("agent").textContent = agent;
    field("state").textContent = button.getAttribute("data-state");
    var queues = (button.getAttribute("data-queues") || "").split(",").filter(Boolean);
    var select = dialog.querySelector("select[name=queue]");
    select.innerHTML = "";
    queues.forEach(function (q) {
      var option = document.createElement("option");
      option.value = q; option.textContent = q;
      select.appendChild(option);
    });
    dialog.querySelector('form[data-action="remove"] button').disabled = !queues.length;
    result.hidden = true;
    dialog.showModal();
  });
  dialog.addEventListener("submit", function (e) {
    var form = e.target;
    var action = form.getAttribute("data-action");
    if (!action) { return; } // the close button
    e.preventDefault();
    var url = dialog.getAttribute("data-url") + encodeURIComponent(agent) + "/" + action;
    fetch(url, {method: "POST", body: new FormData(form), credentials: "same-origin",
                headers: {"Accept": "application/json"}})
      .then(function (resp) {
        return resp.json().then(function (body) { say(body.message, body.ok); },
                                function () { say(resp.status + " " + resp.statusText, false); });
      }, function () { say(status ? status.getAttribute("data-offline") : "", false); });
  });
})();
