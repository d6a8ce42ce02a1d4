// The live wallboard: swap in the board pushed over Server-Sent Events, tick durations.
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
})();
