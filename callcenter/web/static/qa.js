// QA recording player: play/pause, seek (slider, ±5 s), speed 1× / 1.5× / 2×, and
// keyboard shortcuts (K or space, J/L or ←/→, 1/2/3) that stay out of the way
// while the inspector types in a field.
(function () {
  "use strict";
  var STEP_S = 5;
  var SPEEDS = { "1": 1, "2": 1.5, "3": 2 };
  var CSRF = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function clock(seconds) {
    if (!isFinite(seconds)) { return "0:00"; }
    var s = Math.max(0, Math.floor(seconds));
    var m = Math.floor(s / 60);
    var rest = s % 60;
    return m + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function setup(box) {
    var audio = box.querySelector("audio");
    var slider = box.querySelector("[data-act=seek]");
    var position = box.querySelector("[data-position]");
    var total = box.querySelector("[data-duration]");
    var speedButtons = box.querySelectorAll("[data-speed]");

    var player = {
      audio: audio,
      toggle: function () { if (audio.paused) { audio.play(); } else { audio.pause(); } },
      seekBy: function (delta) {
        var end = isFinite(audio.duration) ? audio.duration : Infinity;
        audio.currentTime = Math.min(end, Math.max(0, audio.currentTime + delta));
      },
      speed: function (rate) {
        audio.playbackRate = rate;
        speedButtons.forEach(function (b) {
          b.classList.toggle("on", parseFloat(b.dataset.speed) === rate);
        });
      }
    };

    box.querySelector("[data-act=play]").addEventListener("click", player.toggle);
    box.querySelector("[data-act=back]").addEventListener("click", function () { player.seekBy(-STEP_S); });
    box.querySelector("[data-act=fwd]").addEventListener("click", function () { player.seekBy(STEP_S); });
    speedButtons.forEach(function (b) {
      b.addEventListener("click", function () { player.speed(parseFloat(b.dataset.speed)); });
    });
    slider.addEventListener("input", function () {
      if (isFinite(audio.duration)) { audio.currentTime = audio.duration * slider.value / 1000; }
    });
    audio.addEventListener("loadedmetadata", function () { total.textContent = clock(audio.duration); });
    audio.addEventListener("play", function () {  // a play is audited when audio plays
      if (box.dataset.played) { return; }
      box.dataset.played = "sending";
      fetch(audio.getAttribute("src") + "/played", {
        method: "POST", credentials: "same-origin", headers: {"X-CSRF-Token": CSRF}
      }).then(function (r) { box.dataset.played = r.ok ? "yes" : "failed"; },
              function () { box.dataset.played = "failed"; });
    });
    audio.addEventListener("timeupdate", function () {
      position.textContent = clock(audio.currentTime);
      box.dataset.progress = audio.currentTime.toFixed(2);
      if (isFinite(audio.duration) && audio.duration > 0) {
        slider.value = Math.round(1000 * audio.currentTime / audio.duration);
      }
    });
    return player;
  }

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "TEXTAREA" || tag === "SELECT" ||
      (tag === "INPUT" && target.type !== "range" && target.type !== "radio") ||
      (target && target.isContentEditable);
  }

  var players = Array.prototype.map.call(document.querySelectorAll("[data-player]"), setup);
  if (!players.length) { return; }
  var main = players[0];
  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) { return; }
    var key = ev.key;
    if (key === " " || key === "k" || key === "K") {
      if (ev.target && ev.target.tagName === "BUTTON" && key === " ") { return; }
      main.toggle();
    } else if (key === "j" || key === "J" || key === "ArrowLeft") {
      main.seekBy(-STEP_S);
    } else if (key === "l" || key === "L" || key === "ArrowRight") {
      main.seekBy(STEP_S);
    } else if (SPEEDS[key]) {
      main.speed(SPEEDS[key]);
    } else {
      return;
    }
    ev.preventDefault();
  });
  window.qaPlayer = main;
}());
