// Live monitoring: listen / whisper / barge buttons on live calls, one session at a time.
(function () {
  "use strict";
  var bar = document.getElementById("monitor-bar");
  if (!bar) { return; }
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var text = bar.querySelector(".monitor-text");
  var stopButton = bar.querySelector(".monitor-stop");
  var modes = bar.getAttribute("data-modes").split(",");
  var session = null, timer = null;

  function say(message, error) {
    bar.hidden = false;
    text.textContent = message;
    bar.className = "monitor-bar" + (error ? " error" : "");
  }
  function request(method, url, body) {
    var init = {method: method, credentials: "same-origin",
                headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf}};
    if (body) { init.body = JSON.stringify(body); }
    return fetch(url, init).then(function (r) {
      return r.json().then(function (data) { return {ok: r.ok, data: data}; });
    });
  }
  function label(mode) { return bar.getAttribute("data-label-" + mode) || mode; }
  function show(s) {
    session = s;
    var over = s.status === "ended" || s.status === "failed";
    stopButton.hidden = over;
    bar.setAttribute("data-status", s.status);
    if (s.status === "ringing") { say(bar.getAttribute("data-ringing")); }
    else if (s.status === "active") {
      say(bar.getAttribute("data-active").replace("%(mode)s", label(s.mode)));
    } else { say(bar.getAttribute("data-" + s.outcome) || bar.getAttribute("data-failed"),
                 s.status === "failed" || s.outcome === "too_late"); }
    if (over) { clearInterval(timer); timer = null; session = null; }
  }
  function poll() {
    if (!session) { return; }
    request("GET", "/api/monitoring/sessions/" + session.id).then(function (r) {
      if (r.ok) { show(r.data); }
    });
  }
  function start(server, linkedid, mode) {
    request("POST", "/api/monitoring/sessions",
            {server: server, linkedid: linkedid, mode: mode}).then(function (r) {
      if (!r.ok) { say(r.data.message || r.data.error, true); return; }
      show(r.data);
      clearInterval(timer);
      timer = setInterval(poll, 1000);
    });
  }
  stopButton.addEventListener("click", function () {
    if (!session) { return; }
    request("POST", "/api/monitoring/sessions/" + session.id + "/stop").then(function (r) {
      if (!r.ok) { say(r.data.message || r.data.error, true); }
      poll();
    });
  });
  function decorate() {
    var cells = document.querySelectorAll("[data-linkedid][data-server]");
    for (var i = 0; i < cells.length; i++) {
      var cell = cells[i];
      if (cell.querySelector(".monitor-buttons")) { continue; }
      var box = document.createElement("span");
      box.className = "monitor-buttons";
      modes.forEach(function (mode) {
        var b = document.createElement("button");
        b.type = "button";
        b.className = "monitor-" + mode;
        b.textContent = label(mode);
        b.setAttribute("data-mode", mode);
        box.appendChild(b);
      });
      cell.appendChild(box);
    }
  }
  document.addEventListener("click", function (e) {
    var b = e.target.closest ? e.target.closest(".monitor-buttons button") : null;
    if (!b) { return; }
    var cell = b.closest("[data-linkedid]");
    start(cell.getAttribute("data-server"), cell.getAttribute("data-linkedid"),
          b.getAttribute("data-mode"));
  });
  new MutationObserver(decorate).observe(document.body, {childList: true, subtree: true});
  decorate();
})();
