(function () {
  "use strict";
  var audio = document.getElementById("audio");
  var svg = document.querySelector(".timeline svg");
  var playhead = document.getElementById("playhead");
  var utterances = Array.prototype.slice.call(document.querySelectorAll("li.utt"));
  var bars = {};
  document.querySelectorAll(".utt-bar").forEach(function (bar) {
    bars[bar.getAttribute("data-utterance")] = bar;
  });

  function showUtterance(id) {
    var item = id && document.getElementById(id);
    if (!item) return;
    item.scrollIntoView({ block: "center", behavior: "smooth" });
    item.classList.remove("flash");
    void item.offsetWidth;
    item.classList.add("flash");
  }

  function seek(seconds, utteranceId) {
    if (audio && isFinite(seconds) && seconds >= 0) {
      audio.currentTime = Math.max(0, seconds - 0.2);
      var playing = audio.play();
      if (playing && playing.catch) playing.catch(function () {});
    }
    showUtterance(utteranceId);
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("a.badge")) return;  // badge links jump to the finding row
    var node = event.target.closest("[data-start]");
    if (!node) return;
    if (event.target.closest("a")) event.preventDefault();
    var id = node.getAttribute("data-utterance") || (node.matches("li.utt") ? node.id : null);
    seek(parseFloat(node.getAttribute("data-start")), id);
  });

  var filter = document.getElementById("only-violations");
  if (filter) {
    filter.addEventListener("change", function () {
      document.body.classList.toggle("only-violations", filter.checked);
    });
  }

  document.addEventListener("keydown", function (event) {
    if (!audio || event.code !== "Space" || event.target.closest("input, textarea, audio")) return;
    event.preventDefault();
    if (audio.paused) audio.play(); else audio.pause();
  });

  if (!audio) return;
  var left = parseFloat(svg.getAttribute("data-left"));
  var scale = parseFloat(svg.getAttribute("data-scale"));
  var current = null;
  audio.addEventListener("timeupdate", function () {
    var t = audio.currentTime;
    var x = (left + t * scale).toFixed(2);
    playhead.setAttribute("x1", x);
    playhead.setAttribute("x2", x);
    var now = null;
    for (var i = 0; i < utterances.length; i++) {
      var u = utterances[i];
      if (t >= parseFloat(u.getAttribute("data-start")) && t <= parseFloat(u.getAttribute("data-end"))) {
        now = u;
      }
    }
    if (now === current) return;
    if (current) {
      current.classList.remove("playing");
      if (bars[current.id]) bars[current.id].classList.remove("playing");
    }
    current = now;
    if (current) {
      current.classList.add("playing");
      if (bars[current.id]) bars[current.id].classList.add("playing");
    }
  });
})();
